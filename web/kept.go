package web

// Return codes: a visitor keeps a conversation under a code only they hold,
// comes back with it to read it and go on, or deletes it (chat/keep,
// docs/privacy.md, docs/protocol.md "Return codes").

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/keep"
	"github.com/advicechat/advicechat/web/auth"
	"github.com/advicechat/advicechat/web/protocol"
)

// Code attempts per client key: a burst, then one more every codeRefill.
// A person who mistypes gets a few tries; a guesser gets nowhere (2^80
// codes).
const (
	codeBurst   = 10
	codeRefill  = time.Minute
	maxCodeBody = 1 << 10
)

// keepRequest asks to keep a conversation: POST /keep.
type keepRequest struct {
	Conversation string `json:"conversation"`
	Token        string `json:"token"`
}

// codeRequest names a code: POST /return and POST /forget.
type codeRequest struct {
	Code string `json:"code"`
}

// sealingStore is the service's store: an end also seals the thread of a
// kept conversation, whichever path ends it (visitor, advisor, block,
// abandoned).
type sealingStore struct {
	chat.Store
	seal func(ctx context.Context, id string)
}

// End ends the conversation and then seals it if it is kept.
func (s sealingStore) End(ctx context.Context, id, reason string) (chat.Entry, error) {
	e, err := s.Store.End(ctx, id, reason)
	if err == nil || errors.Is(err, chat.ErrNotReplicated) {
		s.seal(ctx, id)
	}
	return e, err
}

// codeKey is the client key code attempts are counted under, or "" for a
// client nobody could name.
func (s *Server) codeKey(c *echo.Context) string {
	if addr := auth.ClientAddr(c.Request(), s.cfg.TrustedProxies); addr != "" {
		return s.codes.keyer.Key(addr)
	}
	return ""
}

// keepConversation gives the visitor a return code for their
// conversation: POST /keep. Live, the keys wait in the conversation's data
// until it ends; ended (within the retention), it is sealed at once.
func (s *Server) keepConversation(c *echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxCodeBody)
	var f keepRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return feedbackError(c, http.StatusBadRequest, string(protocol.CodeBadJSON), "the body must be a JSON object with conversation and token")
	}
	if !chat.ValidID(f.Conversation) || f.Token == "" {
		return feedbackError(c, http.StatusBadRequest, string(protocol.CodeBadRequest), "conversation and token are required")
	}
	ctx := r.Context()
	conv, err := s.store.Get(ctx, f.Conversation)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		return feedbackError(c, http.StatusNotFound, string(protocol.CodeNotFound), "no such conversation; it may have been deleted")
	case err != nil:
		return err
	case !chat.TokenMatches(f.Token, conv.TokenHash):
		return feedbackError(c, http.StatusForbidden, string(protocol.CodeUnauthorized), "token does not match the conversation")
	}
	code := keep.NewCode()
	ok, err := s.store.SetKeep(ctx, f.Conversation, code.Keys().Encode())
	if err != nil {
		return err
	}
	if !ok {
		return feedbackError(c, http.StatusConflict, string(protocol.CodeAlreadyKept), "this conversation is kept already; its code was shown when it was kept")
	}
	k := code.Keys()
	if conv.Ended {
		s.sealKept(ctx, f.Conversation)
	} else if err := s.vault.Update(ctx, k, s.cfg.Keep, func(t *keep.Thread, _ bool) {
		// Known from now on: the code opens an empty thread until the
		// conversation ends and is sealed into it.
		t.Audience, t.Lang = conv.Audience, conv.Lang
		if t.Parts == nil {
			t.Parts = []keep.Part{}
		}
	}); err != nil {
		return err
	}
	s.metrics.kept.Inc()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, struct {
		Code string `json:"code"`
	}{code.String()})
}

// openCode reads a code from the body and opens its thread, counting the
// attempt; it answers the refusal itself and returns false then.
func (s *Server) openCode(c *echo.Context) (keep.Keys, keep.Thread, bool, error) {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxCodeBody)
	var f codeRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return keep.Keys{}, keep.Thread{}, false, feedbackError(c, http.StatusBadRequest, string(protocol.CodeBadJSON), "the body must be a JSON object with code")
	}
	if !s.codes.allow(s.codeKey(c)) {
		return keep.Keys{}, keep.Thread{}, false, feedbackError(c, http.StatusTooManyRequests, string(protocol.CodeRateLimited), "too many codes tried; wait a few minutes")
	}
	k, t, err := s.vault.Open(r.Context(), f.Code)
	if errors.Is(err, keep.ErrUnknown) {
		s.metrics.codes.WithLabelValues("unknown").Inc()
		return keep.Keys{}, keep.Thread{}, false, feedbackError(c, http.StatusNotFound, string(protocol.CodeUnknownCode), keep.ErrUnknown.Error())
	}
	if err != nil {
		return keep.Keys{}, keep.Thread{}, false, err
	}
	return k, t, true, nil
}

// returned is the answer to POST /return.
type returned struct {
	Thread    keep.Thread       `json:"thread"`
	Questions []PendingQuestion `json:"questions"`
}

// returnWithCode shows the visitor what their code keeps: POST /return.
func (s *Server) returnWithCode(c *echo.Context) error {
	k, t, ok, err := s.openCode(c)
	if !ok {
		return err
	}
	qs, err := s.pendingQuestions(c.Request().Context(), k)
	if err != nil {
		return err
	}
	s.metrics.codes.WithLabelValues("returned").Inc()
	c.Response().Header().Set("Cache-Control", "no-store")
	t.Advisor = "" // for routing, not for the visitor
	return c.JSON(http.StatusOK, returned{Thread: t, Questions: qs})
}

// forget deletes what a code keeps, at once: POST /forget.
func (s *Server) forget(c *echo.Context) error {
	k, _, ok, err := s.openCode(c)
	if !ok {
		return err
	}
	if _, err := s.vault.Delete(c.Request().Context(), k); err != nil {
		return err
	}
	s.metrics.codes.WithLabelValues("forgotten").Inc()
	return c.NoContent(http.StatusNoContent)
}

// visibleKinds are the entries a visitor saw and gets back: never an
// internal note.
var visibleKinds = map[chat.Kind]bool{
	chat.KindMessage: true, chat.KindJoined: true, chat.KindRequeued: true, chat.KindEnded: true,
	chat.KindTransferred: true, chat.KindWaitedLong: true,
}

// sealKept seals an ended conversation's thread under its return code, if
// it is kept: the conversation's entries the visitor saw, after the parts
// the code kept before. The keys are taken out of the conversation's data
// in the same step, so only one caller seals, and none remain.
func (s *Server) sealKept(ctx context.Context, id string) {
	// The visitor's socket or request may be gone by now; the thread must
	// be sealed all the same.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	enc, err := s.store.TakeKeep(ctx, id)
	if err != nil || enc == "" {
		if err != nil {
			s.log.Warn("seal kept conversation", "err", err)
		}
		return
	}
	if err := s.sealThread(ctx, id, enc); err != nil {
		// The thread is not kept; the visitor's code will be unknown.
		// Counted, so that an operator sees it.
		s.metrics.codes.WithLabelValues("seal_failed").Inc()
		s.log.Error("seal kept conversation", "err", err)
	}
}

func (s *Server) sealThread(ctx context.Context, id, enc string) error {
	k, ok := keep.DecodeKeys(enc)
	if !ok {
		return errors.New("kept conversation holds keys that do not decode")
	}
	conv, err := s.store.Get(ctx, id)
	if err != nil {
		return err
	}
	part := keep.Part{Kind: keep.PartChat, Started: conv.Created.UnixMilli(), Entries: []chat.Entry{}}
	for after := int64(0); ; {
		es, err := s.store.After(ctx, id, after, 500)
		if err != nil {
			return err
		}
		for _, e := range es {
			if visibleKinds[e.Kind] {
				e.Conversation = ""
				part.Entries = append(part.Entries, e)
			}
			after = e.Seq
		}
		if len(es) < 500 {
			break
		}
	}
	advisor := ""
	if st, err := s.queue.State(ctx, id); err == nil {
		advisor = st.Advisor
	}
	// After what the code kept before (a returning visitor's earlier
	// conversations, questions answered under it); a thread forgotten or
	// expired meanwhile starts anew with this conversation.
	return s.vault.Update(ctx, k, s.cfg.Keep, func(t *keep.Thread, _ bool) {
		t.Parts = append(t.Parts, part)
		t.Audience, t.Lang = conv.Audience, conv.Lang
		if advisor != "" {
			t.Advisor = advisor
		}
	})
}

// earlier shows the advisor who has a returning visitor's conversation
// what the code kept before, decrypted for this socket only. Writer
// goroutine.
func (a *advisor) earlier(ctx context.Context, id string) {
	conv, err := a.srv.store.Get(ctx, id)
	if err != nil || !conv.Returning || conv.Keep == "" {
		return
	}
	k, ok := keep.DecodeKeys(conv.Keep)
	if !ok {
		return
	}
	t, err := a.srv.vault.Get(ctx, k)
	if err != nil {
		if !errors.Is(err, keep.ErrUnknown) && ctx.Err() == nil {
			a.sock.Log().Warn("read kept thread", "err", err)
		}
		return
	}
	a.sock.WriteJSON(protocol.Earlier{Type: protocol.TypeEarlier, Conversation: id, Parts: t.Parts})
}
