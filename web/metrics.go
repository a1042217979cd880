package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/web/protocol"
	"github.com/advicechat/advicechat/web/socket"
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
	kept             prometheus.Counter
	codes            *prometheus.CounterVec
	ended            *prometheus.CounterVec

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
}

// newMetrics registers the web layer's metrics with reg; outcomeTags are
// the configured outcome tags, each a series from the start.
func newMetrics(reg prometheus.Registerer, outcomeTags []string) *metrics {
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
		kept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_kept_total",
			Help: "Conversations a visitor asked to keep under a return code.",
		}),
		codes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_return_codes_total",
			Help: "Return codes used, by result: returned (read), started (a new conversation under it), forgotten, unknown (wrong, expired or malformed), seal_failed (a kept thread could not be sealed).",
		}, []string{"result"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_conversations_ended_total",
			Help: "Conversations ended, by who ended them.",
		}, []string{"by"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_http_requests_total",
			Help: "HTTP requests answered, by route pattern (never the path itself) and status code. WebSocket upgrades count once, when the socket closes.",
		}, []string{"route", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "advicechat_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and status code; WebSocket routes are not observed (their duration is the socket's life).",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}, []string{"route", "status"}),
	}
	reg.MustRegister(m.connections, m.messages, m.rejected, m.slowClosed, m.interrupted, m.logins, m.started, m.urgent, m.outcomes, m.feedback, m.feedbackComments, m.kept, m.codes, m.ended,
		m.requests, m.requestDuration)
	// The known label values exist from the start, at 0, so rate() and
	// the alerts over them have a series before the first event.
	for _, role := range []string{chat.FromVisitor, chat.FromAdvisor} {
		m.messages.WithLabelValues(role)
	}
	for _, role := range []string{socket.RoleVisitor, socket.RoleAdvisor, socket.RoleSupervisor} {
		m.connections.WithLabelValues(role)
	}
	for _, by := range []string{chat.EndedByVisitor, chat.EndedByAdvisor, chat.EndedBlocked} {
		m.ended.WithLabelValues(by)
	}
	for _, tag := range outcomeTags {
		m.outcomes.WithLabelValues(tag)
	}
	for _, r := range []string{"returned", "started", "forgotten", "unknown", "seal_failed"} {
		m.codes.WithLabelValues(r)
	}
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

// noRoute is the route label of a request that matched no route, so an
// unknown path never becomes a label value.
const noRoute = "(no route)"

// crossOriginRoute is the route label of a state-changing request the
// cross-origin protection refused before routing.
const crossOriginRoute = "(cross-origin)"

// request counts one answered request under its route pattern.
func (m *metrics) request(route string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, code).Inc()
	if status == http.StatusSwitchingProtocols || strings.HasPrefix(route, "/ws/") || route == crossOriginRoute {
		return
	}
	m.requestDuration.WithLabelValues(route, code).Observe(d.Seconds())
}
