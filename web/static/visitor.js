// The visitor's chat page: landing -> waiting -> chatting -> ended, or
// landing -> busy when the wait would be too long. A visitor in danger now
// sees 112 first and goes to the front of the queue (urgent). While
// chatting, each side sees the other typing; at the end the page asks one
// anonymous question (POST /feedback), and the visitor may save the
// conversation as a text file made in the browser, or keep it under a
// return code (POST /keep) to come back to it: return.js reads a code
// back, question.js leaves a question while the chat is closed or busy,
// return-code.js shows a code once.
// Speaks docs/protocol.md on /ws/visitor.
import './stay.js';
import { ReconnectingSocket, socketURL } from './socket.js';
import { Transcript, displayLocale, fill, readMessages } from './transcript.js';
import { languages } from './language.js';
import { clearCode, postJSON, showCode } from './return-code.js';
import { clearReturn, initReturn } from './return.js';
import { clearAsk, initAsk } from './question.js';

const KEY = {
  lang: 'advicechat.lang',
  conversation: 'advicechat.conversation',
  token: 'advicechat.token',
  seq: 'advicechat.seq',
  state: 'advicechat.state',
  urgent: 'advicechat.urgent',
};

const t = readMessages();
const body = document.body;
const lang = body.dataset.lang;
const exitURL = body.dataset.exitUrl || 'about:blank';
const $ = (id) => document.getElementById(id);
// What scrolls on the chat page: everything below the top band.
const scroller = $('scroller');
const el = {
  landing: $('landing'), waiting: $('waiting'), chat: $('chat'), ended: $('ended'),
  notice: $('notice'), startForm: $('start-form'), audienceError: $('audience-error'),
  position: $('position'), cancel: $('cancel'), advisor: $('advisor'),
  messages: $('messages'), controls: $('chat-controls'), composer: $('composer'),
  text: $('text'), end: $('end'), endDialog: $('end-dialog'),
  endedReason: $('ended-reason'), endedHeading: $('ended-heading'), newChat: $('new'),
  reconnecting: $('reconnecting'), quickExit: $('quick-exit'),
  elsewhere: $('elsewhere'), continueHere: $('continue-here'),
  danger: $('danger'), dangerCall: $('danger-call'), dangerText: $('danger-text'),
  dangerNote: $('danger-note'), dangerClosed: $('danger-closed'),
  estimate: $('estimate'), longWait: $('long-wait'), longWaitContent: $('long-wait-content'),
  busy: $('busy'), busyWait: $('busy-wait'), busyRetry: $('busy-retry'),
  waitingEmergency: $('waiting-emergency'), typing: $('typing'),
  textEmpty: $('text-empty'), textLeft: $('text-left'), composerStatus: $('composer-status'),
  saveChatting: $('save-chatting'), saveNow: $('save-now'), saveEnded: $('save-ended'), save: $('save'), saveStatus: $('save-status'),
  feedback: $('feedback'), feedbackComment: $('feedback-comment'), feedbackLeft: $('feedback-left'),
  feedbackCommentStatus: $('feedback-comment-status'), feedbackMessage: $('feedback-message'),
  feedbackSkip: $('feedback-skip'), feedbackDone: $('feedback-done'),
  returned: $('returned'), ask: $('ask'),
  keepNow: $('keep-now'), keepNowDone: $('keep-now-done'), keepEnded: $('keep-ended'), keep: $('keep'), keepDone: $('keep-done'),
};

// The composer's limit (docs/protocol.md, "Message text"); the count of
// what is left shows below SHOW_LEFT_BELOW and is read out at each of
// COMPOSER_STEPS, not at every key.
const MAX_TEXT = 4000;
const SHOW_LEFT_BELOW = 500;
const COMPOSER_STEPS = [499, 100, 20, 0];
const MAX_COMMENT = 1000;
const COMMENT_STEPS = [100, 20, 0];
// Typing frames go out at most this often while the visitor types; the
// server passes on at most one per 2 s.
const TYPING_EVERY_MS = 3000;
// The advisor counts as typing this long after their last typing frame.
const TYPING_SHOWN_MS = 5000;

let socket = null;
let transcript = newTranscript();
let conversation = sessionStorage.getItem(KEY.conversation);
let token = sessionStorage.getItem(KEY.token);
let audience = null;
let urgent = sessionStorage.getItem(KEY.urgent) === '1'; // in danger now: 112 stays on screen
let advisorName = '';
let over = false; // the conversation has ended: no more reconnects
let endRequested = false; // an end to deliver once the socket is back
let resumed = false; // this connection has been accepted (first state frame)
let unread = 0;
const baseTitle = document.title;
let hadAdvisor = false; // an advisor joined: there was a conversation to ask about
let typingTimer = 0; // clears the advisor's typing indicator
let typingSent = 0; // when the visitor's last typing frame went out
// The ended conversation's id and token, for the one feedback answer. In
// memory only: the end clears sessionStorage, so after a reload the
// question is simply not asked again.
let feedback = null;
let feedbackAsked = false; // the question was put for this conversation
let feedbackBusy = false;
// Back with a return code: the code goes with the start and is then
// dropped (the conversation carries the thread); linked says this
// conversation continues a kept thread, and so is kept already.
let linkCode = null;
let linkLang = null;
let linked = false;
let kept = false; // kept under a code shown in this tab
let keepBusy = false;
let keepTimer = 0; // puts the keep away once the ended conversation is deleted
let askFrom = 'landing'; // where "leave a question" was chosen
// How long an ended conversation can still be kept (ADVICECHAT_RETENTION).
const retentionMs = (Number(body.dataset.retention) || 0) * 1000;

function newTranscript() {
  return new Transcript(el.messages, {
    self: 'visitor',
    t,
    lang,
    who: (e) => (e.from === 'visitor' ? t['common.you'] : e.name || advisorName || t['visitor.advisor_fallback']),
    system: systemText,
    retry: (id, text) => socket?.send({ type: 'message', id, text }),
  });
}

function systemText(e) {
  switch (e.kind) {
    case 'joined':
      return fill(t['visitor.entry.joined'], { name: e.name || t['visitor.advisor_fallback'] });
    case 'requeued':
      return t[`visitor.entry.requeued.${e.reason}`] ?? t['visitor.entry.requeued.advisor_left'];
    case 'ended':
      return t[`visitor.entry.ended.${e.reason}`] ?? t['visitor.ended.heading'];
    case 'transferred':
      return e.name
        ? fill(t['visitor.entry.transferred'], { name: e.name })
        : t['visitor.entry.transferred_queue'];
    default:
      return '';
  }
}

// --- language -------------------------------------------------------------

// The language chosen in this tab (language.js stores it) wins over the
// browser's, unless the address names one.
function switchLanguageIfStored() {
  const stored = sessionStorage.getItem(KEY.lang);
  const params = new URLSearchParams(location.search);
  if (stored && stored !== lang && languages().includes(stored) && !params.has('lang')) {
    location.replace('?lang=' + encodeURIComponent(stored));
    return true;
  }
  return false;
}

// --- quick exit -----------------------------------------------------------

function quickExit(ev) {
  ev?.preventDefault();
  over = true;
  if (socket) {
    socket.send({ type: 'end' });
    socket.close();
  }
  sessionStorage.clear();
  el.messages.replaceChildren();
  clearCode();
  clearReturn();
  clearAsk();
  linkCode = null;
  location.replace(exitURL);
}

el.quickExit.addEventListener('click', quickExit);
let lastEscape = 0;
document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Escape') return;
  const now = Date.now();
  if (now - lastEscape < 1000) quickExit(ev);
  lastEscape = now;
});

// --- states ---------------------------------------------------------------

function setState(state) {
  const before = body.dataset.state;
  body.dataset.state = state;
  el.landing.hidden = state !== 'landing';
  el.waiting.hidden = state !== 'waiting';
  el.busy.hidden = state !== 'busy';
  el.ended.hidden = state !== 'ended';
  el.returned.hidden = state !== 'returned';
  el.ask.hidden = state !== 'ask';
  showDanger();
  el.chat.hidden = state !== 'chatting' && (['landing', 'returned', 'ask'].includes(state) || transcript.size === 0);
  el.controls.hidden = state !== 'chatting';
  el.advisor.hidden = state !== 'chatting';
  el.saveChatting.hidden = state !== 'chatting';
  showKeep();
  if (state !== 'chatting') stopAdvisorTyping();
  if (state === 'waiting' || state === 'chatting') sessionStorage.setItem(KEY.state, state);
  if (before === state) return;
  // Move focus only when it would otherwise be lost in a hidden section.
  const active = document.activeElement;
  const lost = !active || active === body || active.closest('[hidden]');
  if (state === 'ended') el.endedHeading.focus();
  else if (lost && state === 'chatting') el.text.focus();
  else if (lost) $(`${state}-heading`).focus();
  if (['waiting', 'ended', 'busy', 'returned', 'ask'].includes(state)) {
    $(state).scrollIntoView({ block: 'nearest' });
  }
}

// setText changes a text only when it differs, so that a live region
// speaks only when there is something new to say.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function showPosition(position) {
  const n = Number(position);
  if (n === 1) setText(el.position, t['visitor.waiting.next']);
  else if (n > 1) setText(el.position, fill(t['visitor.waiting.position'], { position: n }));
}

const plural = new Intl.PluralRules(lang);

// estimateText says "about n minutes" in the page's language and plural
// form; every locale has a text for each form a wait can take.
function estimateText(n) {
  return fill(t[`visitor.wait.estimate.${plural.select(n)}`] ?? t['visitor.wait.estimate.other'], { n });
}

// showEstimate shows the server's estimate (whole minutes), or says there
// is none: nobody on duty serves the queue.
function showEstimate(wait) {
  const n = Number(wait);
  setText(el.estimate, Number.isInteger(n) && n > 0 ? estimateText(n) : t['visitor.wait.unknown']);
}

// showLongWait offers the other ways to get help to a visitor who has
// waited the longest wait the service promises; they keep their place.
function showLongWait(on) {
  if (!on) {
    el.longWait.replaceChildren();
  } else if (!el.longWait.firstElementChild) {
    el.longWait.append(el.longWaitContent.content.cloneNode(true));
  }
}

// showDanger keeps 112 in view for a visitor in danger now, from the
// landing page (when the chat is closed) to the end of the conversation.
// Until an advisor is there it says one will come as soon as possible.
function showDanger() {
  const closed = $('start').disabled;
  const before = !['chatting', 'ended'].includes(body.dataset.state);
  el.danger.hidden = !urgent;
  // The waiting card's small 112 line would only repeat the panel.
  el.waitingEmergency.hidden = urgent;
  el.dangerText.hidden = closed || !before;
  el.dangerNote.hidden = closed || before;
  el.dangerClosed.hidden = !closed;
}

// minutesIn reads the expected wait from a busy error's (English) message,
// "... about 50 minutes ..."; 0 when it says none.
function minutesIn(message) {
  const m = /\b(\d{1,4}) minutes?\b/.exec(message ?? '');
  return m ? Number(m[1]) : 0;
}

function showAdvisor(name) {
  if (name) advisorName = name;
  el.advisor.textContent = fill(t['visitor.chat.with'], { name: advisorName || t['visitor.advisor_fallback'] });
}

// showAdvisorAway says, below the advisor's name, that their connection
// dropped and what happens next (docs/protocol.md, state "active" with
// reason "advisor_away"); it goes when they are back.
function showAdvisorAway(away) {
  let note = document.getElementById('advisor-away');
  if (!away) {
    if (note) note.hidden = true;
    return;
  }
  if (!note) {
    note = document.createElement('p');
    note.id = 'advisor-away';
    note.className = 'notice';
    note.setAttribute('role', 'status');
    el.advisor.after(note);
  }
  note.textContent = fill(t['visitor.advisor_away'], { name: advisorName || t['visitor.advisor_fallback'] });
  note.hidden = false;
}

// forget leaves nothing of the chat in the tab: once a conversation is over
// the site's storage is empty, the language choice included (the page's own
// address still carries it).
function forget() {
  sessionStorage.clear();
}

function finish(reason) {
  if (!over) {
    over = true;
    el.endedReason.textContent = t[`visitor.ended.reason.${reason}`] ?? '';
    offerFeedback();
    keepUntilDeleted();
  }
  showSaveEnded();
  forget();
  setState('ended');
}

function reset(noticeKey) {
  over = true;
  socket?.close();
  socket = null;
  forget();
  conversation = token = audience = null;
  linkCode = linkLang = null;
  linked = kept = false;
  clearTimeout(keepTimer);
  keepTimer = 0;
  el.keepNowDone.textContent = '';
  el.keepDone.textContent = '';
  advisorName = '';
  endRequested = false;
  urgent = false;
  hadAdvisor = false;
  feedbackAsked = false;
  closeFeedback();
  el.feedbackDone.hidden = true;
  composerChanged();
  el.messages.replaceChildren();
  transcript = newTranscript();
  el.advisor.textContent = '';
  el.position.textContent = t['visitor.waiting.connecting'];
  el.estimate.textContent = '';
  showLongWait(false);
  el.startForm.reset();
  el.notice.hidden = !noticeKey;
  el.notice.textContent = noticeKey ? t[noticeKey] : '';
  setState('landing');
}

// --- socket ---------------------------------------------------------------

function connect() {
  el.elsewhere.hidden = true;
  over = false;
  resumed = false;
  socket = new ReconnectingSocket(socketURL('/ws/visitor?acks=entry'), {
    onopen() {
      resumed = false;
      if (conversation && token) {
        socket.send({ type: 'resume', conversation, token, after: transcript.highest, at: transcript.highestAt });
      } else if (audience && linkCode) {
        socket.send({ type: 'start', audience, lang: linkLang ?? lang, urgent, code: linkCode });
      } else if (audience) {
        socket.send({ type: 'start', audience, lang, urgent });
      } else {
        socket.close();
      }
    },
    onframe,
    onclose(ev) {
      if (ev.code === 4001) {
        // Opened in another tab: going back by itself would take it from
        // there, and the two would take turns for ever.
        el.elsewhere.hidden = false;
        return false;
      }
      if (ev.code === 1008) {
        reset('visitor.resume_failed');
        return false;
      }
      if (ev.code === 1000) {
        if (!over && conversation) finish(null);
        return false;
      }
      return !over || endRequested;
    },
    onstatus(connected, retrying) {
      el.reconnecting.hidden = !retrying;
    },
  });
  socket.connect();
}

el.continueHere.addEventListener('click', () => connect());

function onframe(f) {
  switch (f.type) {
    case 'started':
      conversation = f.conversation;
      token = f.token;
      // Started under the code: the page needs it no longer.
      if (linkCode) {
        linkCode = null;
        linked = true;
        showKeep();
      }
      sessionStorage.setItem(KEY.conversation, conversation);
      sessionStorage.setItem(KEY.token, token);
      sessionStorage.setItem(KEY.seq, '0');
      if (urgent) sessionStorage.setItem(KEY.urgent, '1');
      break;
    case 'state':
      if (!resumed) accepted();
      if (over && f.status !== 'ended') break;
      if (f.status === 'waiting') {
        showPosition(f.position);
        showEstimate(f.wait);
        setState('waiting');
      } else if (f.status === 'active') {
        hadAdvisor = true;
        showLongWait(false);
        showAdvisor(f.advisor);
        showAdvisorAway(f.reason === 'advisor_away');
        setState('chatting');
      } else if (f.status === 'ended') {
        endRequested = false;
        finish(f.reason);
      }
      break;
    case 'entry':
      if (f.conversation && conversation && f.conversation !== conversation) break;
      entry(f);
      break;
    case 'typing':
      if (f.from === 'advisor' && !over && body.dataset.state === 'chatting') advisorTyping();
      break;
    case 'ack':
      transcript.ack(f.id, f.seq);
      saveSeq();
      break;
    case 'interrupted':
      if (f.conversation !== conversation) break;
      transcript.interrupted(f.seq);
      saveSeq();
      break;
    case 'error':
      if (f.id) transcript.fail(f.id, f.code);
      else if (f.code === 'not_found' || f.code === 'unauthorized') reset('visitor.resume_failed');
      else if (!conversation && f.code === 'closed') closedNow();
      else if (!conversation && f.code === 'unknown_code') reset('visitor.return.unknown');
      else if (!conversation && f.code === 'busy') busyNow(f.message);
      else if (!conversation && (f.code === 'rate_limited' || f.code === 'unavailable')) reset(`visitor.start.${f.code}`);
      else if (f.code === 'ended') finish(null);
      break;
  }
}

// closedNow handles a start refused because the chat closed after the page
// was loaded: the server renders the closed notice with the next opening
// time and the other ways to get help, so load the page again.
function closedNow() {
  reset(null);
  location.reload();
}

// busyNow handles a start refused because the wait would be too long:
// nothing was started, so the socket goes, and the page says so with the
// other ways to get help and a way to try again. The expected wait is
// shown when the message gives it.
function busyNow(message) {
  over = true;
  socket?.close();
  socket = null;
  forget();
  const n = minutesIn(message);
  el.busyWait.hidden = n === 0;
  el.busyWait.textContent = n ? estimateText(n) : '';
  setState('busy');
}

// accepted runs once per connection when the server has taken our start or
// resume: anything that did not get through before is sent again.
function accepted() {
  resumed = true;
  if (endRequested) {
    // Kept until the server confirms the end: a send can be lost with the
    // connection it went out on.
    socket.send({ type: 'end' });
    return;
  }
  for (const m of transcript.unsent()) socket.send({ type: 'message', id: m.id, text: m.text });
}

function entry(e) {
  if (e.kind === 'waited_long') {
    // Not a line in the conversation but a panel in the waiting card; the
    // transcript keeps only its seq.
    transcript.add({ ...e, kind: 'hidden' });
    saveSeq();
    if (body.dataset.state === 'waiting') showLongWait(true);
    return;
  }
  const nearBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 120;
  if (!transcript.add(e)) return;
  saveSeq();
  if (e.kind === 'message' && e.from === 'advisor') stopAdvisorTyping();
  if (e.kind === 'joined') {
    hadAdvisor = true;
    showAdvisor(e.name);
  }
  if (over) {
    // A resume into a conversation that ended meanwhile gets the end
    // first and the entries after it.
    if (!feedbackAsked) offerFeedback();
    showSaveEnded();
  }
  if (e.kind === 'transferred') {
    if (e.name) showAdvisor(e.name);
    else advisorName = '';
  }
  if (e.kind === 'ended') endRequested = false;
  if (e.kind === 'ended' && !over) finish(e.reason);
  if (body.dataset.state !== 'landing') el.chat.hidden = false;
  if (e.from !== 'visitor' && document.hidden) {
    unread++;
    document.title = `(${unread}) ${baseTitle}`;
  }
  if (nearBottom) el.messages.lastElementChild?.scrollIntoView({ block: 'nearest' });
}

function saveSeq() {
  if (conversation && !over) sessionStorage.setItem(KEY.seq, String(transcript.highest));
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && unread) {
    unread = 0;
    document.title = baseTitle;
  }
});

// --- actions --------------------------------------------------------------

el.startForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if ($('start').disabled) return; // closed: the page says when it opens
  const choice = el.startForm.querySelector('input[name=audience]:checked');
  el.audienceError.hidden = !!choice;
  if (!choice) {
    el.startForm.querySelector('input[name=audience]').focus();
    return;
  }
  audience = choice.value;
  begin();
  $('waiting-heading').focus();
});

// begin starts a conversation for audience (urgent or not) and waits.
function begin() {
  conversation = token = null;
  el.notice.hidden = true;
  el.audienceError.hidden = true;
  el.position.textContent = t['visitor.waiting.connecting'];
  el.estimate.textContent = '';
  showLongWait(false);
  setState('waiting');
  connect();
}

// inDanger answers "I am in danger right now": 112 at once, and the chat
// starts without another question, before everyone else. The audience is
// the one chosen if any, else the public line (worried about someone or
// oneself), which is what nearly everyone in danger is. A closed chat
// cannot start; 112 is then all the page can offer.
function inDanger() {
  urgent = true;
  if ($('start').disabled) {
    showDanger();
    el.dangerCall.focus();
    return;
  }
  audience ??= el.startForm.querySelector('input[name=audience]:checked')?.value ?? 'public';
  begin();
  el.dangerCall.focus();
}

for (const button of document.querySelectorAll('button.danger-start')) {
  button.addEventListener('click', inDanger);
}

el.busyRetry.addEventListener('click', () => {
  audience ??= 'public';
  begin();
  $('waiting-heading').focus();
});

el.composer.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (body.dataset.state !== 'chatting') return;
  const text = el.text.value.trim();
  if (!text) {
    // Nothing but white space: the server would refuse it (empty), so it
    // is not sent, and the page says why.
    showEmpty();
    el.text.focus();
    return;
  }
  const id = transcript.send(text);
  socket?.send({ type: 'message', id, text });
  el.text.value = '';
  typingSent = 0; // the next message's typing shows at once
  composerChanged();
  el.messages.lastElementChild?.scrollIntoView({ block: 'nearest' });
});

el.text.addEventListener('input', () => {
  composerChanged();
  sendTyping();
});

el.text.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    el.composer.requestSubmit();
  }
});

function endConversation() {
  if (over) return;
  if (!conversation) {
    // start was not answered yet: nothing exists on the server to end.
    reset(null);
    return;
  }
  endRequested = true;
  socket?.send({ type: 'end' });
  finish('visitor');
}

// The confirmation is a non-modal dialog on purpose: a modal one would make
// the rest of the page inert, the quick-exit button included.
el.end.addEventListener('click', () => {
  if (typeof el.endDialog.show !== 'function') {
    if (confirm(t['visitor.end.confirm_heading'])) endConversation();
    return;
  }
  el.endDialog.show();
  $('end-cancel').focus();
});
el.endDialog.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') el.endDialog.close();
});
el.endDialog.addEventListener('close', () => {
  if (el.endDialog.returnValue === 'confirm') endConversation();
  else el.end.focus();
  el.endDialog.returnValue = '';
});
el.cancel.addEventListener('click', endConversation);
el.newChat.addEventListener('click', () => {
  reset(null);
  $('landing-heading').focus();
});

// --- live regions ---------------------------------------------------------

const sayTimers = new WeakMap();

// say puts text in a live region so that it is read out, also when it is
// what the region said last time (a second empty send, say).
function say(region, text) {
  clearTimeout(sayTimers.get(region));
  if (region.textContent !== text || !text) {
    region.textContent = text;
    return;
  }
  region.textContent = '';
  sayTimers.set(region, setTimeout(() => { region.textContent = text; }, 150));
}

function charsLeftText(n) {
  return fill(t[`visitor.chars_left.${plural.select(n)}`] ?? t['visitor.chars_left.other'], { n });
}

// charsLeft returns an update for the count of what is left in a text
// field: the count shows in `shown` once fewer than showBelow characters
// are left, and is read out through `live` only as it passes one of steps
// (again after the visitor deleted back above it), never at every key.
function charsLeft(field, shown, live, max, showBelow, steps) {
  let level = 0;
  return () => {
    const left = Math.max(0, max - field.value.length);
    shown.hidden = left >= showBelow;
    setText(shown, shown.hidden ? '' : charsLeftText(left));
    const now = steps.filter((s) => left <= s).length;
    if (now > level) say(live, charsLeftText(left));
    level = now;
  };
}

// --- composer: empty messages, what is left, typing -----------------------

const updateTextLeft = charsLeft(el.text, el.textLeft, el.composerStatus, MAX_TEXT, SHOW_LEFT_BELOW, COMPOSER_STEPS);

function showEmpty() {
  el.textEmpty.textContent = t['visitor.composer.empty'];
  el.textEmpty.hidden = false;
  el.text.setAttribute('aria-invalid', 'true');
  say(el.composerStatus, t['visitor.composer.empty']);
}

// composerChanged follows the composer's text: the empty hint goes at the
// next change, the count of what is left follows.
function composerChanged() {
  if (!el.textEmpty.hidden) {
    el.textEmpty.hidden = true;
    el.textEmpty.textContent = '';
    el.text.removeAttribute('aria-invalid');
  }
  updateTextLeft();
}

// sendTyping tells the advisor the visitor is typing, at most every
// TYPING_EVERY_MS and only while chatting with something typed.
function sendTyping() {
  if (over || body.dataset.state !== 'chatting' || el.text.value.trim() === '') return;
  const now = Date.now();
  if (now - typingSent < TYPING_EVERY_MS) return;
  if (socket?.send({ type: 'typing' })) typingSent = now;
}

// advisorTyping shows that the advisor is typing until TYPING_SHOWN_MS pass
// without a typing frame or their message comes. The text is set when a
// burst starts; later frames of the burst change nothing, so a screen
// reader hears it once.
function advisorTyping() {
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopAdvisorTyping, TYPING_SHOWN_MS);
  setText(el.typing, fill(t['visitor.typing'], { name: advisorName || t['visitor.advisor_fallback'] }));
}

function stopAdvisorTyping() {
  clearTimeout(typingTimer);
  typingTimer = 0;
  setText(el.typing, '');
}

// --- save -----------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');
const localDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const clock = new Intl.DateTimeFormat(displayLocale(lang), { hour: '2-digit', minute: '2-digit' });
const STATE_KEYS = { pending: 'common.sending', failed: 'common.not_sent', lost: 'common.lost' };

// conversationText is the transcript as plain text: a line per entry with
// its time, who wrote it (You or the advisor's display name; a dash before
// a notice) and the text, and the date wherever the day changes.
function conversationText() {
  const day = new Intl.DateTimeFormat(displayLocale(lang), { dateStyle: 'long' });
  const out = [t['visitor.chat.heading']];
  let lastDay = '';
  for (const line of transcript.lines()) {
    if (!line.text) continue;
    if (line.at && localDay(line.at) !== lastDay) {
      lastDay = localDay(line.at);
      out.push('', day.format(line.at), '');
    }
    const time = line.at ? clock.format(line.at) + '  ' : '';
    const text = line.text.replace(/\r\n?|\n/g, '\n    ');
    const state = line.state ? ` (${t[STATE_KEYS[line.state]]})` : '';
    out.push(line.system ? `${time}— ${text}` : `${time}${line.who}: ${text}${state}`);
  }
  return out.join('\n') + '\n';
}

// saveConversation makes the text file in the browser and offers it as a
// download: nothing is sent anywhere.
function saveConversation() {
  const file = `chat-${localDay(new Date())}.txt`;
  const url = URL.createObjectURL(new Blob([conversationText()], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its copy by then; the page keeps none.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
  say(el.saveStatus, fill(t['visitor.save.started'], { file }));
}

// showSaveEnded offers the saved copy after the end only when there is a
// message to keep.
function showSaveEnded() {
  el.saveEnded.hidden = !el.messages.querySelector('li.msg[data-kind="message"]');
}

el.save.addEventListener('click', saveConversation);
el.saveNow.addEventListener('click', saveConversation);

// --- feedback -------------------------------------------------------------

const updateCommentLeft = charsLeft(el.feedbackComment, el.feedbackLeft, el.feedbackCommentStatus, MAX_COMMENT, Infinity, COMMENT_STEPS);

// offerFeedback asks the one question after a conversation with an
// advisor, holding its id and token in memory for the answer.
function offerFeedback() {
  if (!conversation || !token || !hadAdvisor) return;
  feedbackAsked = true;
  closeFeedback();
  el.feedbackDone.hidden = true;
  feedback = { conversation, token };
  el.feedback.hidden = false;
}

// closeFeedback puts the question away and forgets the id and token.
function closeFeedback() {
  feedback = null;
  el.feedback.hidden = true;
  el.feedback.reset();
  say(el.feedbackMessage, '');
  updateCommentLeft();
}

function feedbackDone(key) {
  closeFeedback();
  el.feedbackDone.textContent = t[key];
  el.feedbackDone.hidden = false;
  el.feedbackDone.focus();
}

// postFeedback sends the answer (docs/protocol.md, "Feedback") and returns
// the status, 0 when the network failed, and the error code if any.
async function postFeedback(answer) {
  try {
    const res = await fetch('/feedback', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(answer),
      credentials: 'omit',
      cache: 'no-store',
    });
    const code = res.ok ? '' : (await res.json().catch(() => null))?.error ?? '';
    return { status: res.status, code };
  } catch {
    return { status: 0, code: '' };
  }
}

el.feedback.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!feedback || feedbackBusy) return;
  const rating = Number(el.feedback.querySelector('input[name=rating]:checked')?.value ?? 0);
  if (!rating) {
    say(el.feedbackMessage, t['visitor.feedback.required']);
    $('rating-1').focus();
    return;
  }
  const sent = feedback;
  feedbackBusy = true;
  say(el.feedbackMessage, t['common.sending']);
  const { status, code } = await postFeedback({ ...sent, rating, comment: el.feedbackComment.value });
  feedbackBusy = false;
  if (feedback !== sent) return; // put away meanwhile
  if (status === 204) feedbackDone('visitor.feedback.thanks');
  else if (code === 'duplicate') feedbackDone('visitor.feedback.duplicate');
  else if (status === 404) feedbackDone('visitor.feedback.gone');
  else if (code === 'not_ended') say(el.feedbackMessage, t['visitor.feedback.not_yet']);
  else if (status === 0 || status === 429 || status >= 500) say(el.feedbackMessage, t['visitor.feedback.network']);
  else feedbackDone('visitor.feedback.failed'); // refused as it is: trying again would not help
});

el.feedback.addEventListener('change', (ev) => {
  if (ev.target.name === 'rating' && el.feedbackMessage.textContent === t['visitor.feedback.required']) {
    say(el.feedbackMessage, '');
  }
});
el.feedbackComment.addEventListener('input', updateCommentLeft);
el.feedbackSkip.addEventListener('click', () => {
  closeFeedback();
  el.endedHeading.focus();
});

// --- keep under a return code ---------------------------------------------

// showKeep offers to keep the conversation while chatting and after the
// end (while it still exists and has a message), or says it is kept.
function showKeep() {
  const state = body.dataset.state;
  const done = linked ? t['visitor.keep.linked'] : kept ? t['visitor.keep.kept'] : '';
  el.keepNow.hidden = state !== 'chatting' || !!done || !conversation;
  setText(el.keepNowDone, state === 'chatting' ? done : '');
  const hasMessage = !!el.messages.querySelector('li.msg[data-kind="message"]');
  el.keepEnded.hidden = state !== 'ended' || !!done || !conversation || !token || !hasMessage || keepTimer === -1;
  if (state === 'ended' && done) setText(el.keepDone, done);
}

// keepUntilDeleted puts the keep away when the ended conversation is
// deleted: after that, POST /keep could only say it is gone.
function keepUntilDeleted() {
  clearTimeout(keepTimer);
  keepTimer = 0;
  if (!retentionMs) return;
  keepTimer = setTimeout(() => {
    keepTimer = -1;
    showKeep();
  }, retentionMs);
}

// keepConversation asks for a return code (docs/protocol.md, "Return
// codes") and shows it once; the page keeps no copy.
async function keepConversation(button) {
  if (!conversation || !token || keepBusy || kept || linked) return;
  keepBusy = true;
  button.disabled = true;
  const { status, data } = await postJSON('/keep', { conversation, token });
  keepBusy = false;
  button.disabled = false;
  const onEnded = body.dataset.state === 'ended';
  const result = onEnded ? el.keepDone : el.keepNowDone;
  if (status === 200 && typeof data?.code === 'string') {
    kept = true;
    showKeep();
    showCode(data.code, () => (body.dataset.state === 'chatting' ? el.text : onEnded ? el.keepDone : el.endedHeading).focus());
    return;
  }
  if (data?.error === 'already_kept') {
    kept = true;
    showKeep();
    setText(result, t['visitor.keep.already']);
  } else if (status === 404) {
    keepTimer = -1;
    showKeep();
    setText(el.keepDone, t['visitor.keep.gone']);
  } else {
    setText(result, t['visitor.keep.failed']);
  }
}

el.keepNow.addEventListener('click', () => keepConversation(el.keepNow));
el.keep.addEventListener('click', () => keepConversation(el.keep));
el.keepDone.tabIndex = -1;

// startLinked starts a new conversation under a return code, in the
// thread's audience and language (return.js).
function startLinked(code, threadAudience, threadLang) {
  audience = threadAudience;
  linkCode = code;
  linkLang = languages().includes(threadLang) ? threadLang : lang;
  begin();
  $('waiting-heading').focus();
}

initReturn({
  lang,
  system: systemText,
  setState,
  isOpen: () => !$('start').disabled,
  startLinked,
  charsLeft: (n) => charsLeftText(n),
});

initAsk({
  lang,
  setState: (state) => {
    if (state === 'ask' && body.dataset.state !== 'ask') askFrom = body.dataset.state === 'busy' ? 'busy' : 'landing';
    setState(state);
  },
  charsLeft: (n) => charsLeftText(n),
  back: () => setState(askFrom),
});

// --- start ----------------------------------------------------------------

composerChanged();
updateCommentLeft();

if (!switchLanguageIfStored()) {
  if (conversation && token) {
    // Back after a reload or a language switch: pick the conversation up
    // again. The page starts with an empty transcript, so ask for all of it.
    setState(sessionStorage.getItem(KEY.state) === 'chatting' ? 'chatting' : 'waiting');
    connect();
  } else {
    setState('landing');
  }
}
