package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/chat/keep"
	"github.com/advicechat/advicechat/web/protocol"
)

// postJSON posts body to path and returns the status and the decoded
// answer.
func postJSON(t *testing.T, a *app, path, body string) (int, frame) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", a.URL)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var f frame
	_ = json.Unmarshal(b, &f)
	return resp.StatusCode, f
}

func codeBody(code string) string {
	b, _ := json.Marshal(map[string]string{"code": code})
	return string(b)
}

func keepBody(conv, token string) string {
	b, _ := json.Marshal(map[string]string{"conversation": conv, "token": token})
	return string(b)
}

// threadTexts is every message text of a /return answer, part by part.
func threadTexts(f frame) [][]string {
	var out [][]string
	for _, p := range frameList(f.obj("thread"), "parts") {
		var texts []string
		for _, e := range frameList(p, "entries") {
			if e.str("kind") == "message" {
				texts = append(texts, e.str("text"))
			}
		}
		out = append(out, texts)
	}
	return out
}

// waitSealed waits until the thread under code has parts conversations:
// a kept conversation is sealed by whoever ended it, just after the end
// that the sockets hear of.
func waitSealed(t *testing.T, a *app, code string, parts int) {
	t.Helper()
	c, ok := keep.ParseCode(code)
	if !ok {
		t.Fatalf("code %q does not parse", code)
	}
	vault := keep.NewVault(a.Redis.Client, a.Redis.Prefix)
	deadline := time.Now().Add(waitTimeout)
	for {
		th, err := vault.Get(context.Background(), c.Keys())
		if err == nil && len(th.Parts) == parts {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread of %s not sealed with %d parts within %s: %+v, %v", code, parts, waitTimeout, th, err)
		}
		time.Sleep(10 * time.Millisecond) // polling Redis for the seal
	}
}

var codeShape = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)

// TestReturnCode walks a visitor through keeping a conversation, coming
// back with the code to the same advisor, who sees the earlier thread,
// and forgetting it; every way a code can be wrong gets the one answer.
// After the end and the retention Redis holds no message text of the
// kept conversation and no key material, only the sealed thread.
func TestReturnCode(t *testing.T) {
	a := startApp(t, map[string]string{
		"ADVICECHAT_RETENTION":     "2s",
		"ADVICECHAT_KEEP":          "1h",
		"ADVICECHAT_RETURN_PREFER": "2m",
	})
	anna, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "1")
	v, conv, token := activeConversation(t, a, anna)

	status, f := postJSON(t, a, "/keep", keepBody(conv, token))
	code := f.str("code")
	if status != http.StatusOK || !codeShape.MatchString(code) {
		t.Fatalf("POST /keep = %d %v, want 200 and a code", status, f)
	}
	// Known at once: an empty thread until the conversation ends (read
	// from the vault, so as not to spend a code attempt).
	if c, ok := keep.ParseCode(code); !ok {
		t.Fatalf("code %q does not parse", code)
	} else if th, err := keep.NewVault(a.Redis.Client, a.Redis.Prefix).Get(context.Background(), c.Keys()); err != nil || len(th.Parts) != 0 {
		t.Errorf("thread while the kept conversation goes on = %+v, %v; want it there, with no part yet", th, err)
	}
	if status, f := postJSON(t, a, "/keep", keepBody(conv, token)); status != http.StatusConflict || f.str("error") != string(protocol.CodeAlreadyKept) {
		t.Errorf("second POST /keep = %d %v, want 409 already_kept", status, f)
	}
	if status, f := postJSON(t, a, "/keep", keepBody(conv, "wrong")); status != http.StatusForbidden || f.str("error") != string(protocol.CodeUnauthorized) {
		t.Errorf("POST /keep with another token = %d %v, want 403 unauthorized", status, f)
	}

	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "v1", Text: "Mijn zoon kijkt rare filmpjes"})
	anna.expect("the visitor's message", isText(conv, "Mijn zoon kijkt rare filmpjes"))
	anna.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: "a1", Text: "Vertel eens wat meer"})
	v.expect("the advisor's answer", isText(conv, "Vertel eens wat meer"))
	anna.send(protocol.Message{Type: protocol.TypeNote, Conversation: conv, ID: "n1", Text: "internal note canary"})
	anna.expect("note acked", isAck("n1"))
	v.send(protocol.End{Type: protocol.TypeEnd})
	if code := v.expectClose(); code != websocket.StatusNormalClosure {
		t.Fatalf("end: close %d", code)
	}

	waitSealed(t, a, code, 1)

	// Coming back: any case, without the dashes.
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	status, f = postJSON(t, a, "/return", codeBody(typed))
	if status != http.StatusOK {
		t.Fatalf("POST /return = %d %v", status, f)
	}
	if got := threadTexts(f); len(got) != 1 || strings.Join(got[0], "|") != "Mijn zoon kijkt rare filmpjes|Vertel eens wat meer" {
		t.Errorf("kept thread = %q, want the two messages", got)
	}
	raw, _ := json.Marshal(f)
	if strings.Contains(string(raw), "canary") || strings.Contains(string(raw), "anna") {
		t.Errorf("the visitor's thread holds the internal note or the advisor's username: %s", raw)
	}

	// After the retention: the conversation is gone, and nothing in Redis
	// holds its text, the code or the key; the sealed thread is there.
	c, _ := keep.ParseCode(code)
	k := c.Keys()
	secrets := []string{"Mijn zoon", "Vertel eens", "canary", hex.EncodeToString(k.Key[:]), code, strings.ReplaceAll(code, "-", "")}
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := ""
		for _, key := range a.Redis.Keys(t) {
			if strings.Contains(key, conv) || strings.Contains(dumpKey(ctx, a, key), conv) {
				left = key
			}
		}
		if left == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kept conversation's %s outlived the retention", left)
		}
		time.Sleep(100 * time.Millisecond) // waiting out the retention
	}
	sealedThere := false
	for _, key := range a.Redis.Keys(t) {
		dump := dumpKey(ctx, a, key)
		for _, s := range secrets {
			if strings.Contains(key, s) || strings.Contains(dump, s) {
				t.Errorf("after the retention %s holds %q", key, s)
			}
		}
		sealedThere = sealedThere || strings.HasSuffix(key, "{k:"+k.Lookup+"}")
	}
	if !sealedThere {
		t.Error("the sealed thread is not in Redis")
	}
	for _, s := range []string{code, strings.ToLower(code), hex.EncodeToString(k.Key[:])} {
		if strings.Contains(a.logs.String(), s) {
			t.Errorf("the log holds %q", s)
		}
	}

	// A new conversation under the code waits for Anna, who is busy with
	// someone else, although Bert is free; it is hers once she has room,
	// and she sees the earlier thread.
	other, otherConv, _ := activeConversation(t, a, anna)
	bert, _ := onDutyAdvisor(t, a, "bert", "-name", "Bert")
	back := a.visitor(t)
	back.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl", Code: typed})
	started := back.expectType(protocol.TypeStarted)
	conv2, token2 := started.str("conversation"), started.str("token")
	back.expect("waiting for anna", isState("waiting"))
	other.send(protocol.End{Type: protocol.TypeEnd})
	anna.expect("the other one ended", func(f frame) bool {
		return f.str("type") == protocol.TypeUnassigned && f.str("conversation") == otherConv
	})
	back.expect("with anna again", func(f frame) bool { return isState("active")(f) && f.str("advisor") == "Anna" })
	anna.expect("assigned", func(f frame) bool {
		return f.str("type") == protocol.TypeAssigned && f.obj("conversation").str("id") == conv2
	})
	earlier := anna.expect("the earlier thread", isType(protocol.TypeEarlier))
	if earlier.str("conversation") != conv2 {
		t.Errorf("earlier thread for %s, want %s", earlier.str("conversation"), conv2)
	}
	if got := threadTexts(frame{"thread": map[string]any{"parts": earlier["parts"]}}); len(got) != 1 || len(got[0]) != 2 {
		t.Errorf("earlier thread = %q, want the first conversation's two messages", got)
	}
	if raw, _ := json.Marshal(earlier); strings.Contains(string(raw), "canary") {
		t.Error("the earlier thread holds the internal note")
	}
	_ = bert
	// Kept under its code from the start: no second code.
	if status, _ := postJSON(t, a, "/keep", keepBody(conv2, token2)); status != http.StatusConflict {
		t.Errorf("POST /keep of a returning conversation = %d, want 409", status)
	}
	back.send(protocol.Message{Type: protocol.TypeMessage, ID: "v2", Text: "Het gaat beter"})
	anna.expect("the returning visitor's message", isText(conv2, "Het gaat beter"))
	anna.send(protocol.End{Type: protocol.TypeEnd, Conversation: conv2})
	back.expectClose()
	waitSealed(t, a, code, 2)

	// The whole thread is kept again, with its TTL renewed.
	status, f = postJSON(t, a, "/return", codeBody(code))
	if got := threadTexts(f); status != http.StatusOK || len(got) != 2 || strings.Join(got[1], "|") != "Het gaat beter" {
		t.Errorf("thread after the second conversation = %d %q, want two parts", status, got)
	}
	if ttl := a.Redis.Client.TTL(ctx, a.Redis.Prefix+"{k:"+k.Lookup+"}").Val(); ttl < 59*time.Minute {
		t.Errorf("kept thread's TTL = %s, want about an hour", ttl)
	}

	// Every way to be wrong gets one answer.
	unknown := func(what, body string) {
		t.Helper()
		status, f := postJSON(t, a, "/return", body)
		if status != http.StatusNotFound || f.str("error") != string(protocol.CodeUnknownCode) || f.str("message") != "this code is not known or has expired" {
			t.Errorf("%s: POST /return = %d %v, want 404 unknown_code", what, status, f)
		}
	}
	unknown("a wrong code", codeBody(keep.NewCode().String()))
	unknown("a malformed code", codeBody("not-a-code"))
	unknown("an empty code", codeBody(""))
	wrong := a.visitor(t)
	wrong.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl", Code: "7KQ2-M9XD-4TPV-HX3R"})
	if e := wrong.expectType(protocol.TypeError); e.str("code") != string(protocol.CodeUnknownCode) {
		t.Errorf("start with a wrong code = %v, want unknown_code", e)
	}
	if status, f := postJSON(t, a, "/return", `{"code":"x","more":1}`); status != http.StatusBadRequest || f.str("error") != "bad_json" {
		t.Errorf("unknown field = %d %v, want 400 bad_json", status, f)
	}

	// Forget: gone at once, and then unknown like any other.
	if status, _ := postJSON(t, a, "/forget", codeBody(code)); status != http.StatusNoContent {
		t.Errorf("POST /forget = %d, want 204", status)
	}
	unknown("a forgotten code", codeBody(code))
	if n := a.Redis.Client.Exists(ctx, a.Redis.Prefix+"{k:"+k.Lookup+"}").Val(); n != 0 {
		t.Error("the forgotten thread is still in Redis")
	}
	if status, f := postJSON(t, a, "/forget", codeBody(code)); status != http.StatusNotFound || f.str("error") != string(protocol.CodeUnknownCode) {
		t.Errorf("POST /forget again = %d %v, want 404 unknown_code", status, f)
	}
}

// TestReturnCodeLimits: a kept conversation ended, then kept, is sealed at
// once; an expired thread is unknown; the preference for the advisor
// runs out; and guessing codes is limited per client.
func TestReturnCodeLimits(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_RETURN_PREFER": "1s"})
	anna, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "1")
	v, conv, token := activeConversation(t, a, anna)
	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "v1", Text: "Kept after the end"})
	anna.expect("message", isText(conv, "Kept after the end"))
	v.send(protocol.End{Type: protocol.TypeEnd})
	v.expectClose()
	_, f := postJSON(t, a, "/keep", keepBody(conv, token))
	code := f.str("code")
	status, f := postJSON(t, a, "/return", codeBody(code))
	if got := threadTexts(f); status != http.StatusOK || len(got) != 1 || got[0][0] != "Kept after the end" {
		t.Fatalf("thread kept after the end = %d %q", status, got)
	}

	// Anna is busy; past the preference Bert takes the returning visitor.
	activeConversation(t, a, anna)
	onDutyAdvisor(t, a, "bert", "-name", "Bert")
	back := a.visitor(t)
	back.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl", Code: code})
	back.expect("with bert once the preference ran out", func(f frame) bool { return isState("active")(f) && f.str("advisor") == "Bert" })

	// Expired: the TTL ends it, and the code is unknown.
	c, _ := keep.ParseCode(code)
	key := a.Redis.Prefix + "{k:" + c.Keys().Lookup + "}"
	ctx := context.Background()
	a.Redis.Client.PExpire(ctx, key, time.Millisecond)
	for a.Redis.Client.Exists(ctx, key).Val() == 1 {
		time.Sleep(10 * time.Millisecond) // Redis's expiry
	}
	status, f = postJSON(t, a, "/return", codeBody(code))
	if status != http.StatusNotFound || f.str("error") != string(protocol.CodeUnknownCode) {
		t.Errorf("expired code = %d %v, want 404 unknown_code", status, f)
	}

	// Guessing: a burst, then refused; the start counts toward the same.
	for i := 0; ; i++ {
		status, f := postJSON(t, a, "/return", codeBody(keep.NewCode().String()))
		if status == http.StatusTooManyRequests {
			if f.str("error") != string(protocol.CodeRateLimited) {
				t.Errorf("refused guess = %v, want rate_limited", f)
			}
			if i > 10 {
				t.Errorf("refused after %d guesses, want at most 10", i)
			}
			break
		}
		if i > 20 {
			t.Fatal("20 guesses, none refused")
		}
	}
}
