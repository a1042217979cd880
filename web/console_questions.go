package web

// The console's questions view: the questions visitors left while the
// chat was closed or busy, per audience and language, oldest first; take
// one, answer it, or give it back.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/questions"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
)

// Audit actions of the questions view.
const (
	auditQuestionTaken    = "question_taken"
	auditQuestionAnswered = "question_answered"
)

// question handles the questions view's frames.
func (a *advisor) question(typ string, data []byte) {
	switch typ {
	case protocol.TypeQuestionAnswer:
		var f protocol.QuestionAnswer
		if err := json.Unmarshal(data, &f); err != nil {
			a.sock.SendError(protocol.CodeBadRequest, "question_answer needs question and text", "", "")
			return
		}
		a.answerQuestion(f)
	default:
		var f protocol.QuestionTarget
		_ = json.Unmarshal(data, &f)
		if typ == protocol.TypeQuestionTake {
			a.takeQuestion(f.Question)
		} else {
			a.releaseQuestion(f.Question)
		}
	}
}

// questionError refuses a question frame; the error frame names the
// question in its id field.
func (a *advisor) questionError(err error, id string) {
	switch {
	case errors.Is(err, questions.ErrTaken):
		a.sock.SendError(protocol.CodeQuestionTaken, "another advisor is answering this question", id, "")
	case errors.Is(err, questions.ErrGone):
		a.sock.SendError(protocol.CodeNotFound, "no such question; it has been answered or has expired", id, "")
	default:
		a.internalFor(err, id, "")
	}
}

// skilled reports whether the advisor's account has the question's
// audience and language.
func (a *advisor) skilled(q questions.Question) bool {
	a.mu.Lock()
	acct := a.acct
	a.mu.Unlock()
	if fresh, ok := a.srv.accounts.Lookup(a.name); ok {
		acct = fresh
	}
	return slices.Contains(acct.Audiences, q.Audience) && slices.Contains(acct.Languages, q.Lang)
}

func (a *advisor) takeQuestion(id string) {
	if !a.authorized(id, "") {
		return
	}
	if !chat.ValidID(id) {
		a.sock.SendError(protocol.CodeBadRequest, "question_take needs a question id", id, "")
		return
	}
	ctx := a.sock.Ctx()
	q, err := a.srv.questions.store.Get(ctx, id)
	if err != nil {
		a.questionError(err, id)
		return
	}
	if !a.skilled(q) {
		a.sock.SendError(protocol.CodeNotSkilled, "this question's audience or language is not among your skills", id, "")
		return
	}
	q, err = a.srv.questions.store.Take(ctx, id, a.name, a.srv.now(), questionLease)
	if err != nil {
		a.questionError(err, id)
		return
	}
	a.srv.audit(auditQuestionTaken, a.name, "question", id)
	a.sock.Send(protocol.Question{
		Type: protocol.TypeQuestion, ID: q.ID, Audience: q.Audience, Lang: q.Lang, Text: q.Text,
		Left: q.Left.UnixMilli(), Reply: q.Reply, Until: q.Until.UnixMilli(), Earlier: a.srv.earlierParts(ctx, q),
	})
}

func (a *advisor) releaseQuestion(id string) {
	if !a.authorized(id, "") {
		return
	}
	if !chat.ValidID(id) {
		a.sock.SendError(protocol.CodeBadRequest, "question_release needs a question id", id, "")
		return
	}
	ok, err := a.srv.questions.store.Release(a.sock.Ctx(), id, a.name)
	if err != nil {
		a.internalFor(err, id, "")
		return
	}
	if !ok {
		a.sock.SendError(protocol.CodeNotFound, "not a question you are answering", id, "")
	}
}

// answerQuestion seals the question and the answer under the visitor's
// return code, and only then removes the question.
func (a *advisor) answerQuestion(f protocol.QuestionAnswer) {
	if !a.authorized(f.Question, "") {
		return
	}
	if !chat.ValidID(f.Question) {
		a.sock.SendError(protocol.CodeBadRequest, "question_answer needs a question id", f.Question, "")
		return
	}
	if f.BadText {
		a.sock.SendError(protocol.CodeBadUTF8, chat.ErrBadUTF8.Error(), f.Question, "")
		return
	}
	text, err := chat.CleanText(f.Text)
	if code, msg, ok := protocol.Refusal(err); ok {
		a.sock.SendError(code, msg, f.Question, "")
		return
	}
	ctx := a.sock.Ctx()
	now := a.srv.now()
	q, err := a.srv.questions.store.Get(ctx, f.Question)
	switch {
	case err != nil:
		a.questionError(err, f.Question)
		return
	case q.HeldByOther(a.name, now):
		a.questionError(questions.ErrTaken, f.Question)
		return
	case !q.TakenBy(a.name, now):
		a.sock.SendError(protocol.CodeBadRequest, "take the question before answering it", f.Question, "")
		return
	}
	_, alias := a.currentAlias()
	// Once sealed, the rest must happen even if the console goes.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.srv.sealAnswer(wctx, q, a.name, alias, text, now); err != nil {
		a.internalFor(err, f.Question, "")
		return
	}
	found, err := a.srv.questions.store.Finish(wctx, q)
	if err != nil {
		// Sealed: the plaintext goes with its TTL if not now.
		a.sock.Log().Error("remove an answered question", "err", err)
	}
	if found {
		a.srv.countReport(wctx, routing.FieldQuestionAnswered)
		a.srv.questions.answered.Inc()
		a.srv.questions.toAnswer.Observe(now.Sub(q.Left).Seconds())
	}
	a.srv.audit(auditQuestionAnswered, a.name, "question", q.ID)
	a.sock.Send(protocol.QuestionAnswered{Type: protocol.TypeQuestionAnswered, Question: q.ID})
}

// refreshQuestions sends the questions view if it changed: every
// audience and language's count, and the questions this advisor may
// answer, those for them first, then oldest first. Writer goroutine.
func (a *advisor) refreshQuestions(ctx context.Context) {
	idx, err := a.srv.questions.store.Open(ctx, questionViewDepth)
	if err != nil {
		if ctx.Err() == nil {
			a.sock.Log().Warn("read the questions", "err", err)
		}
		return
	}
	now := a.srv.now()
	v := queueView{now: now}
	f := protocol.Questions{Type: protocol.TypeQuestions, Counts: countsOf(idx, now), Questions: []protocol.QuestionItem{}}
	for _, i := range idx {
		// Within each audience and language, oldest first, those for
		// this advisor before the rest.
		var forYou, rest []protocol.QuestionItem
		for _, q := range i.Questions {
			if !a.skilled(q) {
				continue
			}
			it := protocol.QuestionItem{
				ID: q.ID, Audience: q.Audience, Lang: q.Lang, Waited: v.secs(q.Left), Reply: q.Reply,
				ForYou: q.Prefer == a.name, Taken: q.HeldByOther(a.name, now), Mine: q.TakenBy(a.name, now),
			}
			if it.ForYou {
				forYou = append(forYou, it)
			} else {
				rest = append(rest, it)
			}
		}
		f.Questions = append(append(f.Questions, forYou...), rest...)
	}
	b, _ := json.Marshal(f)
	if string(b) == string(a.lastQuestions) {
		return
	}
	a.lastQuestions = b
	a.sock.Write(b)
}
