package main

import (
	"net/http"

	"github.com/advicechat/advicechat/web/protocol"
)

// questions walks the questions' refusals: a new question while the chat
// is open and not busy, and a question another advisor is answering.
func (w *walk) questions() {
	t := w.t
	a := startApp(t, map[string]string{"ADVICECHAT_HOURS": alwaysOpen(t)})
	status, f := askQuestion(t, a, questionBody("public", "nl", "Is er iemand?", ""))
	w.httpCode("a question while the chat is open", status, f.str("error"), http.StatusConflict, protocol.CodeChatOpen)

	// A reply under a code is taken while open; two advisors take it.
	closed := startApp(t, map[string]string{"ADVICECHAT_HOURS": closedNow(t)})
	if status, f = askQuestion(t, closed, questionBody("public", "nl", "Een vraag voor de nacht.", "")); status != http.StatusOK {
		t.Fatalf("question while closed: %d %v", status, f)
	}
	anna, bram := consoleOf(t, closed, "anna"), consoleOf(t, closed, "bram")
	isListed := func(f frame) bool {
		return f.str("type") == protocol.TypeQuestions && len(frameItems(f, "questions")) == 1
	}
	id := frameItems(anna.expect("the question", isListed), "questions")[0].str("id")
	bram.expect("the question", isListed)
	anna.send(protocol.QuestionTarget{Type: protocol.TypeQuestionTake, Question: id})
	anna.expect("taken", func(f frame) bool { return f.str("type") == protocol.TypeQuestion })
	bram.send(protocol.QuestionTarget{Type: protocol.TypeQuestionTake, Question: id})
	w.code("take a question another advisor is answering", bram, protocol.CodeQuestionTaken, id)
}
