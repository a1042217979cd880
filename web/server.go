// Package web is the HTTP face of the service: the visitor page and its
// WebSocket, the advisor console with its login and WebSocket, metrics and
// health endpoints, and the security headers every response carries.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/accounts"
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
	// BusyWait: a new visitor whose expected wait is longer is told the
	// chat is busy instead of queuing (unless in danger); 0 never.
	BusyWait time.Duration
	// Canned are the ready-made answers of the console.
	Canned []Canned
	// OutcomeTags are what an advisor may tag a conversation with when
	// ending it; they are counted in metrics only.
	OutcomeTags []string
	// StartTimeout is how long a new socket may stay silent before its
	// first frame (start, resume or hello); then it is closed with 1008.
	StartTimeout time.Duration
	// Version busts browser caches of the static files.
	Version string
}

// Deps are the parts the server is built from.
type Deps struct {
	Config   Config
	Store    chat.Store
	Hub      *chat.Hub
	Queue    *routing.Queue
	Hours    *routing.Hours // nil: always open
	Accounts *accounts.Store
	Redis    redis.UniversalClient
	Log      *slog.Logger
	Registry *prometheus.Registry
	Routing  *routing.Metrics
}

// Server serves the service over HTTP.
type Server struct {
	cfg      Config
	store    chat.Store
	hub      *chat.Hub
	queue    *routing.Queue
	hours    *routing.Hours
	now      func() time.Time
	accounts *accounts.Store
	rdb      redis.UniversalClient
	log      *slog.Logger
	metrics  *metrics
	routing  *routing.Metrics
	pages    *pages
	sessions *sessions
	guard    *loginGuard
	starts   *startLimiter
	blocks   *blocks
	handler  http.Handler
	secure   bool

	mu       sync.Mutex
	sockets  map[*socket]struct{}
	draining bool
	wg       sync.WaitGroup
	base     context.Context
	stop     context.CancelFunc
}

// New builds a server.
func New(d Deps) (*Server, error) {
	if d.Config.OutcomeTags == nil {
		d.Config.OutcomeTags = DefaultOutcomeTags
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
		metrics:  newMetrics(d.Registry),
		routing:  d.Routing,
		pages:    p,
		secure:   strings.HasPrefix(d.Config.PublicOrigin, "https://"),
		sockets:  make(map[*socket]struct{}),
		base:     base,
		stop:     stop,
	}
	if s.cfg.Heartbeat <= 0 {
		s.cfg.Heartbeat = 5 * time.Second
	}
	if s.cfg.StartTimeout <= 0 {
		s.cfg.StartTimeout = time.Minute
	}
	s.sessions = &sessions{rdb: d.Redis, prefix: d.Config.KeyPrefix + "sess:", idle: d.Config.SessionIdle, max: d.Config.SessionMax}
	s.guard = newLoginGuard(d.Redis, d.Config.KeyPrefix)
	s.starts = newStartLimiter(newClientKeyer(), d.Config.StartsPerClient)
	s.blocks = newBlocks(d.Redis, d.Config.KeyPrefix, d.Config.BlockSecret)

	e := echo.New()
	e.Logger = d.Log
	e.HTTPErrorHandler = s.httpError
	e.Use(s.recoverer, s.requestLog, securityHeaders(s.secure))

	e.GET("/", s.visitorPage)
	e.GET("/privacy", s.privacyPage)
	e.GET("/static/*", staticHandler())
	e.GET("/ws/visitor", s.visitorSocket)
	e.POST("/feedback", s.feedback)
	e.GET("/advisor", s.advisorPage)
	e.POST("/advisor/login", s.login)
	e.POST("/advisor/logout", s.logout)
	e.GET("/ws/advisor", s.advisorSocket)
	e.GET("/advisor/supervisor", s.supervisorPage)
	e.POST("/advisor/supervisor/priority", s.supervisorPriority)
	e.POST("/advisor/supervisor/reassign", s.supervisorReassign)
	e.GET("/advisor/supervisor/feedback", s.supervisorFeedback)
	e.GET("/ws/supervisor", s.supervisorSocket)
	e.GET("/healthz", func(c *echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))

	// Every state-changing request (the console's forms) must come from
	// our own origin: browsers say where a request comes from, and Go
	// checks it.
	cop := http.NewCrossOriginProtection()
	if d.Config.PublicOrigin != "" {
		if err := cop.AddTrustedOrigin(d.Config.PublicOrigin); err != nil {
			return nil, fmt.Errorf("ADVICECHAT_PUBLIC_ORIGIN: %w", err)
		}
	}
	s.handler = cop.Handler(e)
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

// Run keeps the instance's visitors and advisors marked as present until
// ctx is done.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.heartbeat(ctx)
		}
	}
}

func (s *Server) heartbeat(ctx context.Context) {
	var convs, names []string
	var advisors []*socket
	s.mu.Lock()
	for sock := range s.sockets {
		if c := sock.presence(); c != "" {
			if sock.role == roleVisitor {
				convs = append(convs, c)
			} else {
				advisors = append(advisors, sock)
			}
		}
	}
	s.mu.Unlock()
	// An advisor whose session ended (absolute timeout, logout elsewhere)
	// or whose account was removed must stop reading along: close the
	// socket, and stop keeping the advisor on duty.
	for _, sock := range advisors {
		ok, err := s.advisorStillValid(ctx, sock.presence(), sock.sessionID())
		if err != nil {
			names = append(names, sock.presence()) // Redis trouble is no reason to drop an advisor
			continue
		}
		if !ok {
			sock.sendError("unauthorized", "your session has ended; log in again", "", "")
			sock.closeAfter(websocket.StatusPolicyViolation, "session ended")
			continue
		}
		names = append(names, sock.presence())
	}
	if err := s.queue.TouchVisitors(ctx, convs...); err != nil && ctx.Err() == nil {
		s.log.Warn("visitor heartbeat failed", "err", err)
	}
	if err := s.queue.TouchAdvisors(ctx, names...); err != nil && ctx.Err() == nil {
		s.log.Warn("advisor heartbeat failed", "err", err)
	}
}

// accept upgrades a request after checking its Origin and registers the
// socket. requireOrigin refuses a handshake without Origin (browsers always
// send one; the advisor socket carries a cookie, so it must come from our
// page).
func (s *Server) accept(c *echo.Context, role string, requireOrigin bool) (*socket, error) {
	r := c.Request()
	if err := s.checkOrigin(r, requireOrigin); err != nil {
		s.metrics.rejected.WithLabelValues(role, "bad_origin").Inc()
		return nil, echo.NewHTTPError(http.StatusForbidden, err.Error())
	}
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "server is shutting down")
	}
	conn, err := websocket.Accept(c.Response(), r, &websocket.AcceptOptions{
		// The Origin was checked above, exactly.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, nil // Accept has answered the client
	}
	sock := newSocket(s.base, s, conn, role)
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		_ = conn.Close(websocket.StatusGoingAway, "server going away")
		return nil, nil
	}
	s.sockets[sock] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.metrics.connections.WithLabelValues(role).Inc()
	go sock.writeLoop()
	return sock, nil
}

// release undoes accept once the socket's reader is done.
func (s *Server) release(sock *socket, extra ...string) {
	sock.close(websocket.StatusNormalClosure, "")
	<-sock.writerDone
	sock.readCancel()
	sock.unwatchAll(extra...)
	s.metrics.connections.WithLabelValues(sock.role).Dec()
	s.mu.Lock()
	delete(s.sockets, sock)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) checkOrigin(r *http.Request, require bool) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if require {
			return errors.New("missing Origin")
		}
		return nil
	}
	want := s.cfg.PublicOrigin
	if want == "" {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		want = scheme + r.Host
	}
	if !strings.EqualFold(origin, want) {
		return errors.New("origin not allowed")
	}
	return nil
}

// Shutdown stops accepting sockets, closes the open ones with 1001 so their
// clients reconnect (to another instance) at once, and waits for them
// until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	for sock := range s.sockets {
		sock.close(websocket.StatusGoingAway, "server restarting, reconnect")
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.stop()
		return nil
	case <-ctx.Done():
		s.stop()
		return fmt.Errorf("close sockets: %w", ctx.Err())
	}
}

// Hooks returns what the routing worker calls after it assigned, requeued
// or abandoned a conversation: the matching entry goes into the
// conversation, which tells both sides.
func (s *Server) Hooks() routing.Hooks {
	return routing.Hooks{
		Assigned: s.joined,
		Requeued: func(ctx context.Context, r routing.Requeue) {
			// Lost connection or not responding: to the visitor the same,
			// their advisor is gone and someone else will answer.
			s.appendRequeued(ctx, r.Conversation, chat.RequeuedLostLink)
		},
		MaxWaited: func(ctx context.Context, id string) {
			s.appendSystem(ctx, chat.Entry{Conversation: id, Kind: chat.KindWaitedLong}, "record a long wait")
		},
		Abandoned: func(ctx context.Context, id string) {
			if _, err := s.store.End(ctx, id, chat.EndedAbandoned); err != nil && !errors.Is(err, chat.ErrEnded) && !errors.Is(err, chat.ErrNotFound) && ctx.Err() == nil {
				s.log.Warn("end abandoned conversation", "err", err)
			}
		},
	}
}

// advisorStillValid reports whether an advisor's session is still good
// and their account still exists.
func (s *Server) advisorStillValid(ctx context.Context, name, session string) (bool, error) {
	ok, err := s.sessions.valid(ctx, session)
	if err != nil || !ok {
		return false, err
	}
	_, ok = s.accounts.Lookup(name)
	return ok, nil
}

// joined records that an advisor has a conversation: the visitor sees who
// joined, under their display name.
func (s *Server) joined(ctx context.Context, a routing.Assignment) {
	s.audit(auditAssigned, a.Advisor, "conversation", a.Conversation)
	s.appendSystem(ctx, chat.Entry{Conversation: a.Conversation, Kind: chat.KindJoined, Name: a.Alias}, "record assignment")
}

// moved records a transfer or reassignment: the internal note for whoever
// takes it (if any, under the name of the one who wrote it), then where it
// went, which the visitor sees as "connected to another advisor" or back
// in the queue.
func (s *Server) moved(ctx context.Context, a routing.Assignment, by, byAlias, note string) {
	s.audit(auditTransferred, by, "conversation", a.Conversation, "to", a.Advisor+a.Queue)
	if note != "" {
		s.appendSystem(ctx, chat.Entry{Conversation: a.Conversation, Kind: chat.KindNote, From: chat.FromAdvisor, Name: byAlias, Text: note}, "record a transfer note")
	}
	e := chat.Entry{Conversation: a.Conversation, Kind: chat.KindTransferred, Name: a.Alias}
	if a.Advisor == "" {
		e.Reason = chat.TransferredQueue
	}
	s.appendSystem(ctx, e, "record a transfer")
}

// appendSystem stores an entry the service writes (From system unless
// set); a failure is logged as what.
func (s *Server) appendSystem(ctx context.Context, e chat.Entry, what string) {
	if e.From == "" {
		e.From = chat.FromSystem
	}
	if _, _, err := s.store.Append(ctx, e); err != nil && ctx.Err() == nil {
		s.log.Warn(what, "err", err)
	}
}

func (s *Server) appendRequeued(ctx context.Context, id, reason string) {
	_, _, err := s.store.Append(ctx, chat.Entry{Conversation: id, Kind: chat.KindRequeued, From: chat.FromSystem, Reason: reason})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("record requeue", "err", err)
	}
}
