package web

// The funder report: anonymous counts for a month or a range of days, as
// CSV or as a printable page, for supervisors only. It reads the daily
// counts routing keeps (routing.ReportDays: counters per day, 400 days,
// never a row per conversation) and adds them up; nothing in it
// identifies a conversation.

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/advicechat/advicechat/routing"
)

// reportMaxDays is the longest range one report covers: the days kept.
const reportMaxDays = int(routing.ReportKeep / (24 * time.Hour))

// report is the sums over a range of days.
type report struct {
	From, To string
	// Started by audience, then language.
	Started map[string]map[string]int64
	// StartedTotal is all of Started.
	StartedTotal int64
	Urgent       int64
	Answered     int64
	// Waits are the first waits for an advisor per bucket of
	// routing.WaitBuckets (the last: longer than all).
	Waits []int64
	// Median and P90 are the bucket indexes the median and the 90th
	// percentile of Waits fall in; -1 without waits.
	Median, P90      int
	AbandonedWaiting int64
	AbandonedActive  int64
	LeftWaiting      int64
	// Questions left while the chat was closed or busy, and answered.
	QuestionsLeft, QuestionsAnswered int64
	// Outcomes by tag, the configured ones first; Feedback by rating 1-5.
	Outcomes []reportCount
	Feedback [5]int64
}

type reportCount struct {
	Name  string
	Count int64
}

// parseReportRange reads the range of a report request: month=YYYY-MM, or
// from= and to= (YYYY-MM-DD, both days included, at most
// reportMaxDays). msg says what is wrong, "" if nothing.
func parseReportRange(c *echo.Context) (from, to time.Time, msg string) {
	month, f, t := c.QueryParam("month"), c.QueryParam("from"), c.QueryParam("to")
	switch {
	case month != "" && (f != "" || t != ""):
		return from, to, "give either month or from and to, not both"
	case month != "":
		m, err := time.Parse("2006-01", month)
		if err != nil {
			return from, to, fmt.Sprintf("month %q is not a month like 2026-11", month)
		}
		return m, m.AddDate(0, 1, -1), ""
	case f == "" || t == "":
		return from, to, "give month (2026-11) or from and to (2026-11-01, 2026-11-30)"
	}
	var err error
	if from, err = time.Parse(time.DateOnly, f); err != nil {
		return from, to, fmt.Sprintf("from %q is not a date like 2026-11-01", f)
	}
	if to, err = time.Parse(time.DateOnly, t); err != nil {
		return from, to, fmt.Sprintf("to %q is not a date like 2026-11-30", t)
	}
	if to.Before(from) {
		return from, to, fmt.Sprintf("from %s is after to %s", f, t)
	}
	if days := int(to.Sub(from)/(24*time.Hour)) + 1; days > reportMaxDays {
		return from, to, fmt.Sprintf("%d days: a report covers at most %d (the counts are kept that long)", days, reportMaxDays)
	}
	return from, to, ""
}

// sumReport adds up days of counts.
func sumReport(days []routing.ReportDay, tags []string) report {
	r := report{Started: map[string]map[string]int64{}, Waits: make([]int64, len(routing.WaitBuckets)+1), Median: -1, P90: -1}
	if len(days) > 0 {
		r.From, r.To = days[0].Date, days[len(days)-1].Date
	}
	outcomes := map[string]int64{}
	for _, t := range tags {
		outcomes[t] = 0
	}
	for _, d := range days {
		for k, n := range d.Counts {
			kind, rest, _ := strings.Cut(k, ":")
			switch kind {
			case "started":
				aud, lang, _ := strings.Cut(rest, ":")
				if r.Started[aud] == nil {
					r.Started[aud] = map[string]int64{}
				}
				r.Started[aud][lang] += n
				r.StartedTotal += n
			case routing.FieldUrgent:
				r.Urgent += n
			case routing.FieldAnswered:
				r.Answered += n
			case routing.FieldLeft:
				r.LeftWaiting += n
			case routing.FieldQuestionLeft:
				r.QuestionsLeft += n
			case routing.FieldQuestionAnswered:
				r.QuestionsAnswered += n
			case "wait":
				if i, err := strconv.Atoi(rest); err == nil && i >= 0 && i < len(r.Waits) {
					r.Waits[i] += n
				}
			case "abandoned":
				if rest == routing.StatusActive {
					r.AbandonedActive += n
				} else {
					r.AbandonedWaiting += n
				}
			case "outcome":
				outcomes[rest] += n
			case "feedback":
				if i, err := strconv.Atoi(rest); err == nil && i >= 1 && i <= 5 {
					r.Feedback[i-1] += n
				}
			}
		}
	}
	r.Median, r.P90 = quantileBucket(r.Waits, 0.5), quantileBucket(r.Waits, 0.9)
	for _, t := range tags {
		r.Outcomes = append(r.Outcomes, reportCount{t, outcomes[t]})
		delete(outcomes, t)
	}
	// Tags no longer configured, still counted on those days.
	var old []string
	for t := range outcomes {
		old = append(old, t)
	}
	slices.Sort(old)
	for _, t := range old {
		r.Outcomes = append(r.Outcomes, reportCount{t, outcomes[t]})
	}
	return r
}

// quantileBucket is the index of the bucket the q quantile falls in: the
// first whose running total reaches q of all; -1 for no counts.
func quantileBucket(counts []int64, q float64) int {
	var total int64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return -1
	}
	need := int64(q*float64(total) + 0.999999)
	need = max(need, 1)
	var run int64
	for i, n := range counts {
		run += n
		if run >= need {
			return i
		}
	}
	return len(counts) - 1
}

// waitLabel names a wait bucket in CSV: "<=120s", or ">3600s" for the
// last.
func waitLabel(i int) string {
	if i < 0 {
		return ""
	}
	if i >= len(routing.WaitBuckets) {
		return fmt.Sprintf(">%ds", int(routing.WaitBuckets[len(routing.WaitBuckets)-1].Seconds()))
	}
	return fmt.Sprintf("<=%ds", int(routing.WaitBuckets[i].Seconds()))
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// csv writes the report as section,item,count rows.
func (r report) csv() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	row := func(section, item string, n any) { _ = w.Write([]string{section, item, fmt.Sprint(n)}) }
	_ = w.Write([]string{"section", "item", "count"})
	row("range", "from", r.From)
	row("range", "to", r.To)
	for _, aud := range sortedKeys(r.Started) {
		for _, lang := range sortedKeys(r.Started[aud]) {
			row("started", aud+"/"+lang, r.Started[aud][lang])
		}
	}
	row("started", "total", r.StartedTotal)
	row("urgent", "total", r.Urgent)
	row("answered", "total", r.Answered)
	row("wait", "median", waitLabel(r.Median))
	row("wait", "p90", waitLabel(r.P90))
	for i, n := range r.Waits {
		row("wait", waitLabel(i), n)
	}
	row("abandoned", "waiting", r.AbandonedWaiting)
	row("abandoned", "active", r.AbandonedActive)
	row("left", "waiting", r.LeftWaiting)
	row("questions", "left", r.QuestionsLeft)
	row("questions", "answered", r.QuestionsAnswered)
	for _, o := range r.Outcomes {
		row("outcome", o.Name, o.Count)
	}
	for i, n := range r.Feedback {
		row("feedback", strconv.Itoa(i+1), n)
	}
	w.Flush()
	return b.Bytes()
}

// reportPage is the printable report's template data.
type reportPage struct {
	page
	R report
	// Rows of the started table, and the wait texts.
	Rows          []reportRow
	Median, P90   string
	WaitRows      []reportCount
	FeedbackRows  []reportCount
	Query         string
	LanguageNames map[string]string
}

type reportRow struct {
	Audience, Language string
	Count              int64
}

// supervisorReport serves GET /advisor/supervisor/report: the printable
// page, or with format=csv the CSV download. Bad input is a 400 that says
// what is wrong; the report reads only.
func (s *Server) supervisorReport(c *echo.Context) error {
	if _, ok, err := s.supervisorRequest(c); !ok {
		return err
	}
	format := c.QueryParam("format")
	if format != "" && format != "csv" && format != "html" {
		return echo.NewHTTPError(http.StatusBadRequest, "format must be csv or html")
	}
	from, to, msg := parseReportRange(c)
	if msg != "" {
		return echo.NewHTTPError(http.StatusBadRequest, msg)
	}
	days, err := s.queue.ReportDays(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	r := sumReport(days, s.cfg.OutcomeTags)
	if format == "csv" {
		name := fmt.Sprintf("advicechat-report-%s-%s.csv", r.From, r.To)
		c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", r.csv())
	}
	lang := s.pages.language(c.Request())
	p := reportPage{page: s.pages.data(lang), R: r, LanguageNames: languageNames}
	minutes := func(i int) string {
		t := p.T
		switch {
		case i < 0:
			return t["report.wait.none"]
		case i >= len(routing.WaitBuckets):
			return strings.ReplaceAll(t["report.wait.over"], "{minutes}", strconv.Itoa(int(routing.WaitBuckets[len(routing.WaitBuckets)-1].Minutes())))
		}
		b := routing.WaitBuckets[i]
		if b < time.Minute {
			return strings.ReplaceAll(t["report.wait.seconds"], "{seconds}", strconv.Itoa(int(b.Seconds())))
		}
		return strings.ReplaceAll(t["report.wait.at_most"], "{minutes}", strconv.Itoa(int(b.Minutes())))
	}
	p.Median, p.P90 = minutes(r.Median), minutes(r.P90)
	for i, n := range r.Waits {
		p.WaitRows = append(p.WaitRows, reportCount{minutes(i), n})
	}
	for i, n := range r.Feedback {
		p.FeedbackRows = append(p.FeedbackRows, reportCount{strconv.Itoa(i + 1), n})
	}
	for _, aud := range sortedKeys(r.Started) {
		for _, l := range sortedKeys(r.Started[aud]) {
			p.Rows = append(p.Rows, reportRow{aud, l, r.Started[aud][l]})
		}
	}
	p.Query = "from=" + r.From + "&to=" + r.To
	var buf bytes.Buffer
	if err := s.pages.tmpl.ExecuteTemplate(&buf, "report.html", p); err != nil {
		return fmt.Errorf("render report.html: %w", err)
	}
	c.Response().Header().Set("Content-Language", lang)
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// countReport adds fields to today's report counts after the event they
// count has happened; a failure is logged, never the visitor's or the
// advisor's problem.
func (s *Server) countReport(ctx context.Context, fields ...string) {
	if err := s.queue.Tally(ctx, fields...); err != nil && ctx.Err() == nil {
		s.log.Warn("report: count", "err", err)
	}
}
