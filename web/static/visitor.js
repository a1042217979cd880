// The visitor's chat page: landing -> waiting -> chatting -> ended, or
// landing -> busy when the wait would be too long. A visitor in danger now
// sees 112 first and goes to the front of the queue (urgent).
// Speaks docs/protocol.md on /ws/visitor.
import { ReconnectingSocket, socketURL } from './socket.js';
import { Transcript, fill, readMessages } from './transcript.js';

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
const el = {
  landing: $('landing'), waiting: $('waiting'), chat: $('chat'), ended: $('ended'),
  notice: $('notice'), startForm: $('start-form'), audienceError: $('audience-error'),
  position: $('position'), cancel: $('cancel'), advisor: $('advisor'),
  messages: $('messages'), controls: $('chat-controls'), composer: $('composer'),
  text: $('text'), end: $('end'), endDialog: $('end-dialog'),
  endedReason: $('ended-reason'), endedHeading: $('ended-heading'), newChat: $('new'),
  reconnecting: $('reconnecting'), quickExit: $('quick-exit'),
  danger: $('danger'), dangerCall: $('danger-call'), dangerText: $('danger-text'),
  dangerNote: $('danger-note'), dangerClosed: $('danger-closed'),
  estimate: $('estimate'), longWait: $('long-wait'), longWaitContent: $('long-wait-content'),
  busy: $('busy'), busyWait: $('busy-wait'), busyRetry: $('busy-retry'),
};

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

function switchLanguageIfStored() {
  const stored = sessionStorage.getItem(KEY.lang);
  const known = [...document.querySelectorAll('a.lang-switch')].map((a) => a.dataset.lang);
  const params = new URLSearchParams(location.search);
  if (stored && stored !== lang && known.includes(stored) && !params.has('lang')) {
    location.replace('?lang=' + encodeURIComponent(stored));
    return true;
  }
  return false;
}

for (const a of document.querySelectorAll('a.lang-switch')) {
  a.addEventListener('click', () => sessionStorage.setItem(KEY.lang, a.dataset.lang));
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
  showDanger();
  el.chat.hidden = state !== 'chatting' && (state === 'landing' || transcript.size === 0);
  el.controls.hidden = state !== 'chatting';
  el.advisor.hidden = state !== 'chatting';
  if (state === 'waiting' || state === 'chatting') sessionStorage.setItem(KEY.state, state);
  if (before === state) return;
  // Move focus only when it would otherwise be lost in a hidden section.
  const active = document.activeElement;
  const lost = !active || active === body || active.closest('[hidden]');
  if (state === 'ended') el.endedHeading.focus();
  else if (lost && state === 'chatting') el.text.focus();
  else if (lost) $(`${state}-heading`).focus();
  if (state === 'waiting' || state === 'ended' || state === 'busy') {
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
  }
  forget();
  setState('ended');
}

function reset(noticeKey) {
  over = true;
  socket?.close();
  socket = null;
  forget();
  conversation = token = audience = null;
  advisorName = '';
  endRequested = false;
  urgent = false;
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
  over = false;
  resumed = false;
  socket = new ReconnectingSocket(socketURL('/ws/visitor'), {
    onopen() {
      resumed = false;
      if (conversation && token) {
        socket.send({ type: 'resume', conversation, token, after: transcript.highest, at: transcript.highestAt });
      } else if (audience) {
        socket.send({ type: 'start', audience, lang, urgent });
      } else {
        socket.close();
      }
    },
    onframe,
    onclose(ev) {
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

function onframe(f) {
  switch (f.type) {
    case 'started':
      conversation = f.conversation;
      token = f.token;
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
        showLongWait(false);
        showAdvisor(f.advisor);
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
  const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  if (!transcript.add(e)) return;
  saveSeq();
  if (e.kind === 'joined') showAdvisor(e.name);
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
  const text = el.text.value.trim();
  if (!text || body.dataset.state !== 'chatting') return;
  const id = transcript.send(text);
  socket?.send({ type: 'message', id, text });
  el.text.value = '';
  el.messages.lastElementChild?.scrollIntoView({ block: 'nearest' });
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

// --- start ----------------------------------------------------------------

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
