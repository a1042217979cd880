package web

import (
	"log"
	"log/slog"
	"regexp"
	"strings"
)

// addrRE matches IPv4 and IPv6 addresses with an optional port, as
// net/http writes them into its error log ("http: TLS handshake error from
// 203.0.113.7:51234: ...").
var addrRE = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b|\[?(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F.]{0,15}\]?(:\d+)?`)

// RedactAddrs replaces every IP address in s with "[addr]".
func RedactAddrs(s string) string { return addrRE.ReplaceAllString(s, "[addr]") }

type redactingWriter struct{ log *slog.Logger }

func (w redactingWriter) Write(p []byte) (int, error) {
	w.log.Warn("http server", "msg", RedactAddrs(strings.TrimSpace(string(p))))
	return len(p), nil
}

// ServerErrorLog is the error log for the http.Server: what net/http
// reports, with client addresses taken out.
func ServerErrorLog(l *slog.Logger) *log.Logger {
	return log.New(redactingWriter{l}, "", 0)
}
