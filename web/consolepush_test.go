package web

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
)

// The queue frame is put together from parts encoded once for every
// console; it must decode to what encoding the whole frame for one
// console gives, whoever it is for.
func TestConsoleViewQueueFrame(t *testing.T) {
	now := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	ov := routing.Overview{
		Queues: []routing.QueueOverview{{Name: "public", Waiting: 2, Oldest: now.Add(-90 * time.Second)}, {Name: "professional"}},
		Waiting: []routing.WaitingConversation{
			{ID: "c1", Queue: "public", Lang: "nl", Enqueued: now.Add(-90 * time.Second), Position: 1},
			{ID: "c2", Queue: "public", Lang: "ar", Priority: routing.PriorityUrgent, Enqueued: now.Add(-5 * time.Second), Position: 2},
		},
		Advisors: []routing.AdvisorOverview{
			{Name: "anna", Alias: "Anna", Duty: true, Capacity: 3, Conversations: []string{"c9"}, Offers: []string{"c8"}},
			{Name: "bram", Alias: "Bram", Duty: false, Capacity: 2},
			{Name: "cem", Alias: "Cem \"C\" <b>", Duty: true, Capacity: 1},
		},
	}
	v := newConsoleView(ov, now)
	qv := queueView{now: now}
	for _, tc := range []struct {
		self   string
		others []protocol.Colleague
	}{
		{"anna", []protocol.Colleague{{Name: "cem", Alias: "Cem \"C\" <b>", Capacity: 1}}},
		{"bram", []protocol.Colleague{{Name: "anna", Alias: "Anna", Load: 2, Capacity: 3}, {Name: "cem", Alias: "Cem \"C\" <b>", Capacity: 1}}},
		{"cem", []protocol.Colleague{{Name: "anna", Alias: "Anna", Load: 2, Capacity: 3}}},
		{"someone-else", []protocol.Colleague{{Name: "anna", Alias: "Anna", Load: 2, Capacity: 3}, {Name: "cem", Alias: "Cem \"C\" <b>", Capacity: 1}}},
	} {
		var got, want protocol.Queue
		if err := json.Unmarshal(v.queueFrame(tc.self), &got); err != nil {
			t.Fatalf("%s: %v in %s", tc.self, err, v.queueFrame(tc.self))
		}
		b, _ := json.Marshal(protocol.Queue{Type: protocol.TypeQueue, Queues: qv.queues(ov, false), Waiting: qv.waiting(ov, queueViewDepth), Advisors: tc.others})
		_ = json.Unmarshal(b, &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("frame for %s:\n got %+v\nwant %+v", tc.self, got, want)
		}
	}

	// Nobody on duty but the console's own advisor: an empty list.
	alone := newConsoleView(routing.Overview{Advisors: ov.Advisors[:1]}, now)
	var f map[string]any
	if err := json.Unmarshal(alone.queueFrame("anna"), &f); err != nil {
		t.Fatal(err)
	}
	if l, ok := f["advisors"].([]any); !ok || len(l) != 0 {
		t.Errorf("advisors %v, want an empty list", f["advisors"])
	}

	st, ok := v.status("anna")
	if !ok || !st.Duty || st.Capacity != 3 || len(st.Conversations) != 1 || len(st.Offered) != 1 {
		t.Errorf("anna's status %+v, %v", st, ok)
	}
	if _, ok := v.status("someone-else"); ok {
		t.Error("an advisor the overview does not list has a status in it")
	}
}
