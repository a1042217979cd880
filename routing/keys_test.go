package routing

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// indexKeys are the only routing keys that may live without a TTL: the
// shared indexes every conversation passes through and leaves in the
// script step that ends it (docs/routing.md, "What lives without a TTL").
// They are matched on the part after the test's prefix.
var indexKeys = regexp.MustCompile(`^\{rt\}:(q:[a-z0-9_-]+|timers|seen|vseen|onduty|known|handled|asgseq|swept)$`)

// keyDump is what one key holds, as text: its type, and every member,
// field and value.
func keyDump(tb testing.TB, r *redistest.Redis, k string) string {
	tb.Helper()
	ctx, c := context.Background(), r.Client
	var parts []string
	typ := c.Type(ctx, k).Val()
	switch typ {
	case "string":
		parts = append(parts, c.Get(ctx, k).Val())
	case "hash":
		for f, v := range c.HGetAll(ctx, k).Val() {
			parts = append(parts, f+"="+v)
		}
	case "set":
		parts = c.SMembers(ctx, k).Val()
	case "zset":
		parts = c.ZRange(ctx, k, 0, -1).Val()
	case "list":
		parts = c.LRange(ctx, k, 0, -1).Val()
	case "none":
		return "none"
	default:
		tb.Fatalf("key %s is a %s; routing keeps none of that type", k, typ)
	}
	slices.Sort(parts)
	return typ + " " + strings.Join(parts, " ")
}

// naming returns the keys that name one of ids, in their name or in what
// they hold, with what they hold.
func naming(tb testing.TB, r *redistest.Redis, ids []string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for _, k := range r.Keys(tb) {
		d := keyDump(tb, r, k)
		for _, id := range ids {
			if strings.Contains(k, id) || strings.Contains(d, id) {
				out[k] = d
			}
		}
	}
	return out
}

// checkTTLs fails for every key under the prefix that has no TTL and is
// not one of the index keys.
func checkTTLs(tb testing.TB, r *redistest.Redis, when string) {
	tb.Helper()
	for _, k := range r.Keys(tb) {
		ttl, err := r.Client.TTL(context.Background(), k).Result()
		if err != nil {
			tb.Fatalf("TTL(%s) = %v", k, err)
		}
		if name := strings.TrimPrefix(k, r.Prefix); ttl == -1 && !indexKeys.MatchString(name) {
			tb.Errorf("%s: key %s has no TTL and is not an index key: %s", when, name, keyDump(tb, r, k))
		}
	}
}

// waitOutRetention lets Redis's own clock pass the retention: at once on
// the embedded server, which moves its clock when told; on a real one,
// by polling (bounded) until gone reports true.
func waitOutRetention(tb testing.TB, r *redistest.Redis, retention time.Duration, gone func() bool) {
	tb.Helper()
	if r.Mini != nil {
		r.Mini.FastForward(retention + time.Second)
	}
	deadline := time.Now().Add(retention + 10*time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !gone() {
		if time.Now().After(deadline) {
			tb.Fatalf("still there %s after a retention of %s", retention+10*time.Second, retention)
		}
		<-tick.C // polling Redis's expiry, not waiting out a race
	}
}

// TestNoKeyOutlivesItsConversation runs a day of routing in minutes:
// conversations queued in both queues, a priority raised, offers made,
// accepted, let expire and made again, ends by the advisor and by the
// visitor while waiting, offered and active, a transfer to a queue, a
// reassignment and a pick, an advisor lost by their heartbeat and
// another going off duty, maximum waits, visitors who leave while
// waiting and while active, and an alias set by an advisor who never
// goes on duty. One conversation is still going at the end. Then it
// waits out the retention and scans every key under the prefix: none
// names an ended conversation, in its name or in what it holds, and every
// key without a TTL is one of the documented index keys.
func TestNoKeyOutlivesItsConversation(t *testing.T) {
	ctx := context.Background()
	const retention = time.Second
	q, r, clk := mustQueue(t, Config{
		OfferTimeout: 30 * time.Second,
		MaxWait:      3 * time.Minute,
		AdvisorGrace: time.Minute,
		VisitorGrace: 2 * time.Minute,
		MissedOffers: 5,
		Retention:    retention,
	})
	ids := make([]string, 12)
	for i := range ids {
		ids[i] = fmt.Sprintf("kc%02dz", i+1) // unlike anything else in a key
	}
	const live = "kc12z"          // still going at the end
	visitors := map[string]bool{} // whose visitor heartbeats
	advisors := map[string]bool{} // who heartbeats
	ended := map[string]bool{}
	var now time.Duration
	// step moves the clock on by d; everyone still there heartbeats, and
	// the sweep runs.
	step := func(d time.Duration) SweepResult {
		t.Helper()
		now += d
		clk.Set(at(now))
		var vs, as []string
		for id, ok := range visitors {
			if ok {
				vs = append(vs, id)
			}
		}
		for name, ok := range advisors {
			if ok {
				as = append(as, name)
			}
		}
		if err := q.TouchVisitors(ctx, vs...); err != nil {
			t.Fatalf("TouchVisitors = %v", err)
		}
		if err := q.TouchAdvisors(ctx, as...); err != nil {
			t.Fatalf("TouchAdvisors = %v", err)
		}
		res := mustSweep(t, q)
		for _, id := range res.Abandoned {
			ended[id] = true
			visitors[id] = false
		}
		return res
	}
	end := func(id string) {
		t.Helper()
		if _, _, ok, err := q.Release(ctx, id); err != nil || !ok {
			t.Fatalf("Release(%s) = %v, %v, want it ended", id, ok, err)
		}
		ended[id], visitors[id] = true, false
	}
	endBy := func(id, advisor string) {
		t.Helper()
		if ok, err := q.ReleaseBy(ctx, id, advisor, "advice-given"); err != nil || !ok {
			t.Fatalf("ReleaseBy(%s, %s) = %v, %v, want it ended", id, advisor, ok, err)
		}
		ended[id], visitors[id] = true, false
	}
	offers := func(name string) []string { return mustAdvisorStatus(t, q, name).Offered }
	held := func(name string) []string { return mustAdvisorStatus(t, q, name).Conversations }

	// An advisor who sets their alias and never goes on duty.
	if err := q.SetAlias(ctx, "cat", "Cat"); err != nil {
		t.Fatalf("SetAlias = %v", err)
	}
	for i, id := range ids {
		audience := "public"
		if i%3 == 2 {
			audience = "professional"
		}
		mustEnqueue(t, q, id, audience, 0)
		visitors[id] = true
	}
	if err := q.SetPriority(ctx, ids[5], PriorityHigh); err != nil {
		t.Fatalf("SetPriority = %v", err)
	}
	mustOnDuty(t, q, Advisor{Name: "ann", Alias: "Ann", Capacity: 2, Audiences: []string{"public", "professional"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "dan", Capacity: 1, Audiences: []string{"professional"}})
	advisors["ann"], advisors["bob"], advisors["dan"] = true, true, true
	if got := mustAssign(t, q, 10); len(got) != 4 {
		t.Fatalf("Assign = %q, want 4 offers", pairs(got))
	}

	// Ann and Dan accept; Bob lets his offer run out and gets it again.
	step(10 * time.Second)
	for _, name := range []string{"ann", "dan"} {
		for _, id := range offers(name) {
			mustAccept(t, q, id, name)
		}
	}
	bobs := offers("bob")
	if res := step(25 * time.Second); len(res.OffersExpired) != 1 || res.OffersExpired[0].Conversation != bobs[0] {
		t.Fatalf("sweep after the offer timeout = %+v, want %s's offer to bob expired", res, bobs[0])
	}
	mustAssign(t, q, 10)
	if got := offers("bob"); len(got) != 1 {
		t.Fatalf("bob's offers after the expiry = %q, want one again", got)
	}
	step(5 * time.Second)
	mustAccept(t, q, offers("bob")[0], "bob")

	// Ann ends one; a visitor ends while offered, another while waiting.
	a := held("ann")
	endBy(a[0], "ann")
	mustAssign(t, q, 10)
	annOffer := offers("ann")
	if len(annOffer) != 1 {
		t.Fatalf("ann's offers = %q, want one", annOffer)
	}
	end(annOffer[0])
	waiting := func() []string {
		var out []string
		for _, id := range ids {
			if st := mustState(t, q, id); st.Status == StatusWaiting {
				out = append(out, id)
			}
		}
		return out
	}
	end(waiting()[0])

	// Ann's other one goes to a queue, then to Bob once he is free.
	step(10 * time.Second)
	if _, err := q.Transfer(ctx, a[1], "ann", Target{Queue: "professional"}); err != nil {
		t.Fatalf("Transfer = %v", err)
	}
	endBy(held("bob")[0], "bob")
	if _, err := q.Reassign(ctx, a[1], Target{Advisor: "bob"}); err != nil {
		t.Fatalf("Reassign = %v", err)
	}

	// Dan's heartbeat stops: he is lost and his conversation requeued.
	advisors["dan"] = false
	dans := held("dan")
	if res := step(70 * time.Second); len(res.Requeued) != 1 || res.Requeued[0].Conversation != dans[0] {
		t.Fatalf("sweep after dan's grace = %+v, want %s requeued", res, dans[0])
	}

	// The maximum wait passes for those still waiting.
	if res := step(70 * time.Second); len(res.MaxWaited) == 0 {
		t.Fatalf("sweep after the maximum wait = %+v, want some reported", res)
	}

	// Two visitors go: one waiting, and Bob's (active).
	gone := []string{waiting()[0], a[1]}
	visitors[gone[0]], visitors[gone[1]] = false, false
	step(time.Minute)
	if res := step(70 * time.Second); !slices.Contains(res.Abandoned, gone[0]) || !slices.Contains(res.Abandoned, gone[1]) {
		t.Fatalf("sweep after the visitor grace = %+v, want %q abandoned", res, gone)
	}

	// Ann picks the one that goes on; Bob goes off duty; the rest end.
	mustAssign(t, q, 10)
	for _, id := range offers("ann") {
		mustAccept(t, q, id, "ann")
	}
	for _, id := range held("ann") {
		if id != live {
			endBy(id, "ann")
		}
	}
	if !slices.Contains(held("ann"), live) {
		if st := mustState(t, q, live); st.Status == StatusOffered {
			t.Fatalf("%s offered to %s, want it waiting or with ann", live, st.Advisor)
		}
		mustPick(t, q, live, "ann")
	}
	if _, err := q.TakeOffDuty(ctx, "bob"); err != nil {
		t.Fatalf("TakeOffDuty(bob) = %v", err)
	}
	advisors["bob"] = false
	for _, id := range ids {
		if id != live && !ended[id] {
			end(id)
		}
	}
	step(time.Second)
	var endedIDs []string
	for id := range ended {
		endedIDs = append(endedIDs, id)
	}
	if len(endedIDs) != len(ids)-1 {
		t.Fatalf("ended %q, want all but %s", endedIDs, live)
	}

	// Right after the ends, only each conversation's own hash still names
	// it, and it has at most the retention to live.
	for k, d := range naming(t, r, endedIDs) {
		ttl := r.Client.PTTL(ctx, k).Val()
		if ttl == -2 { // go-redis's value for a missing key: expired since the scan
			continue
		}
		if !strings.HasPrefix(k, q.p+"conv:") || ttl <= 0 || ttl > retention {
			t.Errorf("after the ends %s (TTL %s) names an ended conversation: %s", strings.TrimPrefix(k, r.Prefix), ttl, d)
		}
	}
	checkTTLs(t, r, "while one conversation goes on")

	waitOutRetention(t, r, retention, func() bool { return len(naming(t, r, endedIDs)) == 0 })
	// Another sweep and assignment round on the clean state add nothing.
	step(10 * time.Minute)
	mustAssign(t, q, 10)
	if left := naming(t, r, endedIDs); len(left) > 0 {
		t.Errorf("past the retention these keys still name ended conversations: %v", left)
	}
	checkTTLs(t, r, "past the retention")
	if st := mustState(t, q, live); st.Status != StatusActive || st.Advisor != "ann" {
		t.Errorf("State(%s) = %+v, want active with ann", live, st)
	}
}

// TestAdvisorDataThatExpiredIsNotMadeAnew: when an advisor's hash is gone
// (expired after the idle TTL) while their name is still in the indexes,
// accepting an offer, missing one and being lost by the sweep neither
// make it anew (it would have no TTL) nor lose their conversations.
func TestAdvisorDataThatExpiredIsNotMadeAnew(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{OfferTimeout: 30 * time.Second, AdvisorGrace: time.Minute, VisitorGrace: time.Hour})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 2, Audiences: []string{"public"}})
	mustEnqueue(t, q, "c1", "public", 0)
	mustEnqueue(t, q, "c2", "public", 0)
	if got := mustAssign(t, q, 10); len(got) != 2 {
		t.Fatalf("Assign = %q, want 2 offers", pairs(got))
	}
	// As if ann's hash had expired.
	if err := r.Client.Del(ctx, q.advKey("ann")).Err(); err != nil {
		t.Fatal(err)
	}
	noHash := func(when string) {
		t.Helper()
		if n := r.Client.Exists(ctx, q.advKey("ann")).Val(); n != 0 {
			t.Errorf("%s: ann's hash was made anew: %s", when, keyDump(t, r, q.advKey("ann")))
		}
	}
	mustAccept(t, q, "c1", "ann")
	noHash("after an accept")

	clk.Set(at(31 * time.Second)) // c2's offer expires
	if res := mustSweep(t, q); len(res.OffersExpired) != 1 {
		t.Fatalf("Sweep() = %+v, want c2's offer expired", res)
	}
	noHash("after a missed offer")

	clk.Set(at(2 * time.Minute)) // ann is lost
	if res := mustSweep(t, q); len(res.Requeued) != 1 || res.Requeued[0].Conversation != "c1" {
		t.Fatalf("Sweep() = %+v, want c1 requeued", res)
	}
	noHash("after the advisor was lost")
	checkTTLs(t, r, "after the advisor was lost")
	for _, id := range []string{"c1", "c2"} {
		if st := mustState(t, q, id); st.Status != StatusWaiting {
			t.Errorf("State(%s) = %+v, want waiting", id, st)
		}
	}

	// Going off duty without routing data makes none either.
	if _, err := q.TakeOffDuty(ctx, "zed"); err != nil {
		t.Fatalf("TakeOffDuty(zed) = %v", err)
	}
	if n := r.Client.Exists(ctx, q.advKey("zed")).Val(); n != 0 {
		t.Errorf("TakeOffDuty of an unknown advisor made %s", keyDump(t, r, q.advKey("zed")))
	}
}

// TestExpiredConversationLeavesNoOffer: a conversation whose data expired
// while it was offered leaves the advisor's offers when its timer comes
// due, so it neither takes a place in their load nor counts as missed.
func TestExpiredConversationLeavesNoOffer(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{OfferTimeout: 30 * time.Second, AdvisorGrace: time.Hour, VisitorGrace: time.Hour})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	mustEnqueue(t, q, "gone", "public", 0)
	mustAssign(t, q, 10)
	// As if its hash had expired.
	if err := r.Client.Del(ctx, q.convKey("gone")).Err(); err != nil {
		t.Fatal(err)
	}
	clk.Set(at(31 * time.Second))
	if res := mustSweep(t, q); len(res.OffersExpired) != 0 {
		t.Errorf("Sweep() = %+v, want no offer expired: the conversation is gone", res)
	}
	if st := mustAdvisorStatus(t, q, "ann"); len(st.Offered) != 0 {
		t.Errorf("ann's offers = %q, want none", st.Offered)
	}
	if n := missedOffers(t, q, "ann"); n != 0 {
		t.Errorf("ann missed %d offers, want 0", n)
	}
	mustEnqueue(t, q, "c1", "public", 0)
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c1>ann"}; !slices.Equal(got, want) {
		t.Errorf("Assign = %q, want %q: ann has room", got, want)
	}
}
