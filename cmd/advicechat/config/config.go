// Package config reads the service's configuration from ADVICECHAT_*
// variables, checks all of it at once, and returns each package's part.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	// The opening hours' time zone must load in the distroless image too,
	// which has no zoneinfo.
	_ "time/tzdata"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web"
	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/hours"
)

// Config is everything the service reads from its environment: its own
// settings, and each package's configuration, which starts from that
// package's defaults (routing.DefaultConfig, redisstore.DefaultOptions,
// web.DefaultConfig) so that no default is written twice.
type Config struct {
	Addr string
	// MetricsAddr, when set, is a second listener that serves /metrics
	// alone; the public listener then has none.
	MetricsAddr     string
	RedisURL        string // "" runs an embedded Redis
	AccountsFile    string
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
	LogFormat       string
	Hours           *hours.Hours // nil: always open

	Store   redisstore.Options
	Routing routing.Config
	Web     web.Config
}

// Embedded reports whether the service runs on an embedded Redis.
func (c Config) Embedded() bool { return c.RedisURL == "" }

// Queues are the routing queues, one per audience.
var Queues = []string{chat.AudiencePublic, chat.AudienceProfessional}

func isCluster(raw string) bool {
	opts, err := redisstore.ParseURL(raw)
	return err == nil && opts.IsClusterMode
}

// Load reads and checks the ADVICECHAT_* variables. An error names every
// variable that is wrong.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:            "127.0.0.1:8080",
		AccountsFile:    "accounts.json",
		ShutdownTimeout: 10 * time.Second,
		LogFormat:       "text",
		Store:           redisstore.DefaultOptions(),
		Routing:         routing.DefaultConfig(),
		Web:             web.DefaultConfig(),
	}
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	var errs []string
	fail := func(name, format string, a ...any) {
		errs = append(errs, name+": "+fmt.Sprintf(format, a...))
	}
	// dur reads a duration into dst, which holds the default.
	dur := func(name string, dst *time.Duration, least time.Duration) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			fail(name, "%q is not a duration (e.g. 90s, 10m, 2h)", v)
			return
		}
		if d < least {
			fail(name, "%s is shorter than %s", d, least)
			return
		}
		*dst = d
	}

	str("ADVICECHAT_ADDR", &c.Addr)
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		fail("ADVICECHAT_ADDR", "%q is not host:port", c.Addr)
	}
	if v, ok := secret(getenv, "ADVICECHAT_REDIS_URL", fail); ok {
		c.RedisURL = strings.TrimSpace(v)
	}
	if c.RedisURL != "" {
		if _, err := redisstore.ParseURL(c.RedisURL); err != nil {
			fail("ADVICECHAT_REDIS_URL", "not a redis URL: %v", err)
		}
	}
	str("ADVICECHAT_METRICS_ADDR", &c.MetricsAddr)
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			fail("ADVICECHAT_METRICS_ADDR", "%q is not host:port", c.MetricsAddr)
		} else if _, port, _ := net.SplitHostPort(c.MetricsAddr); c.MetricsAddr == c.Addr && port != "0" {
			fail("ADVICECHAT_METRICS_ADDR", "must differ from ADVICECHAT_ADDR")
		}
	}
	str("ADVICECHAT_KEY_PREFIX", &c.Web.KeyPrefix)
	if strings.ContainsAny(c.Web.KeyPrefix, "{} \t\n") {
		fail("ADVICECHAT_KEY_PREFIX", "must not contain braces or white space")
	}
	str("ADVICECHAT_ACCOUNTS", &c.AccountsFile)
	str("ADVICECHAT_PUBLIC_ORIGIN", &c.Web.PublicOrigin)
	if c.Web.PublicOrigin != "" {
		u, err := url.Parse(c.Web.PublicOrigin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			fail("ADVICECHAT_PUBLIC_ORIGIN", "%q is not an origin like https://chat.example.org", c.Web.PublicOrigin)
		} else {
			c.Web.PublicOrigin = u.Scheme + "://" + u.Host
		}
	}
	if v := getenv("ADVICECHAT_WIDGET_ORIGINS"); strings.TrimSpace(v) != "" {
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimSpace(o)
			u, err := url.Parse(o)
			switch {
			case o == "":
				fail("ADVICECHAT_WIDGET_ORIGINS", "an empty origin in %q", v)
			case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
				u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Host, "*"):
				fail("ADVICECHAT_WIDGET_ORIGINS", "%q is not an origin like https://www.example.org (scheme and host, no path, no wildcard)", o)
			default:
				c.Web.WidgetOrigins = append(c.Web.WidgetOrigins, strings.ToLower(u.Scheme+"://"+u.Host))
			}
		}
	}
	c.Web.StatusCache = 5 * time.Second
	dur("ADVICECHAT_STATUS_CACHE", &c.Web.StatusCache, 0)
	str("ADVICECHAT_EXIT_URL", &c.Web.ExitURL)
	if u, err := url.Parse(c.Web.ExitURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		fail("ADVICECHAT_EXIT_URL", "%q is not an http(s) URL", c.Web.ExitURL)
	}
	dur("ADVICECHAT_RETENTION", &c.Store.Retention, time.Second)
	dur("ADVICECHAT_ADVISOR_GRACE", &c.Routing.AdvisorGrace, time.Second)
	dur("ADVICECHAT_VISITOR_GRACE", &c.Routing.VisitorGrace, time.Second)
	dur("ADVICECHAT_SESSION_IDLE", &c.Web.SessionIdle, time.Second)
	dur("ADVICECHAT_SESSION_MAX", &c.Web.SessionMax, time.Second)
	dur("ADVICECHAT_SESSION_LEASE", &c.Web.SessionLease, 0)
	if c.Web.SessionLease > time.Minute {
		fail("ADVICECHAT_SESSION_LEASE", "%s is longer than a minute: a session ended without a word would stand that long", c.Web.SessionLease)
	}
	dur("ADVICECHAT_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, 0)
	dur("ADVICECHAT_START_TIMEOUT", &c.Web.StartTimeout, 100*time.Millisecond)

	if v := strings.TrimSpace(getenv("ADVICECHAT_ACK_REPLICAS")); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 0 || n > 10:
			fail("ADVICECHAT_ACK_REPLICAS", "%q is not a number of replicas from 0 to 10", v)
		case n > 0 && c.RedisURL == "":
			fail("ADVICECHAT_ACK_REPLICAS", "the embedded Redis has no replicas; set ADVICECHAT_REDIS_URL")
		case n > 0 && isCluster(c.RedisURL):
			fail("ADVICECHAT_ACK_REPLICAS", "waiting for replicas is not supported on Redis Cluster")
		default:
			c.Store.AckReplicas = n
		}
	}
	dur("ADVICECHAT_ACK_TIMEOUT", &c.Store.AckTimeout, time.Millisecond)
	if c.Store.AckTimeout > 2*time.Second {
		// The Redis client gives up reading after 3 s.
		fail("ADVICECHAT_ACK_TIMEOUT", "%s is longer than 2s", c.Store.AckTimeout)
	}

	intIn := func(name string, dst *int, least, most int) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < least || n > most {
			fail(name, "%q is not a number from %d to %d", v, least, most)
			return
		}
		*dst = n
	}
	intIn("ADVICECHAT_SOCKETS_PER_CLIENT", &c.Web.SocketsPerClient, 1, 100000)
	intIn("ADVICECHAT_MESSAGE_BURST", &c.Store.MessageBurst, 1, 10000)
	if v := strings.TrimSpace(getenv("ADVICECHAT_MESSAGE_RATE")); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 || r > 10000 || r != r {
			fail("ADVICECHAT_MESSAGE_RATE", "%q is not a number of messages a second from 0 (no limit) to 10000", v)
		} else {
			c.Store.MessageRate = r
		}
	}
	intIn("ADVICECHAT_MAX_ENTRIES", &c.Store.MaxEntries, 0, 1_000_000)
	intIn("ADVICECHAT_MAX_BYTES", &c.Store.MaxBytes, 0, 1<<30)

	if v := strings.TrimSpace(getenv("ADVICECHAT_TRUSTED_PROXIES")); v != "" {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			p, err := netip.ParsePrefix(item)
			if err != nil {
				a, aerr := netip.ParseAddr(item)
				if aerr != nil {
					fail("ADVICECHAT_TRUSTED_PROXIES", "%q is not an address or CIDR range", item)
					continue
				}
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			}
			c.Web.TrustedProxies = append(c.Web.TrustedProxies, p.Masked())
		}
	}
	if v, ok := secret(getenv, "ADVICECHAT_BLOCK_SECRET", fail); ok {
		if len(v) < 32 {
			fail("ADVICECHAT_BLOCK_SECRET", "must be at least 32 characters (e.g. openssl rand -hex 32)")
		}
		c.Web.BlockSecret = []byte(v)
	}
	if v := strings.TrimSpace(getenv("ADVICECHAT_STARTS_PER_CLIENT")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail("ADVICECHAT_STARTS_PER_CLIENT", "%q is not a number from 1 to 1000", v)
		} else {
			c.Web.StartsPerClient = n
		}
	}

	if v := strings.TrimSpace(getenv("ADVICECHAT_HOURS")); v != "" {
		h, err := hours.Load(v)
		if err != nil {
			fail("ADVICECHAT_HOURS", "%v", err)
		} else {
			c.Hours = h
		}
	}

	policy := c.Routing.Policy.Name()
	str("ADVICECHAT_ROUTING_POLICY", &policy)
	if p, err := routing.ParsePolicy(policy); err != nil {
		fail("ADVICECHAT_ROUTING_POLICY", "%v", err)
	} else {
		c.Routing.Policy = p
	}
	dur("ADVICECHAT_FALLBACK_AFTER", &c.Routing.FallbackAfter, 0)
	langs := strings.Join(c.Routing.FallbackLanguages, ",")
	c.Routing.FallbackLanguages = nil
	str("ADVICECHAT_FALLBACK_LANGUAGES", &langs)
	for _, l := range strings.Split(langs, ",") {
		l = strings.TrimSpace(l)
		switch {
		case !slices.Contains(accounts.KnownLanguages, l):
			fail("ADVICECHAT_FALLBACK_LANGUAGES", "unknown language %q (known: %s)", l, strings.Join(accounts.KnownLanguages, ", "))
		case slices.Contains(c.Routing.FallbackLanguages, l):
			fail("ADVICECHAT_FALLBACK_LANGUAGES", "language %q listed twice", l)
		default:
			c.Routing.FallbackLanguages = append(c.Routing.FallbackLanguages, l)
		}
	}

	dur("ADVICECHAT_OFFER_TIMEOUT", &c.Routing.OfferTimeout, 0)
	if c.Routing.OfferTimeout > 0 && c.Routing.OfferTimeout < time.Second {
		fail("ADVICECHAT_OFFER_TIMEOUT", "%s is shorter than 1s: nobody can accept that fast (0 assigns directly)", c.Routing.OfferTimeout)
	}
	if v := strings.TrimSpace(getenv("ADVICECHAT_MISSED_OFFERS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			fail("ADVICECHAT_MISSED_OFFERS", "%q is not a number from 1 to 100", v)
		} else {
			c.Routing.MissedOffers = n
		}
	}
	dur("ADVICECHAT_MAX_WAIT", &c.Routing.MaxWait, 0)
	dur("ADVICECHAT_BUSY_WAIT", &c.Web.BusyWait, 0)
	dur("ADVICECHAT_KEEP", &c.Web.Keep, time.Hour)
	if c.Web.Keep > 400*24*time.Hour {
		fail("ADVICECHAT_KEEP", "%s is longer than 400 days (9600h)", c.Web.Keep)
	}
	dur("ADVICECHAT_RETURN_PREFER", &c.Web.ReturnPrefer, 0)
	dur("ADVICECHAT_DEFAULT_HANDLING", &c.Routing.DefaultHandling, time.Minute)
	dur("ADVICECHAT_QUESTION_KEEP", &c.Web.QuestionKeep, time.Second)

	if v := strings.TrimSpace(getenv("ADVICECHAT_CANNED")); v != "" {
		canned, err := web.LoadCanned(v)
		if err != nil {
			fail("ADVICECHAT_CANNED", "%v", err)
		}
		c.Web.Canned = canned
	}
	if v := strings.TrimSpace(getenv("ADVICECHAT_OUTCOME_TAGS")); v != "" {
		c.Web.OutcomeTags = nil
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			switch err := web.CheckOutcomeTag(t); {
			case err != nil:
				fail("ADVICECHAT_OUTCOME_TAGS", "%v", err)
			case slices.Contains(c.Web.OutcomeTags, t):
				fail("ADVICECHAT_OUTCOME_TAGS", "tag %q listed twice", t)
			default:
				c.Web.OutcomeTags = append(c.Web.OutcomeTags, t)
			}
		}
	}

	if v := strings.TrimSpace(getenv("ADVICECHAT_LOG_LEVEL")); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			fail("ADVICECHAT_LOG_LEVEL", "%q is not debug, info, warn or error", v)
		}
	}
	str("ADVICECHAT_LOG_FORMAT", &c.LogFormat)
	if c.LogFormat != "text" && c.LogFormat != "json" {
		fail("ADVICECHAT_LOG_FORMAT", "%q is not text or json", c.LogFormat)
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%s", strings.Join(errs, "\n  "))
	}

	// What one setting means to several packages is copied to each here,
	// and nowhere else.
	prefix := c.Web.KeyPrefix
	c.Store.Prefix, c.Routing.Prefix = prefix, prefix
	c.Routing.Retention, c.Web.Retention = c.Store.Retention, c.Store.Retention
	c.Routing.Queues = Queues
	// The report counts days as the opening hours do.
	c.Routing.ReportZone = c.Hours.Location()
	// Presence is refreshed four times per grace, so one lost heartbeat
	// costs nobody their conversation.
	c.Web.Heartbeat = min(c.Routing.AdvisorGrace, c.Routing.VisitorGrace) / 4
	// A console's presence record outlives one lost heartbeat, not two:
	// an instance that died stops counting for its advisors soon.
	c.Routing.PresenceFor = 2 * c.Web.Heartbeat
	// Only the embedded demo may log in without a second factor.
	c.Web.RequireTOTP = !c.Embedded()
	return c, nil
}

// secret reads a secret from the variable name or from the file that
// name_FILE names (a container secret), never both. A file's trailing
// line break is not part of the secret.
func secret(getenv func(string) string, name string, fail func(name, format string, a ...any)) (string, bool) {
	v, file := getenv(name), strings.TrimSpace(getenv(name+"_FILE"))
	switch {
	case file == "":
		return v, v != ""
	case v != "":
		fail(name+"_FILE", "set either %s or %s_FILE, not both", name, name)
		return "", false
	}
	b, err := os.ReadFile(file)
	if err != nil {
		fail(name+"_FILE", "%v", err)
		return "", false
	}
	v = strings.TrimRight(string(b), "\r\n")
	if v == "" {
		fail(name+"_FILE", "%s is empty", file)
		return "", false
	}
	return v, true
}
