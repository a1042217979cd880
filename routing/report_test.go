package routing

import (
	"context"
	"testing"
	"time"
)

// TestReportCounts: answered conversations and their first wait are
// counted once each, however often they go back to the queue, whether
// assigned, accepted or picked; abandonments by state, and visitors who
// left while waiting; all on the day in the report's zone, in a hash that
// expires after ReportKeep and holds no id.
func TestReportCounts(t *testing.T) {
	ctx := context.Background()
	zone := time.FixedZone("UTC+13", 13*3600) // t0 is 08:26 UTC, 21:26 there
	q, r, clk := mustQueue(t, Config{ReportZone: zone, VisitorGrace: time.Hour, AdvisorGrace: 3 * time.Hour})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 5, Audiences: []string{"public"}})
	mustEnqueue(t, q, "c1", "public", 1)
	clk.Set(at(90 * time.Second)) // c1 waited 1m30s: bucket "at most 2m"
	mustAssign(t, q, 5)
	// Back to the queue and taken again: not counted again.
	mustOffDuty(t, q, "ann")
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 5, Audiences: []string{"public"}})
	clk.Set(at(20 * time.Minute))
	if as := mustAssign(t, q, 5); len(as) != 1 {
		t.Fatalf("reassigned %v", pairs(as))
	}
	// Picked by hand after 4 minutes: bucket "at most 5m".
	mustEnqueue(t, q, "c2", "professional", 1)
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"professional"}, Languages: []string{"en"}})
	clk.Set(at(24 * time.Minute))
	mustPick(t, q, "c2", "bob")
	// One leaves while waiting, one is abandoned while waiting, c1 while active.
	mustEnqueue(t, q, "c3", "public", 0)
	mustRelease(t, q, "c3", StatusWaiting, "", true)
	if _, err := q.ReleaseBy(ctx, "c2", "bob", "advisor"); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, q, "c4", "public", 0) // waits: nobody assigns it
	if err := q.TouchVisitors(ctx, "c4"); err != nil {
		t.Fatal(err)
	}
	clk.Set(at(90 * time.Minute))
	if res := mustSweep(t, q); len(res.Abandoned) != 2 {
		t.Fatalf("abandoned %v, want c1 and c4", res.Abandoned)
	}
	if err := q.Tally(ctx, FieldStarted("public", "nl"), FieldUrgent, FieldOutcome("advice-given")); err != nil {
		t.Fatal(err)
	}

	day := at(0).In(zone)
	days, err := q.ReportDays(ctx, day.AddDate(0, 0, -1), day)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || days[1].Date != day.Format(time.DateOnly) || len(days[0].Counts) != 0 {
		t.Fatalf("ReportDays = %+v, want an empty day and %s", days, day.Format(time.DateOnly))
	}
	want := map[string]int64{
		FieldAnswered: 2, FieldWait(waitBucket(90 * time.Second)): 1, FieldWait(waitBucket(4 * time.Minute)): 1,
		FieldLeft: 1, FieldAbandoned(StatusWaiting): 1, FieldAbandoned(StatusActive): 1,
		FieldStarted("public", "nl"): 1, FieldUrgent: 1, FieldOutcome("advice-given"): 1,
	}
	got := days[1].Counts
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("counts %v, want exactly %v", got, want)
	}
	if waitBucket(90*time.Second) == waitBucket(4*time.Minute) {
		t.Fatal("the test's waits fall in one bucket")
	}
	key := q.p + "day:" + day.Format(time.DateOnly)
	if ttl := r.Client.TTL(ctx, key).Val(); ttl < ReportKeep-time.Minute || ttl > ReportKeep {
		t.Errorf("TTL(%s) = %s, want %s", key, ttl, ReportKeep)
	}
}
