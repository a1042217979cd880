package web

// Questions left while the chat is closed or very busy: the visitor's
// POST /question, what POST /return shows of open ones, sealing an answer
// under the visitor's return code, the sweep that counts the expired and
// the metrics. The console's side is console_questions.go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/keep"
	"github.com/advicechat/advicechat/chat/questions"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/auth"
	"github.com/advicechat/advicechat/web/protocol"
	"github.com/advicechat/advicechat/web/socket"
)

const (
	// DefaultQuestionKeep is how long an unanswered question is kept.
	DefaultQuestionKeep = 14 * 24 * time.Hour
	// questionLease is how long a take holds a question for its advisor;
	// after it, another may take it.
	questionLease = time.Hour
	// questionViewDepth is how many of each audience and language's
	// oldest questions the console lists.
	questionViewDepth = 50
	// maxQuestionBody bounds POST /question: 4000 characters, each
	// written as the longest JSON escape, fit.
	maxQuestionBody = 64 << 10
)

// questionDesk is the server's part for questions.
type questionDesk struct {
	store *questions.Store
	// limit counts new questions and replies per client key, as starts
	// are counted.
	limit *startLimiter

	left     *prometheus.CounterVec
	answered prometheus.Counter
	expired  prometheus.Counter
	toAnswer prometheus.Histogram
}

func newQuestionDesk(s *Server, d Deps) *questionDesk {
	keepFor := s.cfg.QuestionKeep
	if keepFor <= 0 {
		keepFor = DefaultQuestionKeep
	}
	s.cfg.QuestionKeep = keepFor
	q := &questionDesk{
		store: questions.New(d.Redis, questions.Options{Prefix: s.cfg.KeyPrefix, Keep: keepFor, Audiences: []string{chat.AudiencePublic, chat.AudienceProfessional}, Langs: s.pages.langs}),
		limit: newStartLimiter(s.starts.keyer, s.cfg.StartsPerClient),
		left: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_questions_left_total",
			Help: "Questions visitors left while the chat was closed or busy, by kind: new (with a new return code) or reply (under one they had).",
		}, []string{"kind"}),
		answered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_questions_answered_total",
			Help: "Questions advisors answered.",
		}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advicechat_questions_expired_total",
			Help: "Questions that expired unanswered (ADVICECHAT_QUESTION_KEEP), counted once across instances.",
		}),
		toAnswer: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "advicechat_question_answer_seconds",
			Help:    "Time from leaving a question to its answer.",
			Buckets: []float64{300, 900, 1800, 3600, 3 * 3600, 8 * 3600, 24 * 3600, 2 * 86400, 4 * 86400, 7 * 86400, 14 * 86400},
		}),
	}
	d.Registry.MustRegister(q.left, q.answered, q.expired, q.toAnswer)
	q.left.WithLabelValues("new")
	q.left.WithLabelValues("reply")
	return q
}

func (s *Server) questionRoutes(e *echo.Echo) {
	e.POST("/question", s.leaveQuestion)
}

// questionRefusal answers a refused POST /question and counts it.
func (s *Server) questionRefusal(c *echo.Context, status int, code protocol.Code, msg string) error {
	s.metrics.Rejected(socket.RoleVisitor, code)
	return c.JSON(status, protocol.APIError{Error: code, Message: msg})
}

type questionRequest struct {
	Audience string          `json:"audience"`
	Lang     string          `json:"lang"`
	Text     json.RawMessage `json:"text"`
	Code     *string         `json:"code"`
}

// questionLeft answers POST /question.
type questionLeft struct {
	// Code is the new return code, shown once; absent for a reply.
	Code string `json:"code,omitempty"`
	// NextOpening is when the chat opens next (RFC 3339), if closed.
	NextOpening string `json:"next_opening,omitempty"`
}

// leaveQuestion takes a question: POST /question (docs/protocol.md). A new
// one is taken outside opening hours and when the chat is busy; a reply
// under a return code at any time.
func (s *Server) leaveQuestion(c *echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxQuestionBody)
	var f questionRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return s.questionRefusal(c, http.StatusBadRequest, protocol.CodeBadJSON, "the body must be a JSON object with audience, lang, text and, for a reply, code (at most 64 KiB)")
	}
	if err := chat.ValidAudience(f.Audience); err != nil {
		return s.questionRefusal(c, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
	}
	if !s.pages.supports(f.Lang) {
		return s.questionRefusal(c, http.StatusBadRequest, protocol.CodeBadRequest, fmt.Sprintf("lang must be one of %v", s.pages.langs))
	}
	if len(f.Text) == 0 || string(f.Text) == "null" {
		return s.questionRefusal(c, http.StatusBadRequest, protocol.CodeEmpty, chat.ErrEmptyText.Error())
	}
	// Checked on the raw field: encoding/json would turn invalid bytes
	// into U+FFFD.
	if !protocol.ValidJSONString(f.Text) {
		return s.questionRefusal(c, http.StatusBadRequest, protocol.CodeBadUTF8, chat.ErrBadUTF8.Error())
	}
	var raw string
	if err := json.Unmarshal(f.Text, &raw); err != nil {
		return s.questionRefusal(c, http.StatusBadRequest, protocol.CodeBadRequest, "text must be a string")
	}
	text, err := chat.CleanText(raw)
	if code, msg, ok := protocol.Refusal(err); ok {
		return s.questionRefusal(c, http.StatusBadRequest, code, msg)
	}
	reply := f.Code != nil
	ctx := r.Context()
	now := s.now()
	open := s.hours.Open(now)
	if open && !reply {
		busy, err := s.busyFor(ctx, routing.Need{Audience: f.Audience, Lang: f.Lang})
		if err != nil {
			return err
		}
		if !busy {
			return s.questionRefusal(c, http.StatusConflict, protocol.CodeChatOpen, "the chat is open: start a conversation instead")
		}
	}
	var key string
	var blockKeys senderKeys
	if addr := auth.ClientAddr(r, s.cfg.TrustedProxies); addr != "" {
		key, blockKeys = s.starts.keyer.Key(addr), s.blocks.keys(addr)
	}
	blocked, err := s.blocks.blocked(ctx, blockKeys)
	if err != nil {
		return err
	}
	if blocked {
		return s.questionRefusal(c, http.StatusForbidden, protocol.CodeUnavailable, "this chat cannot take a question from you now; in danger call 112")
	}
	// Before the code is looked up: guessing codes costs what leaving
	// questions costs.
	if !s.questions.limit.allow(key) {
		return s.questionRefusal(c, http.StatusTooManyRequests, protocol.CodeRateLimited, "too many questions; wait a few minutes")
	}
	q := questions.Question{Audience: f.Audience, Lang: f.Lang, Text: text, Left: now}
	var out questionLeft
	if reply {
		// A reply is a code attempt too.
		if !s.codes.allow(key) {
			return s.questionRefusal(c, http.StatusTooManyRequests, protocol.CodeRateLimited, "too many code attempts; wait a few minutes")
		}
		k, thread, err := s.vault.Open(ctx, *f.Code)
		if errors.Is(err, keep.ErrUnknown) {
			return s.questionRefusal(c, http.StatusNotFound, protocol.CodeUnknownCode, keep.ErrUnknown.Error())
		}
		if err != nil {
			return err
		}
		q.Keys, q.Lookup, q.Reply, q.Prefer = k.Encode(), k.Lookup, len(thread.Parts) > 0, thread.Advisor
	} else {
		code := keep.NewCode()
		k := code.Keys()
		// The code is known from now on: an empty thread, so that coming
		// back before the answer opens it and shows the open question.
		if err := s.vault.Put(ctx, k, keep.Thread{Parts: []keep.Part{}, Audience: f.Audience, Lang: f.Lang}, s.cfg.Keep); err != nil {
			return err
		}
		q.Keys, q.Lookup = k.Encode(), k.Lookup
		out.Code = code.String()
	}
	if _, err := s.questions.store.Leave(ctx, q); err != nil {
		return err
	}
	if reply {
		s.questions.left.WithLabelValues("reply").Inc()
	} else {
		s.questions.left.WithLabelValues("new").Inc()
	}
	s.countReport(ctx, routing.FieldQuestionLeft)
	if !open {
		if at, ok := s.hours.NextOpen(now); ok {
			out.NextOpening = at.Format(time.RFC3339)
		}
	}
	return c.JSON(http.StatusOK, out)
}

// busyFor applies start's busy rule (visitor.go): the expected wait for
// need is known and longer than ADVICECHAT_BUSY_WAIT.
func (s *Server) busyFor(ctx context.Context, need routing.Need) (bool, error) {
	if s.cfg.BusyWait <= 0 {
		return false, nil
	}
	wait, known, err := s.queue.ExpectedWaitFor(ctx, need)
	if err != nil {
		return false, err
	}
	return known && wait > s.cfg.BusyWait, nil
}

// PendingQuestion is an open question under a return code, as the
// visitor who holds the code sees it: their own text, when they left it,
// and whether an advisor is answering it now.
type PendingQuestion struct {
	Text      string `json:"text"`
	At        int64  `json:"at"` // Unix ms
	Audience  string `json:"audience"`
	Lang      string `json:"lang"`
	Answering bool   `json:"answering"`
}

// pendingQuestions lists the open questions left under the code k was
// derived from, oldest first; answered ones are parts of the thread.
func (s *Server) pendingQuestions(ctx context.Context, k keep.Keys) ([]PendingQuestion, error) {
	qs, err := s.questions.store.ByLookup(ctx, k.Lookup)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []PendingQuestion{}
	for _, q := range qs {
		if q.Keys != k.Encode() {
			continue
		}
		out = append(out, PendingQuestion{Text: q.Text, At: q.Left.UnixMilli(), Audience: q.Audience, Lang: q.Lang, Answering: q.Taken != "" && q.Until.After(now)})
	}
	return out, nil
}

// sealAnswer adds the question and its answer to the thread under the
// question's code, as one part, and renews its keep. It reads and writes
// the thread in one optimistic transaction (keep.Vault.Update), so that
// two answers under one code at once, or an answer and a conversation
// ending under it, all stay.
func (s *Server) sealAnswer(ctx context.Context, q questions.Question, advisor, alias, answer string, at time.Time) error {
	k, ok := keep.DecodeKeys(q.Keys)
	if !ok {
		return fmt.Errorf("question %s holds no valid keys", q.ID)
	}
	part := keep.Part{Kind: keep.PartQuestion, Started: q.Left.UnixMilli(), Entries: []chat.Entry{
		{Seq: 1, Kind: chat.KindMessage, From: chat.FromVisitor, Text: q.Text, At: q.Left.UnixMilli()},
		{Seq: 2, Kind: chat.KindMessage, From: chat.FromAdvisor, Name: alias, Text: answer, At: at.UnixMilli()},
	}}
	return s.vault.Update(ctx, k, s.cfg.Keep, func(t *keep.Thread, _ bool) {
		t.Parts = append(t.Parts, part)
		t.Audience, t.Lang, t.Advisor = q.Audience, q.Lang, advisor
	})
}

// earlierParts reads the thread a question continues, for the advisor who
// took it; nothing if there is none (a new code's thread is empty).
func (s *Server) earlierParts(ctx context.Context, q questions.Question) []protocol.QuestionPart {
	out := []protocol.QuestionPart{}
	k, ok := keep.DecodeKeys(q.Keys)
	if !ok {
		return out
	}
	t, err := s.vault.Get(ctx, k)
	if err != nil {
		return out
	}
	for _, p := range t.Parts {
		out = append(out, protocol.QuestionPart{Kind: p.Kind, Started: p.Started, Entries: p.Entries})
	}
	return out
}

// questionCounts is every audience and language's open questions, for the
// supervisor's overview.
func (s *Server) questionCounts(ctx context.Context) ([]protocol.QuestionCount, error) {
	idx, err := s.questions.store.Open(ctx, 1)
	if err != nil {
		return nil, err
	}
	return countsOf(idx, s.now()), nil
}

func countsOf(idx []questions.Index, now time.Time) []protocol.QuestionCount {
	v := queueView{now: now}
	out := make([]protocol.QuestionCount, 0, len(idx))
	for _, i := range idx {
		c := protocol.QuestionCount{Audience: i.Audience, Lang: i.Lang, Open: max(0, i.Open)}
		if len(i.Questions) > 0 {
			c.Oldest = v.secs(i.Questions[0].Left)
		}
		out = append(out, c)
	}
	return out
}

// runQuestionSweep counts and clears the questions that expired
// unanswered until ctx ends; every instance runs it.
func (s *Server) runQuestionSweep(ctx context.Context) {
	every := max(100*time.Millisecond, min(s.cfg.Heartbeat, s.cfg.QuestionKeep/4))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.questions.store.Sweep(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("sweep questions", "err", err)
				}
				continue
			}
			s.questions.expired.Add(float64(n))
		}
	}
}
