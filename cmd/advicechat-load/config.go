package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is one load run.
type Config struct {
	// Targets are the instances' base URLs (http://127.0.0.1:8080); every
	// host must be a loopback address.
	Targets []string
	// Advisors log in and answer; each account has one socket.
	Advisors []Advisor
	// Login logs an advisor in and returns the session cookie; nil means
	// FormLogin.
	// code is a fresh TOTP code for accounts with a secret, else "".
	Login func(ctx context.Context, target string, a Advisor, code string) (*http.Cookie, error)

	// Conversations is how many conversations to start (0: no limit but
	// Duration).
	Conversations int
	// Rate is how many conversations start per second.
	Rate float64
	// Messages is how many messages each side sends per conversation: the
	// visitor's last one says it is done, and the advisor answers each.
	Messages int
	// Interval is the time between a visitor's messages, from the
	// conversation's scheduled start.
	Interval time.Duration
	// Think is how long an advisor takes to answer a message.
	Think time.Duration
	// VisitorEnds is the fraction of conversations the visitor ends (after
	// it has every answer); the advisor ends the others.
	VisitorEnds float64
	// ReconnectEvery is the mean time between random connection drops of
	// each client (exponentially distributed); 0: none.
	ReconnectEvery time.Duration
	// ReconnectProb is the chance that a client drops its connection right
	// after sending a message, before the ack can arrive.
	ReconnectProb float64
	// Backoff is the first reconnect delay after a failed connection
	// attempt; it doubles up to 2 s. A deliberate drop reconnects at once.
	Backoff time.Duration
	// Duration caps the time conversations are started in.
	Duration time.Duration
	// Drain caps the time after the last start for conversations to end.
	Drain time.Duration
	// Audience of the conversations: public or professional.
	Audience string
	// SpreadSources makes each visitor connect from its own loopback
	// address (127.1.x.y) when the targets are on 127.0.0.0/8, as
	// distinct people would: the server limits new conversations per
	// client address.
	SpreadSources bool
	// Seed makes the random choices repeatable (0: from the clock).
	Seed int64
	// Log, if set, gets one line per notable event (connection errors).
	Log func(format string, args ...any)
}

// Advisor is an account to log in with.
type Advisor struct {
	Name, Password string
	// TOTPSecret (base32), when set, makes the login send a current code.
	TOTPSecret string
}

// defaults fills in zero fields.
func (c *Config) defaults() {
	if c.Rate <= 0 {
		c.Rate = 5
	}
	if c.Messages <= 0 {
		c.Messages = 5
	}
	if c.Interval <= 0 {
		c.Interval = 200 * time.Millisecond
	}
	if c.Backoff <= 0 {
		c.Backoff = 100 * time.Millisecond
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Drain <= 0 {
		c.Drain = 30 * time.Second
	}
	if c.Audience == "" {
		c.Audience = "public"
	}
	if c.Login == nil {
		c.Login = FormLogin
	}
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano()
	}
}

func (c *Config) validate() error {
	if len(c.Targets) == 0 {
		return errors.New("-targets: no target")
	}
	for i, t := range c.Targets {
		norm, err := checkTarget(t)
		if err != nil {
			return fmt.Errorf("-targets: %w", err)
		}
		c.Targets[i] = norm
	}
	if len(c.Advisors) == 0 {
		return errors.New("no advisors: give -advisor NAME:PASSWORD, -advisors-file or ADVICECHAT_LOAD_ADVISORS")
	}
	switch {
	case c.Conversations < 0:
		return errors.New("-conversations: must not be negative")
	case c.Messages > 1000:
		return errors.New("-messages: at most 1000")
	case c.ReconnectProb < 0 || c.ReconnectProb > 1:
		return errors.New("-reconnect-prob: must be between 0 and 1")
	case c.VisitorEnds < 0 || c.VisitorEnds > 1:
		return errors.New("-visitor-ends: must be between 0 and 1")
	case c.ReconnectEvery < 0:
		return errors.New("-reconnect-every: must not be negative")
	case c.Audience != "public" && c.Audience != "professional":
		return errors.New("-audience: public or professional")
	}
	return nil
}

// checkTarget accepts an http(s) base URL on a loopback host and returns
// it without a trailing slash. The tool never loads anything but this
// machine.
func checkTarget(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not a base URL like http://127.0.0.1:8080", raw)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("%q: give only scheme, host and port", raw)
	}
	if !isLoopback(u.Hostname()) {
		return "", fmt.Errorf("%q is not a loopback address (127.0.0.0/8, ::1 or localhost): the load tool only targets this machine", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseAdvisor parses NAME:PASSWORD or NAME:PASSWORD:totp=SECRET.
func parseAdvisor(s string) (Advisor, error) {
	name, rest, ok := strings.Cut(s, ":")
	if !ok || name == "" || rest == "" {
		return Advisor{}, fmt.Errorf("%q is not NAME:PASSWORD[:totp=SECRET]", redact(s))
	}
	a := Advisor{Name: name, Password: rest}
	if i := strings.LastIndex(rest, ":totp="); i >= 0 {
		a.Password, a.TOTPSecret = rest[:i], rest[i+len(":totp="):]
		if err := checkTOTPSecret(a.TOTPSecret); err != nil {
			return Advisor{}, fmt.Errorf("advisor %s: %w", name, err)
		}
	}
	return a, nil
}

// redact keeps an advisor entry's name only, for error messages.
func redact(s string) string {
	name, _, _ := strings.Cut(s, ":")
	return name + ":..."
}

// parseAdvisorList parses entries separated by newlines; blank lines and
// lines starting with # are skipped.
func parseAdvisorList(text string) ([]Advisor, error) {
	var out []Advisor
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		a, err := parseAdvisor(line)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// readAdvisorsFile reads a file of NAME:PASSWORD[:totp=SECRET] lines.
func readAdvisorsFile(path string) ([]Advisor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-advisors-file: %w", err)
	}
	as, err := parseAdvisorList(string(b))
	if err != nil {
		return nil, fmt.Errorf("-advisors-file %s: %w", path, err)
	}
	return as, nil
}
