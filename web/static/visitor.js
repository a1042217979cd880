// The visitor's chat page: landing -> waiting -> chatting -> ended.
// Speaks docs/protocol.md on /ws/visitor.
import { ReconnectingSocket, socketURL } from './socket.js';
import { Transcript, fill, readMessages } from './transcript.js';

const KEY = {
  lang: 'advicechat.lang',
  conversation: 'advicechat.conversation',
  token: 'advicechat.token',
  seq: 'advicechat.seq',
  state: 'advicechat.state',
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
};

let socket = null;
let transcript = newTranscript();
let conversation = sessionStorage.getItem(KEY.conversation);
let token = sessionStorage.getItem(KEY.token);
let audience = null;
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
  el.ended.hidden = state !== 'ended';
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
  if (state === 'waiting' || state === 'ended') {
    (state === 'waiting' ? el.waiting : el.ended).scrollIntoView({ block: 'nearest' });
  }
}

function showPosition(position) {
  const n = Number(position);
  if (n === 1) el.position.textContent = t['visitor.waiting.next'];
  else if (n > 1) el.position.textContent = fill(t['visitor.waiting.position'], { position: n });
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
  el.messages.replaceChildren();
  transcript = newTranscript();
  el.advisor.textContent = '';
  el.position.textContent = t['visitor.waiting.connecting'];
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
        socket.send({ type: 'start', audience, lang });
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
      break;
    case 'state':
      if (!resumed) accepted();
      if (over && f.status !== 'ended') break;
      if (f.status === 'waiting') {
        showPosition(f.position);
        setState('waiting');
      } else if (f.status === 'active') {
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
  const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  if (!transcript.add(e)) return;
  saveSeq();
  if (e.kind === 'joined') showAdvisor(e.name);
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
  conversation = token = null;
  el.notice.hidden = true;
  el.position.textContent = t['visitor.waiting.connecting'];
  setState('waiting');
  $('waiting-heading').focus();
  connect();
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
