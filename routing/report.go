package routing

// Daily counts for the funder report: how many conversations started (by
// audience and language), were urgent, got an advisor and after what
// wait, were abandoned, and how they ended (outcome tags, feedback). One
// Redis hash per day ({rt}:day:<date>) of counters, kept ReportKeep (400
// days); never a row per conversation, never an id, a name or a time of
// day. Counted where the events happen, just after the routing step they
// follow: an instance that dies in between loses that one count.

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/tally.lua
var tallyLua string

var tallyScript = script(tallyLua)

// ReportKeep is how long a day's counts are kept: a year and a month, so
// a report on the last full year can always be made.
const ReportKeep = 400 * 24 * time.Hour

// WaitBuckets are the upper bounds of the report's wait histogram; a wait
// longer than the last is counted in the bucket "over" it. Median and
// 90th percentile are read from it as the bound of the bucket they fall
// in ("at most 5 minutes").
var WaitBuckets = []time.Duration{
	30 * time.Second, time.Minute, 2 * time.Minute, 3 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	15 * time.Minute, 20 * time.Minute, 30 * time.Minute, 45 * time.Minute, time.Hour,
}

// Report fields, in a day's hash. Started, Outcome, Feedback and Abandoned
// take a suffix (see the functions).
const (
	FieldUrgent   = "urgent"
	FieldAnswered = "answered"
	FieldLeft     = "left_waiting" // the visitor ended it while waiting
	// Questions left while the chat was closed or busy (replies too), and
	// answered.
	FieldQuestionLeft     = "questions_left"
	FieldQuestionAnswered = "questions_answered"
)

// FieldStarted counts conversations started in an audience and language.
func FieldStarted(audience, lang string) string { return "started:" + audience + ":" + lang }

// FieldAbandoned counts conversations whose visitor stayed away, by state
// then (waiting or active).
func FieldAbandoned(state string) string { return "abandoned:" + state }

// FieldOutcome counts an outcome tag given at the end.
func FieldOutcome(tag string) string { return "outcome:" + tag }

// FieldFeedback counts a feedback rating (1 to 5).
func FieldFeedback(rating int) string { return "feedback:" + strconv.Itoa(rating) }

// FieldWait counts a first wait in bucket i of WaitBuckets
// (len(WaitBuckets): longer than the last).
func FieldWait(i int) string { return "wait:" + strconv.Itoa(i) }

// waitBucket is the bucket of WaitBuckets that d falls in.
func waitBucket(d time.Duration) int {
	for i, b := range WaitBuckets {
		if d <= b {
			return i
		}
	}
	return len(WaitBuckets)
}

// zone is the time zone the report's days are counted in.
func (q *Queue) zone() *time.Location {
	if q.cfg.ReportZone != nil {
		return q.cfg.ReportZone
	}
	return time.UTC
}

// dayKey is the report hash of the day t falls on.
func (q *Queue) dayKey(t time.Time) string {
	return q.p + "day:" + t.In(q.zone()).Format(time.DateOnly)
}

// Tally counts each field once on today's report.
func (q *Queue) Tally(ctx context.Context, fields ...string) error {
	if len(fields) == 0 {
		return nil
	}
	return q.tally(ctx, "", fields)
}

func (q *Queue) tally(ctx context.Context, conversation string, fields []string) error {
	keys := []string{q.dayKey(q.cfg.Now())}
	if conversation != "" {
		keys = append(keys, q.convKey(conversation))
	}
	args := q.args(seconds(ReportKeep))
	for _, f := range fields {
		args = append(args, f)
	}
	if err := tallyScript.Run(ctx, q.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("report count: %w", err)
	}
	return nil
}

// reportAnswered counts a conversation's first advisor and how long it
// had waited for them; later ones (after a requeue) are not counted
// again. It follows a routing step that has happened: a failure is
// logged, not returned.
func (q *Queue) reportAnswered(ctx context.Context, a Assignment) {
	if a.Enqueued.IsZero() || a.Assigned.IsZero() || a.Advisor == "" {
		return
	}
	err := q.tally(ctx, a.Conversation, []string{FieldAnswered, FieldWait(waitBucket(a.Assigned.Sub(a.Enqueued)))})
	if err != nil {
		q.log().Warn("report: count an answered conversation", "err", err)
	}
}

// report counts fields after a routing step that has happened; a failure
// is logged, not returned.
func (q *Queue) report(ctx context.Context, fields ...string) {
	if err := q.tally(ctx, "", fields); err != nil {
		q.log().Warn("report: count", "err", err)
	}
}

func (q *Queue) log() *slog.Logger {
	if q.cfg.Log != nil {
		return q.cfg.Log
	}
	return slog.Default()
}

// ReportDay is one day's counts: field to count.
type ReportDay struct {
	Date   string // YYYY-MM-DD, in Config.ReportZone
	Counts map[string]int64
}

// ReportDays reads the counts of the days from and to (both included,
// dates in Config.ReportZone), in one round trip. Days without counts
// come back empty.
func (q *Queue) ReportDays(ctx context.Context, from, to time.Time) ([]ReportDay, error) {
	from = time.Date(from.Year(), from.Month(), from.Day(), 12, 0, 0, 0, q.zone())
	to = time.Date(to.Year(), to.Month(), to.Day(), 12, 0, 0, 0, q.zone())
	if to.Before(from) {
		return nil, errors.New("report: the first day is after the last")
	}
	pipe := q.rdb.Pipeline()
	var days []ReportDay
	var cmds []*redis.MapStringStringCmd
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		days = append(days, ReportDay{Date: d.Format(time.DateOnly), Counts: map[string]int64{}})
		cmds = append(cmds, pipe.HGetAll(ctx, q.dayKey(d)))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("report: %w", err)
	}
	for i, c := range cmds {
		for k, v := range c.Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil && !strings.ContainsAny(k, " \n") {
				days[i].Counts[k] = n
			}
		}
	}
	return days, nil
}
