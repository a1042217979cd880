package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary be the relay process too, as the tool's
// binary is.
func TestMain(m *testing.M) {
	if addr := os.Getenv(relayEnv); addr != "" {
		if err := serveRelay(addr); err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// TestBenchSmoke runs every phase at tiny sizes against a real
// redis-server and the built service: every figure comes out, the
// throughput and latency ones above zero, the service's Redis counts
// too, and the plot is an SVG with both panels.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the service")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server; CI installs it)")
	}
	svg := filepath.Join(t.TempDir(), "plot.svg")
	res, err := run(context.Background(), options{short: true, svg: svg, log: io.Discard})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := map[string]bool{}
	for _, p := range []string{"memory per idle socket", "Redis commands per start", "admission:", "admission rate",
		"closed loop", "Redis commands per visitor message", "Redis commands per advisor message",
		"CPU per 1000 visitor messages: server", "CPU per 1000 advisor messages: Redis", "open loop"} {
		want[p] = false
	}
	for _, r := range res.rows {
		for p := range want {
			if strings.HasPrefix(r.figure, p) {
				want[p] = true
			}
		}
		if !(r.app > 0) {
			t.Errorf("%s: advicechat's figure is %v, want above 0", r.figure, r.app)
		}
		if r.hasBase && !(r.base > 0) {
			t.Errorf("%s: the relay's figure is %v, want above 0", r.figure, r.base)
		}
	}
	for p, ok := range want {
		if !ok {
			t.Errorf("no figure %q in the table:\n%s", p, res.markdown())
		}
	}
	if md := res.markdown(); !strings.HasPrefix(md, "| figure") || !strings.Contains(md, "×") {
		t.Errorf("the table has no header or no ratio:\n%s", md)
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name
		Texts   []string `xml:"text"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil || doc.XMLName.Local != "svg" {
		t.Fatalf("the plot is not SVG (%v): %.200s", err, b)
	}
	joined := strings.Join(doc.Texts, "|")
	for _, title := range []string{"Admission", "Cost of one start"} {
		if !strings.Contains(joined, title) {
			t.Errorf("the plot has no panel %q", title)
		}
	}
}
