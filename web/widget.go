package web

// The chat button a helpline puts on its own website: a script and a
// stylesheet served by the service (GET /widget.js, /widget.css). The
// script puts a link styled as a button where it is included; the link
// opens the chat page in a new top-level tab (never an iframe: the quick
// exit, the framing protection and the host site's trackers all argue
// against one), and shows the status from /status.json. It sets no
// cookie, stores nothing, and talks to nobody but the service.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v5"
)

// widgetScript is /widget.js: the texts of every language, then
// static/widget.js, in one function scope so nothing leaks into the host
// page's globals.
var widgetScript = sync.OnceValues(func() ([]byte, error) {
	src, err := staticFS.ReadFile("static/widget.js")
	if err != nil {
		return nil, err
	}
	texts, err := Messages(map[string]any{})
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for lang, t := range texts {
		out[lang] = map[string]string{}
		for id, s := range t {
			if k, ok := strings.CutPrefix(id, "widget."); ok {
				out[lang][k] = s
			}
		}
	}
	j, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// advicechat chat button; see the README, \"A chat button for your website\".\n(() => {\nconst TEXTS = %s;\nconst DEFAULT_LANG = %q;\n", j, defaultLanguage)
	b.Write(src)
	b.WriteString("\n})();\n")
	return b.Bytes(), nil
})

// widgetHeaders let other origins' pages load the file (the default
// Cross-Origin-Resource-Policy is same-origin).
func widgetHeaders(c *echo.Context) {
	c.Response().Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
}

func (s *Server) widgetJS(c *echo.Context) error {
	b, err := widgetScript()
	if err != nil {
		return err
	}
	widgetHeaders(c)
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", b)
}

func (s *Server) widgetCSS(c *echo.Context) error {
	b, err := staticFS.ReadFile("static/widget.css")
	if err != nil {
		return err
	}
	widgetHeaders(c)
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", b)
}

// widgetRoutes adds the chat button's endpoints.
func (s *Server) widgetRoutes(e *echo.Echo) {
	e.GET("/status.json", s.status)
	e.GET("/widget.js", s.widgetJS)
	e.GET("/widget.css", s.widgetCSS)
}
