package web

// The public status (GET /status.json) that the chat button on a
// helpline's own website shows: open or closed (and until when), whether
// an advisor is on duty, and a rough band of the wait. Nothing in it is
// more precise than what the visitor page itself says: the landing page
// shows open or closed, the next opening and whether anyone is on duty;
// the wait is a band, never a count of advisors or of those waiting.

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
)

// Wait bands of /status.json (docs/operations.md, "The chat button").
const (
	waitShort   = "short"   // under 10 minutes, or a free place now
	waitUnknown = "unknown" // closed, nobody on duty, or no estimate
	waitLong    = "long"    // over 45 minutes, or over ADVICECHAT_BUSY_WAIT
)

// waitBand puts an estimate in its band: short, 15, 30, 45 or long.
func waitBand(d time.Duration, busy time.Duration) string {
	switch {
	case busy > 0 && d > busy:
		return waitLong
	case d < 10*time.Minute:
		return waitShort
	case d <= 15*time.Minute:
		return "15"
	case d <= 30*time.Minute:
		return "30"
	case d <= 45*time.Minute:
		return "45"
	}
	return waitLong
}

// publicStatus is the body of /status.json.
type publicStatus struct {
	// Open: the chat takes new conversations now (opening hours).
	Open bool `json:"open"`
	// NextOpen is when it opens again, if closed and known (RFC 3339,
	// in the helpline's time zone), and NextOpenText the same as the
	// visitor page writes it, in the language asked for.
	NextOpen     string `json:"next_open,omitempty"`
	NextOpenText string `json:"next_open_text,omitempty"`
	// OnDuty: some advisor is on duty (what the landing page says too).
	OnDuty bool `json:"on_duty"`
	// Wait is the band of the expected wait of a newcomer: short, 15,
	// 30, 45, long or unknown.
	Wait string `json:"wait"`
	// Chat is the chat page, in the language asked for.
	Chat string `json:"chat"`
	// Lang is the language of the texts.
	Lang string `json:"lang"`
}

// statusReading is one reading of the shared state, answered with for
// Config.StatusCache (ADVICECHAT_STATUS_CACHE): the endpoint is public,
// and a site full of buttons must not turn into a stream of Redis reads.
type statusReading struct {
	at     time.Time
	open   bool
	next   time.Time
	onDuty bool
	wait   string
}

type statusCache struct {
	mu   sync.Mutex
	last statusReading
}

// reading returns the status as of at most Config.StatusCache ago.
func (s *Server) reading(ctx context.Context) statusReading {
	s.statusCache.mu.Lock()
	defer s.statusCache.mu.Unlock()
	now := s.now()
	if r := s.statusCache.last; !r.at.IsZero() && now.Sub(r.at) < s.cfg.StatusCache && !now.Before(r.at) {
		return r
	}
	r := statusReading{at: now, open: s.hours.Open(now), wait: waitUnknown}
	if !r.open {
		if next, ok := s.hours.NextOpen(now); ok {
			r.next = next
		}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		onDuty, _, err := s.queue.Counts(ctx)
		if err != nil {
			s.log.Warn("status: count advisors on duty", "err", err)
			return r // not kept: the next one tries again
		}
		r.onDuty = onDuty > 0
		best := time.Duration(-1)
		for _, q := range s.queue.Config().Queues {
			d, ok, err := s.queue.ExpectedWait(ctx, q)
			if err != nil {
				s.log.Warn("status: expected wait", "err", err)
				return r
			}
			if ok && (best < 0 || d < best) {
				best = d
			}
		}
		if r.onDuty && best >= 0 {
			r.wait = waitBand(best, s.cfg.BusyWait)
		}
	}
	s.statusCache.last = r
	return r
}

// status serves /status.json to the chat button, to pages of the origins
// in ADVICECHAT_WIDGET_ORIGINS (CORS) and to anyone without an Origin.
func (s *Server) status(c *echo.Context) error {
	if err := s.widgetCORS(c); err != nil {
		return err
	}
	lang := defaultLanguage
	if l := c.QueryParam("lang"); l != "" {
		if !s.pages.supports(l) {
			return echo.NewHTTPError(http.StatusBadRequest, "lang must be one of "+strings.Join(s.pages.langs, ", "))
		}
		lang = l
	}
	r := s.reading(c.Request().Context())
	out := publicStatus{Open: r.open, OnDuty: r.onDuty, Wait: r.wait, Lang: lang, Chat: s.publicBase(c.Request()) + "/?lang=" + lang}
	if !r.next.IsZero() {
		at := r.next.In(s.hours.Location())
		out.NextOpen = at.Format(time.RFC3339)
		out.NextOpenText = formatOpening(at, lang)
	}
	return c.JSON(http.StatusOK, out)
}

// widgetCORS lets the pages of the configured origins read the answer,
// and refuses every other origin with 403: a request without Origin, or
// from the service's own pages, needs no permission.
func (s *Server) widgetCORS(c *echo.Context) error {
	h := c.Response().Header()
	h.Add("Vary", "Origin")
	origin := c.Request().Header.Get("Origin")
	if origin == "" || strings.EqualFold(origin, s.publicBase(c.Request())) {
		return nil
	}
	if slices.Contains(s.cfg.WidgetOrigins, strings.ToLower(origin)) {
		h.Set("Access-Control-Allow-Origin", origin)
		return nil
	}
	return echo.NewHTTPError(http.StatusForbidden, "origin not allowed: add it to ADVICECHAT_WIDGET_ORIGINS")
}

// publicBase is the origin visitors reach the service at:
// ADVICECHAT_PUBLIC_ORIGIN, or the request's own host.
func (s *Server) publicBase(r *http.Request) string {
	if s.cfg.PublicOrigin != "" {
		return s.cfg.PublicOrigin
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return scheme + r.Host
}
