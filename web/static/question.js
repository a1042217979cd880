// Leaving a question while the chat is closed or very busy
// (docs/protocol.md, "Questions"): audience, language and the text, with
// the limits of a message. The answer is a return code, shown once, and
// when the helpline will answer; the visitor reads the answer later with
// the code ("I have a return code").
import { clearCode, postJSON, showCode } from './return-code.js';
import { nextOpeningText, questionError } from './return.js';
import { readMessages } from './transcript.js';

const t = readMessages();
const $ = (id) => document.getElementById(id);
const el = {
  form: $('ask-form'), text: $('ask-text'), lang: $('ask-lang'), left: $('ask-left'), error: $('ask-error'),
  audienceError: $('ask-audience-error'), send: $('ask-send'), cancel: $('ask-cancel'),
  introClosed: $('ask-intro-closed'), introBusy: $('ask-intro-busy'),
  done: $('ask-done'), sent: $('ask-sent'), when: $('ask-when'), back: $('ask-back'),
};

const MAX_TEXT = 4000;
const SHOW_LEFT_BELOW = 500;

let opts = null;
let busy = false;

// initAsk wires the form and the offers to it. o.lang; o.setState(state);
// o.charsLeft(n): the text of what is left; o.back(): back to where the
// visitor came from.
export function initAsk(o) {
  opts = o;
  for (const [id, why] of [['ask-open', 'closed'], ['busy-ask', 'busy']]) {
    $(id)?.addEventListener('click', () => openAsk(why));
  }
}

// openAsk shows the form, saying why a question is offered.
export function openAsk(why) {
  el.introClosed.hidden = why !== 'closed';
  el.introBusy.hidden = why !== 'busy';
  el.form.hidden = false;
  el.done.hidden = true;
  setError('');
  el.audienceError.hidden = true;
  updateLeft();
  opts.setState('ask');
}

// clearAsk empties the form: after it was sent, on quick exit, on leaving.
export function clearAsk() {
  el.form.reset();
  el.when.textContent = '';
  setError('');
  updateLeft();
}

window.addEventListener('pagehide', clearAsk);

function setError(text) {
  el.error.textContent = text;
  el.error.hidden = !text;
  if (text) el.text.setAttribute('aria-invalid', 'true');
  else el.text.removeAttribute('aria-invalid');
}

function updateLeft() {
  const left = Math.max(0, MAX_TEXT - el.text.value.length);
  el.left.hidden = left >= SHOW_LEFT_BELOW;
  el.left.textContent = el.left.hidden ? '' : opts?.charsLeft(left) ?? '';
}

el.text.addEventListener('input', () => {
  if (!el.error.hidden) setError('');
  updateLeft();
});
el.form.addEventListener('change', (ev) => {
  if (ev.target.name === 'ask-audience') el.audienceError.hidden = true;
});

el.form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (busy) return;
  const audience = el.form.querySelector('input[name=ask-audience]:checked')?.value;
  el.audienceError.hidden = !!audience;
  if (!audience) {
    el.form.querySelector('input[name=ask-audience]').focus();
    return;
  }
  const text = el.text.value.trim();
  if (!text) {
    setError(t['error.empty']);
    el.text.focus();
    return;
  }
  busy = true;
  el.send.disabled = true;
  const { status, data } = await postJSON('/question', { audience, lang: el.lang.value, text });
  busy = false;
  el.send.disabled = false;
  if (status !== 200 || typeof data?.code !== 'string') {
    setError(questionError(status, data?.error));
    el.text.focus();
    return;
  }
  clearAsk();
  el.form.hidden = true;
  el.when.textContent = nextOpeningText(data.next_opening, opts.lang);
  el.done.hidden = false;
  showCode(data.code, () => el.sent.focus(), t['visitor.question.code']);
});

el.cancel.addEventListener('click', () => {
  clearAsk();
  opts.back();
});
el.back.addEventListener('click', () => {
  clearCode();
  clearAsk();
  el.form.hidden = false;
  el.done.hidden = true;
  opts.back();
});
