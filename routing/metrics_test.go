package routing

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsMethods: what the web layer counts where it happens.
func TestMetricsMethods(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	enq := t0
	m.OfferAccepted(Assignment{Conversation: "c1", Advisor: "ann", Queue: "public", Enqueued: enq, Assigned: enq.Add(time.Minute), Was: StatusOffered})
	m.Picked(Assignment{Conversation: "c2", Advisor: "ann", Queue: "professional", Enqueued: enq, Assigned: enq.Add(time.Second), Was: StatusWaiting})
	m.Transferred(Assignment{Conversation: "c3", Advisor: "bob", Queue: "public", From: "ann", Was: StatusActive, Enqueued: enq, Assigned: enq.Add(time.Hour)})
	m.Transferred(Assignment{Conversation: "c4", Queue: "public", From: "ann", Was: StatusActive})
	m.Transferred(Assignment{Conversation: "c5", Advisor: "bob", Queue: "public", Was: StatusWaiting, Enqueued: enq, Assigned: enq.Add(2 * time.Minute)})
	m.Transferred(Assignment{Conversation: "c6", Queue: "professional", Was: StatusWaiting})
	m.Requeued(CauseOffDuty, 2)
	m.OffersWithdrawn(2)

	got := metricValues(t, reg)
	for name, want := range map[string]float64{
		"advicechat_offers_total{outcome=accepted}":       1,
		"advicechat_picks_total":                          1,
		"advicechat_transfers_total{to=advisor}":          2,
		"advicechat_transfers_total{to=queue}":            2,
		"advicechat_requeues_total{cause=transferred}":    1, // c4 only: c6 was waiting already
		"advicechat_requeues_total{cause=off_duty}":       2,
		"advicechat_assignments_total":                    3, // c1, c2, c5: their wait ended
		"advicechat_wait_seconds{queue=public}":           2, // samples
		"advicechat_wait_seconds{queue=professional}":     1,
		"advicechat_requeues_total{cause=offer_expired}":  0,
		"advicechat_offers_total{outcome=expired}":        0,
		"advicechat_offers_total{outcome=withdrawn}":      2,
		"advicechat_abandoned_total{state=active}":        0,
		"advicechat_requeues_total{cause=advisor_lost}":   0,
		"advicechat_requeues_total{cause=not_responding}": 0,
	} {
		if g, ok := got[name]; !ok || g != want {
			t.Errorf("metric %s = %v (present %v), want %v", name, g, ok, want)
		}
	}
}
