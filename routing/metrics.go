package routing

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the routing counters and histograms of one instance. None
// carries a conversation id or an advisor name. The worker counts what it
// does itself; the methods are for what happens elsewhere (the web layer),
// to be called where it happens.
type Metrics struct {
	waitSeconds   *prometheus.HistogramVec
	roundDuration prometheus.Histogram
	assignments   prometheus.Counter
	requeues      *prometheus.CounterVec
	abandoned     *prometheus.CounterVec
	offers        *prometheus.CounterVec
	maxWaited     prometheus.Counter
	transfers     *prometheus.CounterVec
	picks         prometheus.Counter
}

// NewMetrics registers the routing metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		waitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "advicechat_wait_seconds",
			Help:    "Time conversations waited in the queue until they had an advisor (assigned, offer accepted, picked or moved to one), by queue.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600},
		}, []string{"queue"}),
		roundDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "advicechat_routing_round_duration_seconds",
			Help:    "Duration of one routing round: one call of the assignment script, which assigns or offers a batch of conversations, or none. It counts rounds, not assignments (advicechat_assignments_total counts those).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
		assignments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_assignments_total",
			Help: "Conversations that got an advisor through this instance: assigned directly, offer accepted, picked, or moved to an advisor from the queue.",
		}),
		requeues: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_requeues_total",
			Help: "Conversations put back in the queue, by cause.",
		}, []string{"cause"}),
		abandoned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_abandoned_total",
			Help: "Conversations ended because the visitor stayed away past the grace period, by state then (waiting or active).",
		}, []string{"state"}),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_offers_total",
			Help: "Offers to advisors that came to an end, by outcome: accepted, expired (not accepted in time), withdrawn (the advisor went off duty, was lost or stopped responding first), or visitor_left (the conversation ended while offered). An offer is counted once, when it ends.",
		}, []string{"outcome"}),
		maxWaited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_max_wait_reached_total",
			Help: "Conversations that waited the maximum wait and were still waiting.",
		}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_transfers_total",
			Help: "Conversations transferred or reassigned, by target: advisor or queue.",
		}, []string{"to"}),
		picks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_picks_total",
			Help: "Conversations advisors took from the queue by hand.",
		}),
	}
	reg.MustRegister(m.waitSeconds, m.roundDuration, m.assignments, m.requeues, m.abandoned,
		m.offers, m.maxWaited, m.transfers, m.picks)
	// The known label values exist from the start, at 0, so a rate over
	// them has a series before the first event.
	for _, c := range []string{CauseAdvisorLost, CauseOffDuty, CauseOfferExpired, CauseNotResponding, CauseTransferred} {
		m.requeues.WithLabelValues(c)
	}
	m.abandoned.WithLabelValues(StatusWaiting)
	m.abandoned.WithLabelValues(StatusActive)
	for _, o := range []string{OfferAccepted, OfferExpired, OfferWithdrawn, OfferVisitorLeft} {
		m.offers.WithLabelValues(o)
	}
	m.transfers.WithLabelValues("advisor")
	m.transfers.WithLabelValues("queue")
	return m
}

// The outcomes of an offer in advicechat_offers_total.
const (
	OfferAccepted  = "accepted"
	OfferExpired   = "expired"
	OfferWithdrawn = "withdrawn"
	// OfferVisitorLeft: the conversation ended while it was offered (the
	// visitor ended it, or stayed away past the grace).
	OfferVisitorLeft = "visitor_left"
)

// Released counts what ending a conversation ended with it: was is the
// state Release returned, and an offer under way ends as visitor_left.
func (m *Metrics) Released(was string) {
	if was == StatusOffered {
		m.offers.WithLabelValues(OfferVisitorLeft).Inc()
	}
}

// Requeued counts conversations put back in the queue for a cause the
// worker does not see itself: CauseOffDuty (count both the requeued and
// the withdrawn of TakeOffDuty) or CauseTransferred (Transferred counts
// that).
func (m *Metrics) Requeued(cause string, n int) { m.requeues.WithLabelValues(cause).Add(float64(n)) }

// OfferAccepted counts an offer accepted (the Assignment Accept returned):
// the conversation's wait is over.
func (m *Metrics) OfferAccepted(a Assignment) {
	m.offers.WithLabelValues(OfferAccepted).Inc()
	m.assigned(a)
}

// OffersWithdrawn counts offers withdrawn because their advisor went off
// duty (TakeOffDuty's Withdrawn); the worker counts those of advisors lost
// or not responding.
func (m *Metrics) OffersWithdrawn(n int) { m.offers.WithLabelValues(OfferWithdrawn).Add(float64(n)) }

// Picked counts a conversation an advisor took by hand (the Assignment
// Pick returned): its wait is over.
func (m *Metrics) Picked(a Assignment) {
	m.picks.Inc()
	m.assigned(a)
}

// Transferred counts a Transfer or Reassign (the Assignment it returned):
// to a queue from an advisor it is a requeue (CauseTransferred); to an
// advisor from the queue, the end of a wait.
func (m *Metrics) Transferred(a Assignment) {
	if a.Advisor == "" {
		m.transfers.WithLabelValues("queue").Inc()
		if a.Was == StatusActive {
			m.requeues.WithLabelValues(CauseTransferred).Inc()
		}
		return
	}
	m.transfers.WithLabelValues("advisor").Inc()
	if a.Was != StatusActive {
		m.assigned(a)
	}
}

// assigned counts a conversation that got an advisor and how long it
// waited for one.
func (m *Metrics) assigned(a Assignment) {
	m.assignments.Inc()
	if !a.Assigned.IsZero() && !a.Enqueued.IsZero() {
		m.waitSeconds.WithLabelValues(a.Queue).Observe(a.Assigned.Sub(a.Enqueued).Seconds())
	}
}

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
