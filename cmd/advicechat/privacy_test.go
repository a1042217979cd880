package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/web/protocol"
)

func ioCopy(w io.Writer, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

// dumpRedis returns every key under the test's prefix with its value,
// read according to its type.
func dumpRedis(t *testing.T, a *app) string {
	t.Helper()
	ctx := context.Background()
	rdb := a.Redis.Client
	var b strings.Builder
	for _, k := range a.Redis.Keys(t) {
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch typ {
		case "string":
			var s string
			s, err = rdb.Get(ctx, k).Result()
			v = binToHex(s)
		case "hash":
			var h map[string]string
			h, err = rdb.HGetAll(ctx, k).Result()
			for f, s := range h {
				h[f] = binToHex(s)
			}
			v = h
		case "set":
			v, err = rdb.SMembers(ctx, k).Result()
		case "zset":
			v, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "list":
			v, err = rdb.LRange(ctx, k, 0, -1).Result()
		case "stream":
			v, err = rdb.XRange(ctx, k, "-", "+").Result()
		case "none":
			continue // expired meanwhile
		default:
			t.Fatalf("key %s has unexpected type %s", k, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %v\n", k, typ, v)
	}
	return b.String()
}

// binToHex leaves text as it is and writes a value that is not UTF-8
// (a sealed thread: ciphertext) as "bin:" and its hex, so that random
// bytes cannot pass for an address in the scan below while text stored
// inside such a value is still found by dumpHolds.
func binToHex(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return "bin:" + hex.EncodeToString([]byte(s))
}

// dumpHolds reports whether a dump from dumpRedis holds s, as text or
// inside a value written as hex.
func dumpHolds(dump, s string) bool {
	return strings.Contains(dump, s) || strings.Contains(dump, hex.EncodeToString([]byte(s)))
}

// addrRE matches IPv4 addresses and IPv6 addresses in their usual forms.
var addrRE = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b|\b[0-9a-fA-F]{1,4}(:[0-9a-fA-F]{0,4}){2,7}\b`)

// withoutBanner drops the lines the service prints about itself at start
// (its own listen address and its Redis), which are not client data.
func withoutBanner(logs string) string {
	var b strings.Builder
	for _, line := range strings.Split(logs, "\n") {
		if strings.HasPrefix(line, "advicechat listening on ") || strings.HasPrefix(line, "  ") {
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// TestVisitorIdentifiersKeptOut runs many conversations whose requests
// carry unique canaries in every header that could identify a visitor,
// then reads every Redis key of every type, the logs and the metrics: no
// canary may be there, no IP address, and no visitor token.
func TestVisitorIdentifiersKeptOut(t *testing.T) {
	a := startApp(t, nil)
	adv, _ := onDutyAdvisor(t, a, "jan", "-max", "20")

	forbidden := map[string]string{}
	var convs []string
	for i := range 8 {
		canaries := map[string]string{
			"User-Agent":      fmt.Sprintf("CanaryAgent/%d-%s", i, chat.NewID()),
			"X-Forwarded-For": fmt.Sprintf("203.0.113.%d, 2001:db8::%x", 10+i, 0xbeef+i),
			"X-Real-Ip":       fmt.Sprintf("198.51.100.%d", 20+i),
			"Forwarded":       fmt.Sprintf("for=192.0.2.%d", 30+i),
			"Cookie":          "tracker=canary" + chat.NewID(),
			"Accept-Language": "nl-x-canary" + chat.NewID()[:8],
		}
		h := a.origin()
		for k, v := range canaries {
			h.Set(k, v)
			forbidden[fmt.Sprintf("%s of visitor %d", k, i)] = v
		}
		// The page itself, fetched with the canaries.
		req, _ := http.NewRequest("GET", a.URL+"/", nil)
		req.Header = h.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = ioCopy(io.Discard, resp)

		v := dial(t, a.wsURL("/ws/visitor"), h)
		v.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl"})
		started := v.expectType("started")
		conv, token := started.str("conversation"), started.str("token")
		forbidden[fmt.Sprintf("token of visitor %d", i)] = token
		convs = append(convs, conv)
		v.expect("active", isState("active"))
		adv.expect("assigned", func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv })
		exchange(t, v, adv, conv, fmt.Sprint(i))
		if i%2 == 1 {
			// The other half keep their conversation under a return code,
			// read it back and come back with it, all with the canaries.
			post := func(path, body string) frame {
				t.Helper()
				_, f := postWith(t, a, h, path, body)
				return f
			}
			code := post("/keep", keepBody(conv, token)).str("code")
			if code == "" {
				t.Fatalf("visitor %d got no return code", i)
			}
			forbidden[fmt.Sprintf("return code of visitor %d", i)] = code
			forbidden[fmt.Sprintf("return code of visitor %d, as typed", i)] = strings.ReplaceAll(code, "-", "")
			v.send(protocol.End{Type: protocol.TypeEnd})
			v.expectClose()
			waitSealed(t, a, code, 1)
			if th := post("/return", codeBody(code)); len(frameList(th.obj("thread"), "parts")) != 1 {
				t.Fatalf("visitor %d: /return = %v", i, th)
			}
			back := dial(t, a.wsURL("/ws/visitor"), h)
			back.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl", Code: code})
			again := back.expectType("started")
			convs = append(convs, again.str("conversation"))
			forbidden[fmt.Sprintf("token of returning visitor %d", i)] = again.str("token")
			back.expect("active", isState("active"))
			continue
		}
		if i%2 == 0 {
			// Half of them also reconnect with the canaries.
			v.conn.CloseNow()
			v2 := dial(t, a.wsURL("/ws/visitor"), h)
			v2.send(protocol.Resume{Type: protocol.TypeResume, Conversation: conv, Token: token, After: 0})
			v2.expect("active again", isState("active"))
		}
	}

	redisDump := dumpRedis(t, a)
	mresp, err := http.Get(a.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := new(strings.Builder)
	_, _ = ioCopy(metrics, mresp)
	logs := withoutBanner(a.logs.String())

	for where, text := range map[string]string{"redis": redisDump, "logs": logs, "metrics": metrics.String()} {
		for what, c := range forbidden {
			if dumpHolds(text, c) {
				t.Errorf("%s contains the %s: %q", where, what, c)
			}
		}
		if m := addrRE.FindAllString(text, 5); len(m) > 0 {
			t.Errorf("%s contains IP addresses %v", where, m)
		}
	}
	for _, conv := range convs {
		if strings.Contains(metrics.String(), conv) {
			t.Error("metrics contain a conversation id")
		}
	}
	// The token is stored only as its hash: check the test reads what it
	// should.
	if !strings.Contains(redisDump, "tok") || len(redisDump) < 1000 {
		t.Errorf("the Redis dump looks empty; the test does not read what it should:\n%s", redisDump)
	}
}

// TestPrivacyPage: the privacy page states the configured retention and
// says a block keeps a code for a day, in Dutch and English, and the
// landing page links to it.
func TestPrivacyPage(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_RETENTION": "15m"})
	get := func(path string) string {
		resp, err := http.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b := new(strings.Builder)
		_, _ = ioCopy(b, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return b.String()
	}
	for lang, want := range map[string][]string{
		"nl": {"15 minuten", "24 uur", "IP-adres"},
		"en": {"15 minutes", "24 hours", "IP address"},
	} {
		page := get("/privacy?lang=" + lang)
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("/privacy?lang=%s lacks %q", lang, w)
			}
		}
		if !strings.Contains(get("/?lang="+lang), `href="/privacy?lang=`+lang+`"`) {
			t.Errorf("landing page in %s does not link to the privacy page", lang)
		}
	}
}

// postWith posts a JSON body to path with the headers h (a visitor's
// identifying ones among them) and returns the status and the answer.
func postWith(t *testing.T, a *app, h http.Header, path, body string) (int, frame) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.URL+path, strings.NewReader(body))
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := new(strings.Builder)
	_, _ = ioCopy(b, resp)
	var f frame
	_ = json.Unmarshal([]byte(b.String()), &f)
	return resp.StatusCode, f
}

// TestQuestionIdentifiersKeptOut: visitors who leave a question while
// the chat is closed, reply under its code and read it back, all with
// identifying headers, leave none of them, nor the code, in Redis, the
// logs or the metrics; an advisor answers in between.
func TestQuestionIdentifiersKeptOut(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_HOURS": closedNow(t)})
	anna := consoleOf(t, a, "anna", "-name", "Anna")
	forbidden := map[string]string{}
	asked := map[string]bool{} // question ids seen
	for i := range 3 {
		h := a.origin()
		for k, v := range map[string]string{
			"User-Agent":      fmt.Sprintf("CanaryAgent/%d-%s", i, chat.NewID()),
			"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", 40+i),
			"X-Real-Ip":       fmt.Sprintf("198.51.100.%d", 50+i),
			"Cookie":          "tracker=canary" + chat.NewID(),
		} {
			h.Set(k, v)
			forbidden[fmt.Sprintf("%s of visitor %d", k, i)] = v
		}
		post := func(path, body string) (int, frame) {
			t.Helper()
			return postWith(t, a, h, path, body)
		}
		status, f := post("/question", questionBody("public", "nl", fmt.Sprintf("Vraag %d over mijn broer", i), ""))
		code := f.str("code")
		if status != http.StatusOK || code == "" {
			t.Fatalf("question %d: %d %v", i, status, f)
		}
		forbidden[fmt.Sprintf("return code of visitor %d", i)] = code
		forbidden[fmt.Sprintf("return code of visitor %d, as typed", i)] = strings.ReplaceAll(code, "-", "")
		// Anna answers it; the visitor reads the answer and replies.
		v := anna.expect("the question in the view", func(f frame) bool {
			items := frameItems(f, "questions")
			return f.str("type") == protocol.TypeQuestions && len(items) == 1 && !asked[items[0].str("id")]
		})
		id := frameItems(v, "questions")[0].str("id")
		asked[id] = true
		anna.send(protocol.QuestionTarget{Type: protocol.TypeQuestionTake, Question: id})
		anna.expectKeeping("taken", func(f frame) bool { return f.str("type") == protocol.TypeQuestion })
		anna.send(protocol.QuestionAnswer{Type: protocol.TypeQuestionAnswer, Question: id, Text: "Een antwoord"})
		anna.expectKeeping("answered", func(f frame) bool { return f.str("type") == protocol.TypeQuestionAnswered })
		if status, _ := post("/return", codeBody(code)); status != http.StatusOK {
			t.Fatalf("return %d: %d", i, status)
		}
		if status, f := post("/question", questionBody("public", "nl", "Dank u, nog een vraag", code)); status != http.StatusOK {
			t.Fatalf("reply %d: %d %v", i, status, f)
		}
		first := id
		r := anna.expect("the reply in the view", func(f frame) bool {
			items := frameItems(f, "questions")
			return f.str("type") == protocol.TypeQuestions && len(items) == 1 && items[0].str("id") != first
		})
		id = frameItems(r, "questions")[0].str("id")
		asked[id] = true
		anna.send(protocol.QuestionTarget{Type: protocol.TypeQuestionTake, Question: id})
		anna.expectKeeping("reply taken", func(f frame) bool { return f.str("type") == protocol.TypeQuestion })
		anna.send(protocol.QuestionAnswer{Type: protocol.TypeQuestionAnswer, Question: id, Text: "Nog een antwoord"})
		anna.expectKeeping("reply answered", func(f frame) bool { return f.str("type") == protocol.TypeQuestionAnswered })
	}
	redisDump := dumpRedis(t, a)
	mresp, err := http.Get(a.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := new(strings.Builder)
	_, _ = ioCopy(metrics, mresp)
	for where, text := range map[string]string{"redis": redisDump, "logs": withoutBanner(a.logs.String()), "metrics": metrics.String()} {
		for what, c := range forbidden {
			if dumpHolds(text, c) {
				t.Errorf("%s contains the %s: %q", where, what, c)
			}
		}
		if m := addrRE.FindAllString(text, 5); len(m) > 0 {
			t.Errorf("%s contains IP addresses %v", where, m)
		}
	}
	if !strings.Contains(redisDump, "{k:") {
		t.Errorf("the Redis dump holds no sealed thread; the test does not read what it should:\n%s", redisDump)
	}
}
