package main

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// TestBrowserLossShown: the service restarts and Redis comes back without
// the conversation's last two entries, as after a failover to a replica
// that had not got them. Both pages reconnect by themselves, are told, and
// show it: a notice, the lost messages marked, the visitor's own lost
// message with a button that sends it again, which then reaches the
// advisor.
func TestBrowserLossShown(t *testing.T) {
	a := startApp(t, nil)
	password := a.addAdvisor(t, "anna", "-name", "Anna", "-languages", "nl,en")
	b := startBrowser(t)
	adv := b.newTab("advisor")
	vis := b.newTab("visitor")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})

	adv.do("open the login page", chromedp.Navigate(a.URL+"/advisor"))
	logIn(adv, a, "anna", password)
	adv.do("go on duty", chromedp.Click(chromedp.ID("duty")), chromedp.WaitVisible(chromedp.CSS(`#duty[aria-pressed="true"]`)))
	vis.do("start a chat",
		chromedp.Navigate(a.URL+"/?lang=nl"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)),
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)),
	)
	vis.do("first message", chromedp.SendKeys(chromedp.ID("text"), "Eerste bericht\n"))
	adv.do("open the conversation",
		chromedp.Click(chromedp.CSS(`#conversations li > button[data-conversation]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation][aria-current="true"]`)),
	)
	adv.messageText("visitor", 1)
	adv.do("reply", chromedp.SendKeys(chromedp.ID("text"), "Antwoord dat verloren gaat"), chromedp.Click(chromedp.ID("send")))
	vis.messageText("advisor", 1)
	const lost = "Bericht dat verloren gaat"
	vis.do("message that will be lost", chromedp.SendKeys(chromedp.ID("text"), lost+"\n"))
	if got := adv.messageText("visitor", 2); got != lost {
		t.Fatalf("advisor got %q, want %q", got, lost)
	}
	vis.waitFor("own message acked", `(text) => [...document.querySelectorAll('#messages li.msg.mine[data-seq]:not(.pending) .text')].some((p) => p.textContent === text)`, lost)

	conv := tabRun(vis, "conversation id", chromedp.Evaluate[string](`sessionStorage.getItem('advicechat.conversation') ?? ''`))
	addr := strings.TrimPrefix(a.URL, "http://")
	a.stop(t)
	// joined (1), first message (2), the reply (3) and the lost message
	// (4): 3 and 4 are lost.
	ctx := context.Background()
	store := redisstore.New(a.Redis.Client, redisstore.Options{Prefix: a.Redis.Prefix})
	if n, err := redistest.LoseTail(ctx, a.Redis.Client, store, conv, 2); err != nil || n != 2 {
		t.Fatalf("cutting the stream back: %d entries dropped, %v; want 2", n, err)
	}
	env := maps.Clone(a.env)
	env["ADVICECHAT_ADDR"] = addr
	a2 := startWithEnv(t, a.Redis, env)
	a2.totp, a2.lastStep = a.totp, a.lastStep

	for _, tab := range []*browserTab{vis, adv} {
		tab.waitFor("the notice", `() => document.querySelector('#messages li[data-kind="interrupted"]') !== null`)
		tab.waitFor("lost messages marked", `() => document.querySelectorAll('#messages li.msg.lost').length === 2`)
	}
	vis.waitFor("retry on the own lost message", `(text) => [...document.querySelectorAll('#messages li.msg.mine.lost')].some((li) => li.querySelector('.text').textContent === text && li.querySelector('button.retry'))`, lost)
	vis.do("send it again", chromedp.Click(chromedp.CSS(`#messages li.msg.mine.lost button.retry`)))
	adv.waitFor("the message again, not lost", `(text) => [...document.querySelectorAll('#messages li.msg[data-from="visitor"]:not(.lost) .text')].some((p) => p.textContent === text)`, lost)
	vis.waitFor("resent message acked", `(text) => [...document.querySelectorAll('#messages li.msg.mine[data-seq]:not(.pending):not(.lost) .text')].some((p) => p.textContent === text)`, lost)
	for _, tab := range []*browserTab{adv, vis} {
		tab.assertNoPageErrors()
	}
}
