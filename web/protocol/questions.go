package protocol

import (
	"encoding/json"

	"github.com/advicechat/advicechat/chat"
)

// Questions left while the chat is closed or very busy: the console's
// frames (docs/protocol.md, "Questions").

// Frame types of the questions view.
const (
	TypeQuestionTake     = "question_take"     // advisor: take a question to answer
	TypeQuestionAnswer   = "question_answer"   // advisor: the answer; the question is answered
	TypeQuestionRelease  = "question_release"  // advisor: give a taken question back
	TypeQuestions        = "questions"         // server: the questions view
	TypeQuestion         = "question"          // server: a taken question, with its text
	TypeQuestionAnswered = "question_answered" // server: the answer is sealed, the question gone
)

// QuestionTarget names a question: question_take and question_release.
type QuestionTarget struct {
	Type     string `json:"type"`
	Question string `json:"question"`
}

// QuestionAnswer is an advisor's answer to a question they took.
type QuestionAnswer struct {
	Type     string `json:"type"`
	Question string `json:"question"`
	Text     string `json:"text"`
	// BadText: the text as sent was not valid UTF-8 or held a lone
	// surrogate escape (text.go).
	BadText bool `json:"-"`
}

// UnmarshalJSON decodes an answer and records whether its text was valid
// UTF-8 without lone surrogates.
func (a *QuestionAnswer) UnmarshalJSON(b []byte) error {
	type plain QuestionAnswer
	var aux struct {
		plain
		Text json.RawMessage `json:"text"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*a = QuestionAnswer(aux.plain)
	a.Text, a.BadText = "", false
	if len(aux.Text) == 0 || string(aux.Text) == "null" {
		return nil
	}
	if err := json.Unmarshal(aux.Text, &a.Text); err != nil {
		return err
	}
	a.BadText = !ValidJSONString(aux.Text)
	return nil
}

// QuestionCount is one audience and language's open questions: how many,
// and how long the oldest has waited (seconds). The console's queue
// summary and the supervisor's overview show them.
type QuestionCount struct {
	Audience string `json:"audience"`
	Lang     string `json:"lang"`
	Open     int    `json:"open"`
	Oldest   int64  `json:"oldest"`
}

// QuestionItem is one open question in the questions view: never its
// text.
type QuestionItem struct {
	ID       string `json:"id"`
	Audience string `json:"audience"`
	Lang     string `json:"lang"`
	Waited   int64  `json:"waited"`
	// Reply: left under a code whose thread was answered before.
	Reply bool `json:"reply,omitempty"`
	// ForYou: a reply to a thread this advisor answered last; such
	// questions come first in their list.
	ForYou bool `json:"for_you,omitempty"`
	// Taken: another advisor is answering it; Mine: this advisor is.
	Taken bool `json:"taken,omitempty"`
	Mine  bool `json:"mine,omitempty"`
}

// Questions is the questions view: every audience and language's count,
// and the questions this advisor may answer, per audience and language,
// oldest first (those for them before the rest).
type Questions struct {
	Type      string          `json:"type"`
	Counts    []QuestionCount `json:"counts"`
	Questions []QuestionItem  `json:"questions"`
}

// QuestionPart is an earlier part of the thread a reply belongs to.
type QuestionPart struct {
	Kind    string       `json:"kind"`
	Started int64        `json:"started"`
	Entries []chat.Entry `json:"entries"`
}

// Question is a question the advisor took: its text and, for a reply,
// the thread it continues.
type Question struct {
	Type     string         `json:"type"`
	ID       string         `json:"id"`
	Audience string         `json:"audience"`
	Lang     string         `json:"lang"`
	Text     string         `json:"text"`
	Left     int64          `json:"left"` // Unix ms
	Reply    bool           `json:"reply,omitempty"`
	Until    int64          `json:"until"` // Unix ms: the take holds until then
	Earlier  []QuestionPart `json:"earlier"`
}

// QuestionAnswered: the answer is sealed under the visitor's code and the
// question is gone from Redis.
type QuestionAnswered struct {
	Type     string `json:"type"`
	Question string `json:"question"`
}
