// Package web is the HTTP face of the service: the visitor page and its
// WebSocket, the advisor console with its login and WebSocket, metrics and
// health endpoints, and the security headers every response carries.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/keep"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/auth"
	"github.com/advicechat/advicechat/web/hours"
	"github.com/advicechat/advicechat/web/socket"
)

// Config is what the web layer needs from the configuration.
type Config struct {
	// PublicOrigin is the scheme and host visitors use, e.g.
	// https://chat.example.org. WebSocket handshakes must carry exactly
	// this Origin. Empty: the request's own host (local use).
	PublicOrigin string
	// ExitURL is where the quick-exit button sends the visitor.
	ExitURL string
	// Retention is how long an ended conversation is kept (told to
	// visitors).
	Retention time.Duration
	// KeyPrefix starts the Redis keys of advisor sessions.
	KeyPrefix string
	// Heartbeat is how often the instance tells routing that its sockets'
	// visitors and advisors are still there.
	Heartbeat time.Duration
	// SessionIdle and SessionMax bound an advisor session.
	SessionIdle, SessionMax time.Duration
	// SessionLease is how long a console socket takes its session as good
	// after reading it as good (auth.Lease), and a conversation as its
	// open one (holds); 0 reads them at every action.
	SessionLease time.Duration
	// RequireTOTP refuses the login of an account without a TOTP secret
	// (everywhere but the embedded demo mode).
	RequireTOTP bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client, for rate limits and blocks (never stored or logged).
	TrustedProxies []netip.Prefix
	// BlockSecret keys the HMAC under which blocked senders are kept; all
	// instances must share it for a block to hold on each. Empty: random,
	// per process.
	BlockSecret []byte
	// StartsPerClient is how many conversations one client may start in a
	// burst; one more is allowed every two minutes after it.
	StartsPerClient int
	// SocketsPerClient is how many visitor sockets one client (address,
	// or IPv6 /64) may hold open on one instance.
	SocketsPerClient int
	// BusyWait: a new visitor whose expected wait is longer is told the
	// chat is busy instead of queuing (unless in danger); 0 never.
	BusyWait time.Duration
	// Keep is how long a thread kept under a return code lives after its
	// last conversation ended.
	Keep time.Duration
	// ReturnPrefer is how long a returning visitor's conversation waits
	// for the advisor who had it before while they are on duty.
	ReturnPrefer time.Duration
	// Canned are the ready-made answers of the console.
	Canned []Canned
	// OutcomeTags are what an advisor may tag a conversation with when
	// ending it; they are counted in metrics only.
	OutcomeTags []string
	// StartTimeout is how long a new socket may stay silent before its
	// first frame (start, resume or hello); then it is closed with 1008.
	StartTimeout time.Duration
	// WidgetOrigins are the origins (https://www.example.org) whose pages
	// may read /status.json for the chat button.
	WidgetOrigins []string
	// StatusCache is how long one reading of /status.json is answered
	// with; 0 reads every time.
	StatusCache time.Duration
	// QuestionKeep is how long a question left while the chat is closed
	// or busy is kept unanswered (questions.go); 0: DefaultQuestionKeep.
	QuestionKeep time.Duration
	// MetricsElsewhere: /metrics has its own listener
	// (ADVICECHAT_METRICS_ADDR), and the public one serves none.
	MetricsElsewhere bool
	// Version busts browser caches of the static files.
	Version string
}

// DefaultConfig is the configuration the service runs with when nothing
// is set; New takes Heartbeat, StartTimeout, StartsPerClient and
// OutcomeTags from it when they are left zero.
func DefaultConfig() Config {
	return Config{
		ExitURL:         "https://www.buienradar.nl/",
		Retention:       10 * time.Minute,
		KeyPrefix:       "ac:",
		Heartbeat:       5 * time.Second,
		SessionIdle:     2 * time.Hour,
		SessionMax:      12 * time.Hour,
		SessionLease:    2 * time.Second,
		StartsPerClient: 5,
		// A school or an office behind one address has a few visitors at
		// most; a client with more sockets than this is up to no good.
		SocketsPerClient: 50,
		BusyWait:         45 * time.Minute,
		Keep:             30 * 24 * time.Hour,
		ReturnPrefer:     2 * time.Minute,
		QuestionKeep:     DefaultQuestionKeep,
		OutcomeTags:      DefaultOutcomeTags,
		StartTimeout:     time.Minute,
	}
}

// Deps are the parts the server is built from.
type Deps struct {
	Config   Config
	Store    chat.Store
	Hub      *chat.Hub
	Queue    *routing.Queue
	Hours    *hours.Hours // nil: always open
	Accounts *accounts.Store
	Redis    redis.UniversalClient
	Log      *slog.Logger
	Registry *prometheus.Registry
	Routing  *routing.Metrics
}

// Server serves the service over HTTP.
type Server struct {
	cfg           Config
	store         chat.Store
	vault         *keep.Vault
	codes         *startLimiter // return code attempts per client key
	hub           *chat.Hub
	queue         *routing.Queue
	hours         *hours.Hours
	now           func() time.Time
	accounts      *accounts.Store
	rdb           redis.UniversalClient
	log           *slog.Logger
	metrics       *metrics
	routing       *routing.Metrics
	pages         *pages
	auth          *auth.Auth
	starts        *startLimiter
	resumes       *startLimiter
	clientSockets *clientSockets
	blocks        *blocks
	handler       http.Handler
	secure        bool
	// instance names this server in routing's presence records, and
	// presenceMu orders what it tells routing about consoles
	// (presence.go).
	instance   string
	presenceMu sync.Mutex
	// statusCache keeps the public status for a few seconds (status.go).
	statusCache statusCache
	// questions are the questions left while the chat is closed or busy
	// (questions.go).
	questions *questionDesk
	// states tells the visitor sockets their routing state after each
	// routing change (statepush.go).
	states *statePush
	// consoles tells the advisor consoles the queue view and their
	// status after routing changes (consolepush.go).
	consoles *consolePush

	socketDeps socket.Deps

	mu       sync.Mutex
	sockets  map[*socket.Socket]struct{}
	draining bool
	wg       sync.WaitGroup
	base     context.Context
	stop     context.CancelFunc
}

// New builds a server.
func New(d Deps) (*Server, error) {
	if d.Config.OutcomeTags == nil {
		d.Config.OutcomeTags = DefaultConfig().OutcomeTags
	}
	for _, t := range d.Config.OutcomeTags {
		if err := CheckOutcomeTag(t); err != nil {
			return nil, err
		}
	}
	if d.Config.Canned == nil {
		d.Config.Canned = []Canned{}
	}
	p, err := newPages(d.Config)
	if err != nil {
		return nil, err
	}
	base, stop := context.WithCancel(context.Background())
	s := &Server{
		cfg:      d.Config,
		store:    d.Store,
		hub:      d.Hub,
		queue:    d.Queue,
		hours:    d.Hours,
		now:      time.Now,
		accounts: d.Accounts,
		rdb:      d.Redis,
		log:      d.Log,
		metrics:  newMetrics(d.Registry, d.Config.OutcomeTags),
		routing:  d.Routing,
		pages:    p,
		secure:   strings.HasPrefix(d.Config.PublicOrigin, "https://"),
		sockets:  make(map[*socket.Socket]struct{}),
		instance: newInstance(),
		base:     base,
		stop:     stop,
	}
	dc := DefaultConfig()
	if s.cfg.Heartbeat <= 0 {
		s.cfg.Heartbeat = dc.Heartbeat
	}
	if s.cfg.StartTimeout <= 0 {
		s.cfg.StartTimeout = dc.StartTimeout
	}
	if s.cfg.StartsPerClient <= 0 {
		s.cfg.StartsPerClient = dc.StartsPerClient
	}
	if s.cfg.SocketsPerClient <= 0 {
		s.cfg.SocketsPerClient = dc.SocketsPerClient
	}
	s.socketDeps = socket.Deps{Hub: d.Hub, Store: d.Store, Log: d.Log, Metrics: s.metrics, StartTimeout: s.cfg.StartTimeout}
	s.auth = auth.New(auth.Deps{
		Config: auth.Config{
			KeyPrefix: d.Config.KeyPrefix, SessionIdle: d.Config.SessionIdle, SessionMax: d.Config.SessionMax,
			RequireTOTP: d.Config.RequireTOTP, TrustedProxies: d.Config.TrustedProxies, Secure: s.secure,
			Secret: d.Config.BlockSecret,
		},
		Redis:    d.Redis,
		Accounts: d.Accounts,
		Log:      d.Log,
		Render: func(c *echo.Context, status int, loginError bool) error {
			return s.pages.render(c, status, "login.html", s.pages.language(c.Request()), loginError)
		},
		Audit:     s.audit,
		Counted:   func(result string) { s.metrics.logins.WithLabelValues(result).Inc() },
		LoggedOut: s.loggedOut,
	})
	s.starts = newStartLimiter(auth.NewKeyer(), s.cfg.StartsPerClient)
	s.resumes = newLimiter(s.starts.keyer, resumeBurst, resumeRefill)
	s.codes = newLimiter(s.starts.keyer, codeBurst, codeRefill)
	s.vault = keep.NewVault(d.Redis, d.Config.KeyPrefix)
	s.store = sealingStore{Store: d.Store, seal: s.sealKept}
	if s.cfg.Keep <= 0 {
		s.cfg.Keep = dc.Keep
	}
	s.clientSockets = &clientSockets{max: s.cfg.SocketsPerClient, n: map[string]int{}}
	s.blocks = newBlocks(d.Redis, d.Config.KeyPrefix, d.Config.BlockSecret)
	s.questions = newQuestionDesk(s, d)
	s.states = newStatePush(s)
	s.consoles = newConsolePush(s)

	e := echo.New()
	e.Logger = d.Log
	e.HTTPErrorHandler = s.httpError
	e.Use(s.recoverer, s.requestLog)

	e.GET("/", s.visitorPage)
	e.GET("/privacy", s.privacyPage)
	e.GET("/static/*", staticHandler())
	e.GET("/ws/visitor", s.visitorSocket)
	e.POST("/feedback", s.feedback)
	e.POST("/keep", s.keepConversation)
	e.POST("/return", s.returnWithCode)
	e.POST("/forget", s.forget)
	e.GET("/advisor", s.advisorPage)
	e.POST("/advisor/login", s.auth.Login)
	e.POST("/advisor/logout", s.auth.Logout)
	e.GET("/ws/advisor", s.advisorSocket)
	e.GET("/advisor/supervisor", s.supervisorPage)
	e.POST("/advisor/supervisor/priority", s.supervisorPriority)
	e.POST("/advisor/supervisor/reassign", s.supervisorReassign)
	e.GET("/advisor/supervisor/feedback", s.supervisorFeedback)
	e.GET("/advisor/supervisor/report", s.supervisorReport)
	e.GET("/ws/supervisor", s.supervisorSocket)
	s.widgetRoutes(e)
	s.questionRoutes(e)
	e.GET("/healthz", func(c *echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.ready)
	if !d.Config.MetricsElsewhere {
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	}

	// Every state-changing request (the console's forms) must come from
	// our own origin: browsers say where a request comes from, and Go
	// checks it.
	cop := http.NewCrossOriginProtection()
	if d.Config.PublicOrigin != "" {
		if err := cop.AddTrustedOrigin(d.Config.PublicOrigin); err != nil {
			return nil, fmt.Errorf("ADVICECHAT_PUBLIC_ORIGIN: %w", err)
		}
	}
	// Its refusals never reach Echo: count them here, under a route of
	// their own (the path is not a label, as everywhere).
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.metrics.request(crossOriginRoute, http.StatusForbidden, 0)
		s.log.Debug("request", "method", r.Method, "route", crossOriginRoute, "status", http.StatusForbidden)
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	s.handler = securityHeaders(s.secure, cop.Handler(e))
	return s, nil
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) ready(c *echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return c.String(http.StatusServiceUnavailable, "redis unreachable\n")
	}
	return c.String(http.StatusOK, "ok\n")
}
