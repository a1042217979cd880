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

// centrifugoBin is the Centrifugo binary `make bench` builds, or the one
// ADVICECHAT_BENCH_CENTRIFUGO names; "" when there is none.
func centrifugoBin() string {
	if p := os.Getenv("ADVICECHAT_BENCH_CENTRIFUGO"); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", "bin", "tools", "centrifugo-"+CentrifugoVersion))
	if err != nil {
		return ""
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// TestBenchSmoke runs every phase at tiny sizes against a real
// redis-server and the built service: every figure comes out, the
// throughput and latency ones above zero, the service's Redis counts
// too, and the plot is an SVG with both panels. With a Centrifugo binary
// at hand (after `make bench`, or ADVICECHAT_BENCH_CENTRIFUGO) it runs
// as the peer too, and its figures must come out above zero as well.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the service")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server; CI installs it)")
	}
	svg := filepath.Join(t.TempDir(), "plot.svg")
	cf := centrifugoBin()
	if cf == "" {
		t.Log("no Centrifugo binary (make bench builds it): the peer's phases are not run")
	}
	res, err := run(context.Background(), options{short: true, svg: svg, centrifugo: cf, log: io.Discard})
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
		if strings.Contains(r.figure, "highest rate tried") {
			// 0 is a result there (no rate tried stayed under the bound),
			// and on a busy machine a true one.
			continue
		}
		if !(r.app > 0) {
			t.Errorf("%s: advicechat's figure is %v, want above 0", r.figure, r.app)
		}
		if r.hasBase && !(r.base > 0) {
			t.Errorf("%s: the relay's figure is %v, want above 0", r.figure, r.base)
		}
		if r.hasPeer && !(r.peer > 0) {
			t.Errorf("%s: Centrifugo's figure is %v, want above 0", r.figure, r.peer)
		}
		if cf != "" && r.hasBase && !r.hasPeer {
			t.Errorf("%s: the relay has a figure and Centrifugo none", r.figure)
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
	if ran, column := cf != "", strings.Contains(res.markdown(), "| Centrifugo |"); ran != column {
		t.Errorf("Centrifugo run: %v, its column in the table: %v", ran, column)
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

// TestCentrifugoVersion: the Makefile builds the Centrifugo the tool
// names in its table and docs.
func TestCentrifugoVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "CENTRIFUGO_VERSION ?= " + CentrifugoVersion + "\n"; !strings.Contains(string(b), want) {
		t.Errorf("the Makefile has no %q", strings.TrimSpace(want))
	}
}
