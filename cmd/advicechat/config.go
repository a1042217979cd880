package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	// The opening hours' time zone must load in the distroless image too,
	// which has no zoneinfo.
	_ "time/tzdata"

	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web"
	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/hours"
)

// config is everything the service reads from its environment.
type config struct {
	Addr            string
	RedisURL        string // "" runs an embedded Redis
	KeyPrefix       string
	AccountsFile    string
	PublicOrigin    string
	ExitURL         string
	Retention       time.Duration
	AdvisorGrace    time.Duration
	VisitorGrace    time.Duration
	SessionIdle     time.Duration
	SessionMax      time.Duration
	ShutdownTimeout time.Duration
	StartTimeout    time.Duration
	AckReplicas     int
	AckTimeout      time.Duration
	TrustedProxies  []netip.Prefix
	BlockSecret     string
	StartsPerClient int
	Hours           *hours.Hours // nil: always open
	RoutingPolicy   routing.Policy
	FallbackAfter   time.Duration // 0: never
	FallbackLangs   []string
	OfferTimeout    time.Duration // 0: assign directly
	MissedOffers    int
	MaxWait         time.Duration // 0: never
	BusyWait        time.Duration // 0: never busy
	DefaultHandling time.Duration
	Canned          []web.Canned
	OutcomeTags     []string
	LogLevel        slog.Level
	LogFormat       string
}

func isCluster(raw string) bool {
	opts, err := redisstore.ParseURL(raw)
	return err == nil && opts.IsClusterMode
}

// loadConfig reads and checks the ADVICECHAT_* variables. An error names
// the variable.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Addr:         "127.0.0.1:8080",
		KeyPrefix:    "ac:",
		AccountsFile: "accounts.json",
		ExitURL:      "https://www.buienradar.nl/",
		LogFormat:    "text",
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
	dur := func(name string, dst *time.Duration, def, least time.Duration) {
		*dst = def
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
	str("ADVICECHAT_REDIS_URL", &c.RedisURL)
	if c.RedisURL != "" {
		if _, err := redisstore.ParseURL(c.RedisURL); err != nil {
			fail("ADVICECHAT_REDIS_URL", "not a redis URL: %v", err)
		}
	}
	str("ADVICECHAT_KEY_PREFIX", &c.KeyPrefix)
	if strings.ContainsAny(c.KeyPrefix, "{} \t\n") {
		fail("ADVICECHAT_KEY_PREFIX", "must not contain braces or white space")
	}
	str("ADVICECHAT_ACCOUNTS", &c.AccountsFile)
	str("ADVICECHAT_PUBLIC_ORIGIN", &c.PublicOrigin)
	if c.PublicOrigin != "" {
		u, err := url.Parse(c.PublicOrigin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			fail("ADVICECHAT_PUBLIC_ORIGIN", "%q is not an origin like https://chat.example.org", c.PublicOrigin)
		} else {
			c.PublicOrigin = u.Scheme + "://" + u.Host
		}
	}
	str("ADVICECHAT_EXIT_URL", &c.ExitURL)
	if u, err := url.Parse(c.ExitURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		fail("ADVICECHAT_EXIT_URL", "%q is not an http(s) URL", c.ExitURL)
	}
	dur("ADVICECHAT_RETENTION", &c.Retention, 10*time.Minute, time.Second)
	dur("ADVICECHAT_ADVISOR_GRACE", &c.AdvisorGrace, time.Minute, time.Second)
	dur("ADVICECHAT_VISITOR_GRACE", &c.VisitorGrace, 10*time.Minute, time.Second)
	dur("ADVICECHAT_SESSION_IDLE", &c.SessionIdle, 2*time.Hour, time.Second)
	dur("ADVICECHAT_SESSION_MAX", &c.SessionMax, 12*time.Hour, time.Second)
	dur("ADVICECHAT_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, 10*time.Second, 0)
	dur("ADVICECHAT_START_TIMEOUT", &c.StartTimeout, time.Minute, 100*time.Millisecond)

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
			c.AckReplicas = n
		}
	}
	dur("ADVICECHAT_ACK_TIMEOUT", &c.AckTimeout, 500*time.Millisecond, time.Millisecond)
	if c.AckTimeout > 2*time.Second {
		// The Redis client gives up reading after 3 s.
		fail("ADVICECHAT_ACK_TIMEOUT", "%s is longer than 2s", c.AckTimeout)
	}

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
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
	}
	c.BlockSecret = getenv("ADVICECHAT_BLOCK_SECRET")
	if c.BlockSecret != "" && len(c.BlockSecret) < 32 {
		fail("ADVICECHAT_BLOCK_SECRET", "must be at least 32 characters (e.g. openssl rand -hex 32)")
	}
	c.StartsPerClient = 5
	if v := strings.TrimSpace(getenv("ADVICECHAT_STARTS_PER_CLIENT")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail("ADVICECHAT_STARTS_PER_CLIENT", "%q is not a number from 1 to 1000", v)
		} else {
			c.StartsPerClient = n
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

	policy := routing.DefaultPolicy().Name()
	str("ADVICECHAT_ROUTING_POLICY", &policy)
	if p, err := routing.ParsePolicy(policy); err != nil {
		fail("ADVICECHAT_ROUTING_POLICY", "%v", err)
	} else {
		c.RoutingPolicy = p
	}
	dur("ADVICECHAT_FALLBACK_AFTER", &c.FallbackAfter, 2*time.Minute, 0)
	langs := "en,nl"
	str("ADVICECHAT_FALLBACK_LANGUAGES", &langs)
	for _, l := range strings.Split(langs, ",") {
		l = strings.TrimSpace(l)
		switch {
		case !slices.Contains(accounts.KnownLanguages, l):
			fail("ADVICECHAT_FALLBACK_LANGUAGES", "unknown language %q (known: %s)", l, strings.Join(accounts.KnownLanguages, ", "))
		case slices.Contains(c.FallbackLangs, l):
			fail("ADVICECHAT_FALLBACK_LANGUAGES", "language %q listed twice", l)
		default:
			c.FallbackLangs = append(c.FallbackLangs, l)
		}
	}

	dur("ADVICECHAT_OFFER_TIMEOUT", &c.OfferTimeout, 0, 0)
	if c.OfferTimeout > 0 && c.OfferTimeout < time.Second {
		fail("ADVICECHAT_OFFER_TIMEOUT", "%s is shorter than 1s: nobody can accept that fast (0 assigns directly)", c.OfferTimeout)
	}
	c.MissedOffers = 3
	if v := strings.TrimSpace(getenv("ADVICECHAT_MISSED_OFFERS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			fail("ADVICECHAT_MISSED_OFFERS", "%q is not a number from 1 to 100", v)
		} else {
			c.MissedOffers = n
		}
	}
	dur("ADVICECHAT_MAX_WAIT", &c.MaxWait, 20*time.Minute, 0)
	dur("ADVICECHAT_BUSY_WAIT", &c.BusyWait, 45*time.Minute, 0)
	dur("ADVICECHAT_DEFAULT_HANDLING", &c.DefaultHandling, 20*time.Minute, time.Minute)

	if v := strings.TrimSpace(getenv("ADVICECHAT_CANNED")); v != "" {
		canned, err := web.LoadCanned(v)
		if err != nil {
			fail("ADVICECHAT_CANNED", "%v", err)
		}
		c.Canned = canned
	}
	c.OutcomeTags = web.DefaultOutcomeTags
	if v := strings.TrimSpace(getenv("ADVICECHAT_OUTCOME_TAGS")); v != "" {
		c.OutcomeTags = nil
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			switch err := web.CheckOutcomeTag(t); {
			case err != nil:
				fail("ADVICECHAT_OUTCOME_TAGS", "%v", err)
			case slices.Contains(c.OutcomeTags, t):
				fail("ADVICECHAT_OUTCOME_TAGS", "tag %q listed twice", t)
			default:
				c.OutcomeTags = append(c.OutcomeTags, t)
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
	return c, nil
}
