package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSecurityHeadersOnEveryRoute requests every route, in every way a
// client may reach it, and checks the headers each response must carry.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	a := startApp(t, nil)
	requests := []struct {
		method, path string
		body         url.Values
	}{
		{"GET", "/", nil},
		{"GET", "/?lang=en", nil},
		{"GET", "/privacy", nil},
		{"GET", "/privacy?lang=en", nil},
		{"GET", "/advisor", nil},
		{"POST", "/advisor/login", url.Values{"username": {"nobody"}, "password": {"wrong"}}},
		{"POST", "/advisor/logout", url.Values{}},
		{"GET", "/static/style.css", nil},
		{"GET", "/static/visitor.js", nil},
		{"GET", "/static/missing.js", nil},
		{"GET", "/ws/visitor", nil},
		{"GET", "/ws/advisor", nil},
		{"GET", "/healthz", nil},
		{"GET", "/readyz", nil},
		{"GET", "/metrics", nil},
		{"GET", "/no/such/page", nil},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, r := range requests {
		var body *strings.Reader
		if r.body != nil {
			body = strings.NewReader(r.body.Encode())
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(r.method, a.URL+r.path, body)
		if r.body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		resp.Body.Close()
		checkSecurityHeaders(t, fmt.Sprintf("%s %s (%d)", r.method, r.path, resp.StatusCode), resp.Header)
	}
}

// checkSecurityHeaders checks the headers every response must carry.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	want := map[string]string{
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"X-Frame-Options":              "DENY",
		"Cache-Control":                "no-store",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s: %s = %q, want %q", what, k, h.Get(k), v)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, must := range []string{"default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, must) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, must)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP %q allows unsafe code", what, csp)
	}
	pp := h.Get("Permissions-Policy")
	for _, must := range []string{"camera=()", "microphone=()", "geolocation=()"} {
		if !strings.Contains(pp, must) {
			t.Errorf("%s: Permissions-Policy %q lacks %q", what, pp, must)
		}
	}
}

// TestSecurityHeadersOnRefusals: what the cross-origin protection refuses,
// before any handler runs, carries the same headers as every other
// response, on every state-changing route and in each way it refuses.
func TestSecurityHeadersOnRefusals(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_PUBLIC_ORIGIN": "https://chat.example.org"})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/advisor/login", "/advisor/logout", "/feedback", "/advisor/supervisor/priority", "/advisor/supervisor/reassign"} {
		for name, h := range map[string]http.Header{
			"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": {"cross-site"}},
			"another Origin":            {"Origin": {"https://evil.example"}},
			"Origin null":               {"Origin": {"null"}},
		} {
			req, _ := http.NewRequest("POST", a.URL+path, strings.NewReader("username=a&password=b"))
			req.Header = h.Clone()
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			what := fmt.Sprintf("POST %s with %s (%d)", path, name, resp.StatusCode)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: want 403", what)
			}
			checkSecurityHeaders(t, what, resp.Header)
			if resp.Header.Get("Strict-Transport-Security") == "" {
				t.Errorf("%s: no Strict-Transport-Security behind an https origin", what)
			}
		}
	}
	// Counted, under a route of their own: 5 paths × 3 ways.
	a.waitMetric(t, `advicechat_http_requests_total{route="(cross-origin)",status="403"} 15`)
}

// TestCrossSiteLoginRefused: a form post from another site is refused
// before it reaches the handler.
func TestCrossSiteLoginRefused(t *testing.T) {
	a := startApp(t, nil)
	pw := a.addAdvisor(t, "hans")
	for _, h := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Origin": {"https://evil.example"}},
	} {
		req, _ := http.NewRequest("POST", a.URL+"/advisor/login", strings.NewReader(url.Values{"username": {"hans"}, "password": {pw}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site login with %v: status %d, want 403", h, resp.StatusCode)
		}
		if len(resp.Cookies()) > 0 {
			t.Errorf("cross-site login with %v set a cookie", h)
		}
	}
	// The same login from our own origin works.
	a.login(t, "hans", pw)
}

// TestLoginFailureIsGeneric: an unknown user and a wrong password get the
// same answer, and no session.
func TestLoginFailureIsGeneric(t *testing.T) {
	a := startApp(t, nil)
	a.addAdvisor(t, "ilse")
	var bodies []string
	for _, form := range []url.Values{
		{"username": {"ilse"}, "password": {"wrong password"}},
		{"username": {"nobody"}, "password": {"wrong password"}},
	} {
		resp, err := http.PostForm(a.URL+"/advisor/login", form)
		if err != nil {
			t.Fatal(err)
		}
		b := new(strings.Builder)
		_, _ = ioCopy(b, resp)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("login %s: status %d, want 401", form.Get("username"), resp.StatusCode)
		}
		if len(resp.Cookies()) > 0 {
			t.Errorf("failed login %s set a cookie", form.Get("username"))
		}
		bodies = append(bodies, b.String())
	}
	if bodies[0] != bodies[1] {
		t.Error("unknown user and wrong password get different pages")
	}
}

// TestPublicOriginHTTPS: behind TLS (public origin https) every response
// carries HSTS of at least a year, and sockets must come from exactly that
// origin.
func TestPublicOriginHTTPS(t *testing.T) {
	const origin = "https://chat.example.org"
	a := startApp(t, map[string]string{"ADVICECHAT_PUBLIC_ORIGIN": origin})
	for _, path := range []string{"/", "/advisor", "/static/style.css", "/healthz"} {
		resp, err := http.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var maxAge int
		if _, err := fmt.Sscanf(resp.Header.Get("Strict-Transport-Security"), "max-age=%d", &maxAge); err != nil || maxAge < 31536000 {
			t.Errorf("GET %s: Strict-Transport-Security %q, want max-age of at least a year", path, resp.Header.Get("Strict-Transport-Security"))
		}
	}
	for _, o := range []string{a.URL, "https://chat.example.org.evil.example", "http://chat.example.org", "https://evil.example"} {
		c, resp, err := tryDial(a.wsURL("/ws/visitor"), http.Header{"Origin": {o}})
		if err == nil {
			c.CloseNow()
			t.Errorf("Origin %s accepted, want only %s", o, origin)
		} else if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %s: %v, want 403", o, err)
		}
	}
	c, _, err := tryDial(a.wsURL("/ws/visitor"), http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("Origin %s refused: %v", origin, err)
	}
	c.CloseNow()
}
