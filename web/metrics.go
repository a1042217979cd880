package web

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advicechat/advicechat/web/protocol"
)

// metrics of the web layer. Labels are roles and error codes only: never a
// conversation id, a token, an advisor name or any text.
type metrics struct {
	connections *prometheus.GaugeVec
	messages    *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	slowClosed  prometheus.Counter
	interrupted prometheus.Counter
	logins      *prometheus.CounterVec
	started     prometheus.Counter
	urgent      prometheus.Counter
	outcomes    *prometheus.CounterVec

	feedback         *prometheus.CounterVec
	feedbackComments prometheus.Counter
	ended            *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "advicechat_websocket_connections",
			Help: "Open WebSocket connections on this instance, by role.",
		}, []string{"role"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_messages_total",
			Help: "Messages stored, by the role of the sender.",
		}, []string{"role"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_rejected_frames_total",
			Help: "Client frames or handshakes refused, by role and error code.",
		}, []string{"role", "code"}),
		slowClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_slow_clients_closed_total",
			Help: "Sockets closed because their send queue filled up.",
		}),
		interrupted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_interrupted_total",
			Help: "Clients told that entries they had were lost from a conversation's stream (a Redis failover without replica acks).",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_advisor_logins_total",
			Help: "Advisor login attempts, by result.",
		}, []string{"result"}),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_conversations_started_total",
			Help: "Conversations started by visitors.",
		}),
		urgent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_conversations_urgent_total",
			Help: "Conversations started by visitors who said they are in danger now.",
		}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_outcomes_total",
			Help: "Outcome tags advisors gave conversations they ended, by tag (ADVICECHAT_OUTCOME_TAGS).",
		}, []string{"tag"}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_feedback_total",
			Help: "Visitors' answers to \"did this help?\" after a conversation, by rating (1 to 5).",
		}, []string{"rating"}),
		feedbackComments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_feedback_comments_total",
			Help: "Feedback answers that came with a comment.",
		}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_conversations_ended_total",
			Help: "Conversations ended, by who ended them.",
		}, []string{"by"}),
	}
	reg.MustRegister(m.connections, m.messages, m.rejected, m.slowClosed, m.interrupted, m.logins, m.started, m.urgent, m.outcomes, m.feedback, m.feedbackComments, m.ended)
	return m
}

// Rejected counts a refused frame or handshake (socket.Metrics).
func (m *metrics) Rejected(role string, code protocol.Code) {
	m.rejected.WithLabelValues(role, string(code)).Inc()
}

// SlowClosed counts a socket closed for a full inbox (socket.Metrics).
func (m *metrics) SlowClosed() { m.slowClosed.Inc() }

// Interrupted counts a client told of a loss (socket.Metrics).
func (m *metrics) Interrupted() { m.interrupted.Inc() }
