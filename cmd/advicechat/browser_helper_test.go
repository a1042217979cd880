package main

// The browser tests' Chromium and tabs: startBrowser is the one way a
// test gets a browser, newTab the one way it gets a tab.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which CI installs.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds the whole browser test; it is a limit for a broken
// page or server, not a speed goal.
const browserTimeout = 60 * time.Second

// browser is one headless Chromium for a test.
type browser struct {
	t *testing.T
	// ctx is the browser's context. It has no deadline: the first action on
	// a context ties the browser's life to it, and a failure should still
	// get its screenshot after the deadline has passed.
	ctx      context.Context
	deadline time.Time
}

// startBrowser starts Chromium for a browser test and stops it when the
// test ends; where Chromium is missing, it skips the test. Every action in
// it must end within browserTimeout of now (a test may set b.deadline).
func startBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser test needs Chromium at %s (Debian package chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root in a container
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 768),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, deadline: time.Now().Add(browserTimeout)}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return b
}

// browserTab is a tab in a browser context of its own, so tabs share no
// cookies and no storage, as two people on two devices.
type browserTab struct {
	b    *browser
	t    *testing.T
	name string
	ctx  context.Context

	mu       sync.Mutex
	problems []string // uncaught exceptions and CSP violations
	console  []string // other console errors and warnings, for diagnosis
}

func (b *browser) newTab(name string) *browserTab {
	b.t.Helper()
	tab := &browserTab{b: b, t: b.t, name: name}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tab.listen))
	tab.ctx = ctx
	b.t.Cleanup(func() {
		if b.t.Failed() {
			tab.diagnose()
		}
		cancel()
	})
	// The first action on a context runs the tab's event loop on the
	// context it is given, so it must be the tab's own context: one with a
	// deadline would leave the tab deaf once the deadline's cancel runs.
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("%s: open tab: %v", name, err)
	}
	return tab
}

// listen records what the page says on its console. It runs in the tab's
// event loop, so it only appends.
func (tab *browserTab) listen(ev any) {
	var problem, other string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		problem = fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, d.Text)
		if d.Exception != nil && d.Exception.Description != "" {
			problem += " " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, arg := range ev.Args {
				if arg.Description != "" {
					parts = append(parts, arg.Description)
				} else {
					parts = append(parts, string(arg.Value))
				}
			}
			other = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " "))
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		text := fmt.Sprintf("log %s %s: %s (%s)", e.Source, e.Level, e.Text, e.URL)
		if strings.Contains(e.Text, "Content Security Policy") {
			problem = text // the pages promise to need no inline script or style
		} else if e.Level == log.EntryLevelError || e.Level == log.EntryLevelWarning {
			other = text
		}
	}
	if problem == "" && other == "" {
		return
	}
	tab.mu.Lock()
	defer tab.mu.Unlock()
	if problem != "" {
		tab.problems = append(tab.problems, problem)
	}
	if other != "" {
		tab.console = append(tab.console, other)
	}
}

// do runs steps in the tab before the test's deadline.
func (tab *browserTab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	ctx, cancel := context.WithDeadline(tab.ctx, tab.b.deadline)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tab.t.Fatalf("%s: %s: %v", tab.name, what, err)
	}
}

// tabRun runs one action that returns a value in the tab before the test's
// deadline.
func tabRun[T any](tab *browserTab, what string, action chromedp.Action[T]) T {
	tab.t.Helper()
	ctx, cancel := context.WithDeadline(tab.ctx, tab.b.deadline)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		tab.t.Fatalf("%s: %s: %v", tab.name, what, err)
	}
	return v
}

// waitFor waits until predicate, the source of a JavaScript function, is
// truthy for args, checking again on every change to the document.
func (tab *browserTab) waitFor(what, predicate string, args ...any) {
	tab.t.Helper()
	ctx, cancel := context.WithDeadline(tab.ctx, tab.b.deadline)
	defer cancel()
	poll := chromedp.PollFunction[chromedp.Void](predicate,
		chromedp.WithPollingMutation(),
		chromedp.WithPollingArgs(args...),
		chromedp.WithPollingTimeout(time.Until(tab.b.deadline)),
	)
	if _, err := chromedp.Run(ctx, poll); err != nil {
		tab.t.Fatalf("%s: waiting for %s: %v", tab.name, what, err)
	}
}

// assertNoPageErrors fails the test for uncaught exceptions and CSP
// violations the tab has seen.
func (tab *browserTab) assertNoPageErrors() {
	tab.t.Helper()
	tab.mu.Lock()
	defer tab.mu.Unlock()
	for _, p := range tab.problems {
		tab.t.Errorf("%s: %s", tab.name, p)
	}
}

// screenshot saves the tab's viewport as name.png in the test's artifact
// directory (kept with go test -artifacts).
func (tab *browserTab) screenshot(name string) {
	tab.t.Helper()
	png := tabRun(tab, "screenshot", chromedp.CaptureScreenshot())
	path := filepath.Join(tab.t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tab.t.Fatal(err)
	}
	tab.t.Logf("%s: screenshot %s", tab.name, path)
}

// diagnose logs what the tab shows, for a failed test: a screenshot, the
// document and what the page said on its console.
func (tab *browserTab) diagnose() {
	ctx, cancel := context.WithTimeout(tab.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err != nil {
		tab.t.Logf("%s: no screenshot: %v", tab.name, err)
	} else {
		path := filepath.Join(tab.t.ArtifactDir(), tab.name+"-failure.png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			tab.t.Logf("%s: %v", tab.name, err)
		} else {
			tab.t.Logf("%s: screenshot %s", tab.name, path)
		}
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		tab.t.Logf("%s: at %s", tab.name, loc)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.outerHTML : document.documentElement.outerHTML`)); err != nil {
		tab.t.Logf("%s: no document: %v", tab.name, err)
	} else {
		tab.t.Logf("%s: body:\n%s", tab.name, html)
	}
	tab.mu.Lock()
	defer tab.mu.Unlock()
	for _, line := range slices.Concat(tab.problems, tab.console) {
		tab.t.Logf("%s: %s", tab.name, line)
	}
}
