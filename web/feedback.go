package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
)

// Feedback: after the end, the visitor's page asks one question ("did this
// help?", 1 to 5) and offers a box for a few words. The answer proves it
// comes from a real, ended conversation (its id and token), counts once,
// and is kept apart from it: the rating goes to metrics, the words to a
// list per day that holds nothing else (no conversation, no time, no
// address) and expires after feedbackKeep.
const (
	// maxFeedbackComment is the longest comment, in characters.
	maxFeedbackComment = 1000
	// feedbackKeep is how long a day's comments are kept.
	feedbackKeep    = 30 * 24 * time.Hour
	maxFeedbackBody = 8 << 10
)

type feedbackRequest struct {
	Conversation string `json:"conversation"`
	Token        string `json:"token"`
	Rating       int    `json:"rating"`
	Comment      string `json:"comment"`
}

// feedbackComment is what is kept of a comment.
type feedbackComment struct {
	Rating int    `json:"rating"`
	Text   string `json:"text"`
}

func feedbackError(c *echo.Context, status int, code, msg string) error {
	return c.JSON(status, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, msg})
}

// feedback takes a visitor's answer: POST /feedback (docs/protocol.md).
func (s *Server) feedback(c *echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFeedbackBody)
	var f feedbackRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return feedbackError(c, http.StatusBadRequest, "bad_json", "the body must be a JSON object with conversation, token, rating and comment")
	}
	if !chat.ValidID(f.Conversation) || f.Token == "" {
		return feedbackError(c, http.StatusBadRequest, "bad_request", "conversation and token are required")
	}
	if f.Rating < 1 || f.Rating > 5 {
		return feedbackError(c, http.StatusBadRequest, "bad_request", "rating must be 1 to 5")
	}
	comment := ""
	if f.Comment != "" {
		if !utf8.ValidString(f.Comment) {
			return feedbackError(c, http.StatusBadRequest, "bad_utf8", "comment is not valid UTF-8")
		}
		text, err := chat.CleanText(f.Comment)
		switch {
		case errors.Is(err, chat.ErrEmptyText):
			// Only white space: no comment.
		case err != nil:
			return feedbackError(c, http.StatusBadRequest, "bad_request", "comment: "+err.Error())
		case utf8.RuneCountInString(text) > maxFeedbackComment:
			return feedbackError(c, http.StatusBadRequest, "too_long", "comment is longer than 1000 characters")
		default:
			comment = text
		}
	}
	ctx := r.Context()
	conv, err := s.store.Get(ctx, f.Conversation)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		return feedbackError(c, http.StatusNotFound, "not_found", "no such conversation; it may have been deleted")
	case err != nil:
		return err
	case !chat.TokenMatches(f.Token, conv.TokenHash):
		return feedbackError(c, http.StatusForbidden, "unauthorized", "token does not match the conversation")
	case !conv.Ended:
		return feedbackError(c, http.StatusConflict, "not_ended", "feedback is for a conversation that has ended")
	}
	// Once per conversation; the mark lives in the conversation's hash slot
	// and no longer than the conversation would.
	first, err := s.rdb.SetNX(ctx, s.cfg.KeyPrefix+"{c:"+f.Conversation+"}:fb", "1", s.cfg.Retention).Result()
	if err != nil {
		return err
	}
	if !first {
		return feedbackError(c, http.StatusConflict, "duplicate", "feedback for this conversation was given already")
	}
	s.metrics.feedback.WithLabelValues(string(rune('0' + f.Rating))).Inc()
	s.countReport(ctx, routing.FieldFeedback(f.Rating))
	if comment != "" {
		s.metrics.feedbackComments.Inc()
		b, _ := json.Marshal(feedbackComment{Rating: f.Rating, Text: comment})
		key := s.feedbackKey(s.now())
		pipe := s.rdb.TxPipeline()
		pipe.RPush(ctx, key, b)
		pipe.Expire(ctx, key, feedbackKeep)
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
	}
	return c.NoContent(http.StatusNoContent)
}

// feedbackKey is the list of one day's comments (UTC).
func (s *Server) feedbackKey(t time.Time) string {
	return s.cfg.KeyPrefix + "feedback:" + t.UTC().Format("2006-01-02")
}

// feedbackDays is how many days of comments the supervisor view lists.
const feedbackDays = 7

// supervisorFeedback lists the comments of the last feedbackDays days,
// newest day first, for supervisors: GET /advisor/supervisor/feedback.
func (s *Server) supervisorFeedback(c *echo.Context) error {
	if _, ok, err := s.supervisorRequest(c); !ok {
		return err
	}
	type day struct {
		Date     string            `json:"date"`
		Comments []feedbackComment `json:"comments"`
	}
	out := struct {
		Days []day `json:"days"`
	}{Days: []day{}}
	ctx := c.Request().Context()
	now := s.now()
	for i := range feedbackDays {
		t := now.AddDate(0, 0, -i)
		items, err := s.rdb.LRange(ctx, s.feedbackKey(t), 0, -1).Result()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			continue
		}
		d := day{Date: t.UTC().Format("2006-01-02")}
		for j := len(items) - 1; j >= 0; j-- {
			var fc feedbackComment
			if json.Unmarshal([]byte(items[j]), &fc) == nil {
				d.Comments = append(d.Comments, fc)
			}
		}
		out.Days = append(out.Days, d)
	}
	return c.JSON(http.StatusOK, out)
}
