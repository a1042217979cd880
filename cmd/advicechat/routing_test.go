package main

import (
	"testing"

	"github.com/advicechat/advicechat/web/protocol"
)

// TestStartFallback runs the service with a fallback after 1ms to English
// and an advisor who speaks only English and takes one conversation: of
// two Dutch visitors, the first declines the fallback in its start frame,
// so the advisor gets the second although the first waited longer (and,
// with room for one, cannot have had the first).
func TestStartFallback(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_FALLBACK_AFTER": "1ms", "ADVICECHAT_FALLBACK_LANGUAGES": "en"})
	adv, _ := onDutyAdvisor(t, a, "emma", "-languages", "en", "-max", "1")
	first := a.visitor(t)
	first.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl", Fallback: new(false)})
	first.expectType("started")
	second, conv, _ := startConversation(t, a, "public")
	adv.expect("assigned "+conv, func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv })
	second.expect("state active", func(f frame) bool { return f.str("type") == "state" && f.str("status") == "active" })
}
