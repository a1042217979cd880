package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// a11yTimeout bounds the whole accessibility test, which runs axe some two
// dozen times; like browserTimeout it is a limit, not a speed goal.
const a11yTimeout = 4 * time.Minute

// a11yViewports are the sizes every page state is checked at: a small
// phone and a desktop window.
var a11yViewports = []a11yViewport{
	{"narrow", 360, 740, true},
	{"wide", 1280, 900, false},
}

type a11yViewport struct {
	name          string
	width, height int64
	mobile        bool
}

// set emulates the viewport in the tab; the page keeps its state.
func (vp a11yViewport) set(tab *browserTab) {
	tab.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	tab.do("viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
}

// axeRun runs axe on the document once layout has settled, with the WCAG
// 2.0 and 2.1 A and AA rules only, and returns the violations in a shape Go
// can decode (a target inside a shadow root is a list of selectors) and how
// many rules passed, which shows that axe checked something.
const axeRun = `(async () => {
	await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
	const res = await axe.run(document, {
		runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
		resultTypes: ['violations'],
	});
	return { passed: res.passes.length, violations: res.violations.map((v) => ({
		id: v.id,
		impact: v.impact || '',
		help: v.help,
		helpUrl: v.helpUrl,
		nodes: v.nodes.map((n) => ({
			target: n.target.map((s) => (Array.isArray(s) ? s.join(' >>> ') : String(s))),
			html: n.html,
			summary: n.failureSummary || '',
		})),
	})) };
})()`

type axeResult struct {
	Passed     int            `json:"passed"`
	Violations []axeViolation `json:"violations"`
}

type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  []string `json:"target"`
		HTML    string   `json:"html"`
		Summary string   `json:"summary"`
	} `json:"nodes"`
}

// axeChecker runs axe-core, vendored in testdata/axe, in the test's tabs.
type axeChecker struct {
	t   *testing.T
	src string // axe.min.js
}

func newAxeChecker(t *testing.T) *axeChecker {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	return &axeChecker{t: t, src: string(b)}
}

// check runs axe on what the tab shows, at every viewport, and fails the
// test for each violation. The pages' CSP allows no inline script, so axe
// is evaluated through the DevTools protocol, which the CSP does not cover.
func (c *axeChecker) check(tab *browserTab, state string) {
	c.t.Helper()
	if !tabRun(tab, "axe loaded", chromedp.Evaluate[bool](`typeof window.axe === 'object'`)) {
		tab.do("load axe", chromedp.Evaluate[chromedp.Void](c.src+"\n;undefined"))
	}
	for _, vp := range a11yViewports {
		vp.set(tab)
		res := tabRun(tab, "axe "+state, chromedp.Evaluate[axeResult](axeRun, chromedp.EvalAwaitPromise))
		if res.Passed == 0 {
			c.t.Errorf("%s, %s: axe passed no rule at all; is it checking the page?", state, vp.name)
		}
		// WCAG 1.4.10 (reflow), which axe cannot judge: nothing needs
		// scrolling sideways, down to a phone's width.
		if w := tabRun(tab, "page width", chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)); w[0] > w[1] {
			c.t.Errorf("%s, %s: the page is %d px wide in a %d px viewport", state, vp.name, w[0], w[1])
		}
		saveScreenshot(tab, state+" "+vp.name)
		violations := res.Violations
		if len(violations) == 0 {
			continue
		}
		var b strings.Builder
		for _, v := range violations {
			fmt.Fprintf(&b, "\n  %s (%s): %s <%s>", v.ID, v.Impact, v.Help, v.HelpURL)
			for _, n := range v.Nodes {
				fmt.Fprintf(&b, "\n    %s\n      %s\n      %s", strings.Join(n.Target, " "), n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n      "))
			}
		}
		c.t.Errorf("%s, %s, %dx%d: %d axe violations:%s", state, vp.name, vp.width, vp.height, len(violations), b.String())
		tab.screenshot(fmt.Sprintf("a11y-%s-%s", strings.ReplaceAll(state, " ", "-"), vp.name))
	}
}

// screenshotDirEnv names the folder `make screenshots` has every checked
// page state saved to (docs/screenshots); unset, nothing is saved.
const screenshotDirEnv = "ADVICECHAT_SCREENSHOTS"

// nonSlug is what a screenshot's file name does not keep.
var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// saveScreenshot saves what the tab shows as <name>.png (lower case,
// dashes between words) in the screenshot folder, if one is set.
func saveScreenshot(tab *browserTab, name string) {
	tab.t.Helper()
	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		return
	}
	png := tabRun(tab, "screenshot", chromedp.CaptureScreenshot())
	slug := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	path := filepath.Join(dir, slug+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tab.t.Fatal(err)
	}
}

// pageLayout is where the page puts what mirrors between the directions,
// in CSS pixels from the viewport's left edge.
type pageLayout struct {
	Dir       string  `json:"dir"`
	Lang      string  `json:"lang"`
	Direction string  `json:"direction"` // computed on body
	Width     float64 `json:"width"`
	ExitLeft  float64 `json:"exitLeft"`
	ExitRight float64 `json:"exitRight"`
	Mine      float64 `json:"mine"`   // centre of the first own message, 0 if none
	Theirs    float64 `json:"theirs"` // centre of the first message from the other side, 0 if none
}

const readLayout = `(() => {
	const centre = (el) => { if (!el) return 0; const r = el.getBoundingClientRect(); return (r.left + r.right) / 2; };
	const exit = document.getElementById('quick-exit').getBoundingClientRect();
	return {
		dir: document.documentElement.dir,
		lang: document.documentElement.lang,
		direction: getComputedStyle(document.body).direction,
		width: document.documentElement.clientWidth,
		exitLeft: exit.left,
		exitRight: exit.right,
		mine: centre(document.querySelector('#messages li.msg.mine[data-kind="message"]')),
		theirs: centre(document.querySelector('#messages li.msg[data-kind="message"]:not(.mine)')),
	};
})()`

// assertDirection checks that the visitor page is in lang and mirrors for
// it: the quick exit sits at the end of the line (right in Dutch, left in
// Arabic), and so do the visitor's own messages, opposite the advisor's.
func assertDirection(tab *browserTab, lang, dir string) {
	tab.t.Helper()
	l := tabRun(tab, "read layout", chromedp.Evaluate[pageLayout](readLayout))
	if l.Lang != lang || l.Dir != dir || l.Direction != dir {
		tab.t.Errorf("%s: <html lang=%q dir=%q>, body direction %q; want lang %q and dir %q", tab.name, l.Lang, l.Dir, l.Direction, lang, dir)
	}
	mid := l.Width / 2
	if atEnd := (dir == "rtl" && l.ExitRight < mid) || (dir == "ltr" && l.ExitLeft > mid); !atEnd {
		tab.t.Errorf("%s: quick exit spans x %.0f to %.0f in a %.0f px viewport, want it at the %s end of the line", tab.name, l.ExitLeft, l.ExitRight, l.Width, dir)
	}
	if l.Mine == 0 || l.Theirs == 0 {
		return
	}
	if ok := (dir == "rtl" && l.Mine < l.Theirs) || (dir == "ltr" && l.Mine > l.Theirs); !ok {
		tab.t.Errorf("%s: own message centred at x %.0f, advisor's at %.0f; in %s own messages belong at the end of the line", tab.name, l.Mine, l.Theirs, dir)
	}
}

// TestBrowserAccessibility runs axe-core's WCAG 2.1 A and AA rules on every
// state of the visitor page (landing, waiting, chatting, the end dialog,
// ended), the advisor login and console, and the privacy page, each at a
// phone's and a desktop's width; the visitor's landing and chat also in
// Arabic, which must mirror.
func TestBrowserAccessibility(t *testing.T) {
	start := time.Now()
	a := startApp(t, nil)
	password := a.addAdvisor(t, "amira", "-name", "Amira", "-languages", "nl,ar")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	axe := newAxeChecker(t)
	b := startBrowser(t)
	b.deadline = time.Now().Add(a11yTimeout)
	vis := b.newTab("visitor-nl")
	adv := b.newTab("advisor")

	// Nobody is on duty: the landing page says so, and a visitor who
	// starts waits.
	vis.do("open the page", chromedp.Navigate(a.URL+"/?lang=nl"), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
	vis.do("no-advisor notice", chromedp.WaitVisible(chromedp.CSS(`#hours[data-hours="no-advisor"]`)))
	assertDirection(vis, "nl", "ltr")
	axe.check(vis, "visitor landing nl")
	vis.do("start a chat",
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="waiting"]`)),
	)
	vis.waitFor("queue position", `() => /\d|volgende/.test(document.getElementById('position').textContent)`)
	axe.check(vis, "visitor waiting nl")

	adv.do("open the login page", chromedp.Navigate(a.URL+"/advisor"), chromedp.WaitVisible(chromedp.ID("login-form")))
	axe.check(adv, "advisor login")
	logIn(adv, a, "amira", password)
	adv.do("go on duty",
		chromedp.Click(chromedp.ID("duty")),
		chromedp.WaitVisible(chromedp.CSS(`#duty[aria-pressed="true"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conversations li > button[data-conversation]`)),
		chromedp.Click(chromedp.CSS(`#conversations li > button[data-conversation]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation][aria-current="true"]`)),
	)

	// The waiting visitor is taken; both sides write.
	vis.do("chatting", chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)))
	vis.do("send", chromedp.SendKeys(chromedp.ID("text"), "Ik maak me zorgen om mijn zoon.\n"))
	adv.messageText("visitor", 1)
	adv.do("reply", chromedp.SendKeys(chromedp.ID("text"), "Goed dat u schrijft. Vertel eens?"), chromedp.Click(chromedp.ID("send")))
	vis.messageText("advisor", 1)
	adv.waitFor("reply acked", `() => document.querySelector('#messages li.msg.mine[data-seq]:not(.pending)') !== null`)
	vis.waitFor("message acked", `() => document.querySelector('#messages li.msg.mine[data-seq]:not(.pending)') !== null`)
	assertDirection(vis, "nl", "ltr")
	axe.check(vis, "visitor chatting nl")
	axe.check(adv, "advisor console with a conversation")

	vis.do("open the end dialog", chromedp.Click(chromedp.ID("end")), chromedp.WaitVisible(chromedp.ID("end-confirm")))
	axe.check(vis, "visitor end dialog nl")
	vis.do("end the chat",
		chromedp.Click(chromedp.ID("end-confirm")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ended"]`)),
	)
	vis.waitFor("ended entry shown", `() => document.querySelector('#messages li.msg[data-kind="ended"]') !== null`)
	axe.check(vis, "visitor ended nl")
	adv.do("conversation closed", chromedp.WaitVisible(chromedp.ID("closed-controls")))
	axe.check(adv, "advisor console with an ended conversation")
	adv.do("close it", chromedp.Click(chromedp.ID("close")))

	vis.do("privacy page", chromedp.Navigate(a.URL+"/privacy?lang=nl"), chromedp.WaitVisible(chromedp.ID("main")))
	axe.check(vis, "privacy nl")

	// Arabic, with an advisor on duty: the page mirrors.
	ar := b.newTab("visitor-ar")
	ar.do("open the page", chromedp.Navigate(a.URL+"/?lang=ar"), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
	assertDirection(ar, "ar", "rtl")
	axe.check(ar, "visitor landing ar")
	ar.do("start a chat",
		chromedp.Click(chromedp.ID("audience-professional")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)),
	)
	ar.do("send", chromedp.SendKeys(chromedp.ID("text"), "لدي سؤال عن تلميذ.\n"))
	adv.do("open the conversation",
		chromedp.WaitVisible(chromedp.CSS(`#conversations li > button[data-conversation]`)),
		chromedp.Click(chromedp.CSS(`#conversations li > button[data-conversation]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation][aria-current="true"]`)),
	)
	adv.messageText("visitor", 1)
	adv.do("reply", chromedp.SendKeys(chromedp.ID("text"), "أهلًا، تفضل."), chromedp.Click(chromedp.ID("send")))
	ar.messageText("advisor", 1)
	ar.waitFor("message acked", `() => document.querySelector('#messages li.msg.mine[data-seq]:not(.pending)') !== null`)
	for _, vp := range a11yViewports {
		vp.set(ar)
		assertDirection(ar, "ar", "rtl")
	}
	axe.check(ar, "visitor chatting ar")
	ar.do("privacy page", chromedp.Navigate(a.URL+"/privacy?lang=ar"), chromedp.WaitVisible(chromedp.ID("main")))
	axe.check(ar, "privacy ar")

	for _, tab := range []*browserTab{vis, adv, ar} {
		tab.assertNoPageErrors()
	}
	t.Logf("accessibility checks took %s", time.Since(start).Round(100*time.Millisecond))
}
