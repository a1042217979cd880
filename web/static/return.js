// Coming back with a return code (docs/protocol.md, "Return codes"): the
// landing page's "I have a return code" form, the earlier conversations
// and answered questions read-only, questions still waiting, and what the
// visitor can do next: start a new conversation linked to the thread,
// reply with a question under the code, or forget it all. The code is held
// in memory while the thread is shown, never stored, and goes with the
// thread when it is closed, on quick exit and when the page is left.
import { Transcript, displayLocale, fill, readMessages } from './transcript.js';
import { postJSON } from './return-code.js';

const t = readMessages();
const $ = (id) => document.getElementById(id);
const el = {
  open: $('return-open'), form: $('return-form'), input: $('return-code'), error: $('return-error'),
  cancel: $('return-cancel'), submit: $('return-submit'),
  thread: $('thread'), empty: $('returned-empty'), note: $('returned-note'),
  pending: $('pending'), pendingList: $('pending-list'), forgotten: $('forgotten'),
  actions: $('returned-actions'), startBlock: $('return-start-block'), start: $('return-start'),
  startClosed: $('return-start-closed'),
  replyOpen: $('reply-open'), replyForm: $('reply-form'), replyText: $('reply-text'),
  replyError: $('reply-error'), replyLeft: $('reply-left'), replySent: $('reply-sent'), replySend: $('reply-send'),
  forgetOpen: $('forget-open'), forgetDialog: $('forget-dialog'), close: $('returned-close'),
};

// The message limit (docs/protocol.md, "Message text"), and below how
// many characters left the count shows.
const MAX_TEXT = 4000;
const SHOW_LEFT_BELOW = 500;

let opts = null; // from initReturn
let held = null; // { code, thread, questions } while shown
let busy = false; // a request is on its way

// initReturn wires the form. o.lang: the page's language; o.system(entry):
// the text of a system line; o.setState(state); o.isOpen(): may a chat
// start now; o.startLinked(code, audience, lang); o.charsLeft(n): text.
export function initReturn(o) {
  opts = o;
}

const partDate = () => new Intl.DateTimeFormat(displayLocale(opts.lang), { dateStyle: 'long', timeStyle: 'short' });

// --- the form ---------------------------------------------------------------

function showForm(on) {
  el.form.hidden = !on;
  el.open.setAttribute('aria-expanded', String(on));
  if (on) {
    el.input.focus();
  } else {
    el.input.value = '';
    setError('');
  }
}

function setError(text) {
  el.error.textContent = text;
  el.error.hidden = !text;
  if (text) el.input.setAttribute('aria-invalid', 'true');
  else el.input.removeAttribute('aria-invalid');
}

el.open.addEventListener('click', () => showForm(el.form.hidden));
el.cancel.addEventListener('click', () => {
  showForm(false);
  el.open.focus();
});
el.input.addEventListener('input', () => {
  if (!el.error.hidden) setError('');
});

// refusalText is what the page says to a refused code request.
function refusalText(status, code) {
  if (code === 'unknown_code' || status === 404) return t['visitor.return.unknown'];
  if (code === 'rate_limited' || status === 429) return t['visitor.return.rate_limited'];
  return t['visitor.return.failed'];
}

el.form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (busy) return;
  const code = el.input.value.trim();
  if (!code) {
    setError(t['visitor.return.empty']);
    el.input.focus();
    return;
  }
  busy = true;
  el.submit.disabled = true;
  const { status, data } = await postJSON('/return', { code });
  busy = false;
  el.submit.disabled = false;
  if (status !== 200 || !data || typeof data.thread !== 'object') {
    setError(refusalText(status, data?.error));
    el.input.focus();
    return;
  }
  showForm(false);
  show(code, data.thread, Array.isArray(data.questions) ? data.questions : []);
});

// --- the thread -------------------------------------------------------------

function show(code, thread, questions) {
  held = { code, thread, questions: [...questions] };
  const parts = Array.isArray(thread.parts) ? thread.parts : [];
  el.thread.replaceChildren(...parts.map(renderPart));
  el.empty.hidden = parts.length > 0 || questions.length > 0;
  renderPending();
  el.forgotten.hidden = true;
  el.note.hidden = false;
  el.actions.hidden = false;
  const open = opts.isOpen();
  el.startBlock.hidden = !open;
  el.startClosed.hidden = open;
  closeReply();
  el.replySent.hidden = true;
  opts.setState('returned');
}

// renderPart shows one earlier conversation or answered question,
// read-only, in the transcript's own layout.
function renderPart(part) {
  const section = document.createElement('section');
  section.className = 'part';
  const h = document.createElement('h2');
  const started = Number(part.started) || Number(part.entries?.[0]?.at) || 0;
  const key = part.kind === 'question' ? 'visitor.return.part_question' : 'visitor.return.part_chat';
  h.textContent = fill(t[key], { date: started ? partDate().format(new Date(started)) : '' });
  const ol = document.createElement('ol');
  ol.className = 'messages';
  const transcript = new Transcript(ol, {
    self: 'visitor',
    t,
    lang: opts.lang,
    who: (e) => (e.from === 'visitor' ? t['common.you'] : e.name || t['visitor.advisor_fallback']),
    system: opts.system,
    retry: () => {},
  });
  (Array.isArray(part.entries) ? part.entries : []).forEach((e, i) => {
    // An entry's own seq when it has one; a question's two entries may
    // come without.
    transcript.add({ ...e, seq: Number(e.seq) > 0 ? e.seq : i + 1 });
  });
  section.append(h, ol);
  return section;
}

function renderPending() {
  const qs = held?.questions ?? [];
  el.pending.hidden = qs.length === 0;
  const day = partDate();
  el.pendingList.replaceChildren(...qs.map((q) => {
    const li = document.createElement('li');
    const text = document.createElement('p');
    text.className = 'text';
    text.dir = 'auto';
    text.textContent = q.text ?? '';
    const meta = document.createElement('p');
    meta.className = 'small';
    const at = Number(q.at) ? day.format(new Date(Number(q.at))) : '';
    meta.textContent = `${fill(t['visitor.return.pending_left'], { date: at })} ${q.answering ? t['visitor.question.answering'] : t['visitor.question.pending']}`;
    li.append(text, meta);
    return li;
  }));
}

// clearReturn forgets the code and takes the thread out of the page.
export function clearReturn() {
  held = null;
  el.thread.replaceChildren();
  el.pendingList.replaceChildren();
  el.input.value = '';
  el.replyText.value = '';
  setError('');
  if (el.forgetDialog.open) el.forgetDialog.close();
}

window.addEventListener('pagehide', clearReturn);

el.close.addEventListener('click', () => {
  clearReturn();
  opts.setState('landing');
});

// The thread's audience and language, for what follows it; a thread of
// questions alone takes them from the first question.
function threadTopic() {
  const q = held.questions[0] ?? {};
  return {
    audience: held.thread.audience || q.audience || 'public',
    lang: held.thread.lang || q.lang || opts.lang,
  };
}

el.start.addEventListener('click', () => {
  if (!held) return;
  const { code } = held;
  const { audience, lang } = threadTopic();
  clearReturn();
  opts.startLinked(code, audience, lang);
});

// --- reply ------------------------------------------------------------------

function closeReply() {
  el.replyForm.hidden = true;
  el.replyOpen.setAttribute('aria-expanded', 'false');
  el.replyText.value = '';
  replyError('');
  updateReplyLeft();
}

function replyError(text) {
  el.replyError.textContent = text;
  el.replyError.hidden = !text;
  if (text) el.replyText.setAttribute('aria-invalid', 'true');
  else el.replyText.removeAttribute('aria-invalid');
}

function updateReplyLeft() {
  const left = Math.max(0, MAX_TEXT - el.replyText.value.length);
  el.replyLeft.hidden = left >= SHOW_LEFT_BELOW;
  el.replyLeft.textContent = el.replyLeft.hidden ? '' : opts?.charsLeft(left) ?? '';
}

el.replyOpen.addEventListener('click', () => {
  const on = el.replyForm.hidden;
  if (!on) {
    closeReply();
    return;
  }
  el.replyForm.hidden = false;
  el.replyOpen.setAttribute('aria-expanded', 'true');
  el.replySent.hidden = true;
  el.replyText.focus();
});
el.replyText.addEventListener('input', () => {
  if (!el.replyError.hidden) replyError('');
  updateReplyLeft();
});

// questionError is what the page says to a refused question or reply.
export function questionError(status, code) {
  switch (code) {
    case 'empty': return t['error.empty'];
    case 'too_long': return t['error.too_long'];
    case 'bad_utf8': return t['error.bad_utf8'];
    case 'unknown_code': return t['visitor.return.unknown'];
    case 'rate_limited': return t['visitor.ask.rate_limited'];
    case 'unavailable': return t['visitor.start.unavailable'];
    case 'chat_open': return t['visitor.question.error.chat_open'];
    default: return status === 0 || status >= 500 ? t['visitor.return.failed'] : t['error.generic'];
  }
}

// nextOpeningText says when the helpline answers: the next opening, or as
// soon as it can.
export function nextOpeningText(iso, lang) {
  const at = iso ? Date.parse(iso) : NaN;
  if (!Number.isFinite(at)) return t['visitor.ask.no_opening'];
  const when = new Intl.DateTimeFormat(displayLocale(lang), { weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' }).format(new Date(at));
  return fill(t['visitor.question.next_opening'], { when });
}

el.replyForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!held || busy) return;
  const text = el.replyText.value.trim();
  if (!text) {
    replyError(t['error.empty']);
    el.replyText.focus();
    return;
  }
  const { audience, lang } = threadTopic();
  busy = true;
  el.replySend.disabled = true;
  const { status, data } = await postJSON('/question', { audience, lang, text, code: held.code });
  busy = false;
  el.replySend.disabled = false;
  if (!held) return; // closed meanwhile
  if (status !== 200) {
    replyError(questionError(status, data?.error));
    el.replyText.focus();
    return;
  }
  held.questions.push({ text, at: Date.now(), audience, lang, answering: false });
  renderPending();
  el.empty.hidden = true;
  closeReply();
  el.replySent.textContent = `${t['visitor.return.reply_sent']} ${nextOpeningText(data?.next_opening, opts.lang)}`;
  el.replySent.hidden = false;
  el.replyOpen.focus();
});

// --- forget -----------------------------------------------------------------

// A non-modal dialog, as the end's: the quick exit must stay usable.
el.forgetOpen.addEventListener('click', () => {
  if (!held) return;
  if (typeof el.forgetDialog.show !== 'function') {
    if (confirm(t['visitor.return.forget_heading'])) forget();
    return;
  }
  el.forgetDialog.show();
  $('forget-cancel').focus();
});
el.forgetDialog.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') el.forgetDialog.close();
});
el.forgetDialog.addEventListener('close', () => {
  const yes = el.forgetDialog.returnValue === 'confirm';
  el.forgetDialog.returnValue = '';
  if (yes) forget();
  else if (held) el.forgetOpen.focus();
});

async function forget() {
  if (!held || busy) return;
  busy = true;
  const { status, data } = await postJSON('/forget', { code: held.code });
  busy = false;
  if (status !== 204 && status !== 404) {
    el.replySent.textContent = refusalText(status, data?.error);
    el.replySent.hidden = false;
    el.forgetOpen.focus();
    return;
  }
  // 404: gone already (forgotten elsewhere or expired); nothing is kept
  // either way.
  clearReturn();
  el.empty.hidden = true;
  el.pending.hidden = true;
  el.note.hidden = true;
  el.actions.hidden = true;
  el.forgotten.hidden = false;
  el.forgotten.focus();
}
