package routing

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the routing counters and histograms of one instance. None
// carries a conversation id or an advisor name.
type Metrics struct {
	waitSeconds   prometheus.Histogram
	assignLatency prometheus.Histogram
	assignments   prometheus.Counter
	requeues      *prometheus.CounterVec
	abandoned     prometheus.Counter
}

// NewMetrics registers the routing metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		waitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "advicechat_wait_seconds",
			Help:    "Time conversations waited in the queue until an advisor was assigned.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600},
		}),
		assignLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "advicechat_assign_duration_seconds",
			Help:    "Duration of one assignment round (one script call).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
		assignments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_assignments_total",
			Help: "Conversations assigned to advisors by this instance.",
		}),
		requeues: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_requeues_total",
			Help: "Conversations put back in the queue, by cause.",
		}, []string{"cause"}),
		abandoned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_abandoned_total",
			Help: "Conversations ended because the visitor stayed away past the grace period.",
		}),
	}
	reg.MustRegister(m.waitSeconds, m.assignLatency, m.assignments, m.requeues, m.abandoned)
	return m
}

// Requeued counts conversations put back in the queue for a cause other
// than a lost advisor (which the worker counts itself).
func (m *Metrics) Requeued(cause string, n int) { m.requeues.WithLabelValues(cause).Add(float64(n)) }

// collector reads the shared queue state from Redis at scrape time, so
// every instance reports the same numbers: aggregate them with max(), not
// sum().
type collector struct {
	q                       *Queue
	waiting, onDuty, active *prometheus.Desc
	oldest                  *prometheus.Desc
	up                      *prometheus.Desc
}

// NewCollector returns a collector of queue lengths, advisors on duty and
// active conversations, read from Redis when scraped.
func NewCollector(q *Queue) prometheus.Collector {
	return &collector{
		q:       q,
		waiting: prometheus.NewDesc("advicechat_waiting_conversations", "Conversations waiting in the queue.", []string{"queue"}, nil),
		oldest:  prometheus.NewDesc("advicechat_longest_wait_seconds", "How long the longest-waiting conversation of the queue has waited.", []string{"queue"}, nil),
		onDuty:  prometheus.NewDesc("advicechat_advisors_on_duty", "Advisors on duty.", nil, nil),
		active:  prometheus.NewDesc("advicechat_active_conversations", "Conversations held by an advisor.", nil, nil),
		up:      prometheus.NewDesc("advicechat_routing_state_up", "1 if the routing state could be read from Redis.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.waiting
	ch <- c.oldest
	ch <- c.onDuty
	ch <- c.active
	ch <- c.up
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stats, err := c.q.Snapshot(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	onDuty, active, err := c.q.Counts(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	now := c.q.cfg.Now()
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(s.Waiting), s.Name)
		wait := 0.0
		if !s.Oldest.IsZero() {
			wait = now.Sub(s.Oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, wait, s.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.onDuty, prometheus.GaugeValue, float64(onDuty))
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(active))
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
}
