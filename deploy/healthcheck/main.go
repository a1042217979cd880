// Command healthcheck asks the advicechat service in the same container
// whether it is ready, for a container engine's health check: the
// distroless image has no shell, curl or wget.
//
//	healthcheck [PATH]
//
// PATH defaults to /readyz (Redis answers); /healthz asks only whether the
// process is up. The port comes from ADVICECHAT_ADDR, as the service reads
// it; a wildcard or empty host means 127.0.0.1. Exit status 0 is healthy,
// 1 is not, 2 is a usage error.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	path := "/readyz"
	switch {
	case len(args) > 1:
		fmt.Fprintln(stderr, "usage: healthcheck [PATH]")
		return 2
	case len(args) == 1:
		path = args[0]
	}
	if !strings.HasPrefix(path, "/") {
		fmt.Fprintf(stderr, "healthcheck: %q is not a path\n", path)
		return 2
	}
	addr := strings.TrimSpace(getenv("ADVICECHAT_ADDR"))
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: ADVICECHAT_ADDR %q is not host:port\n", addr)
		return 2
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + path

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s answered %s\n", url, resp.Status)
		return 1
	}
	return 0
}
