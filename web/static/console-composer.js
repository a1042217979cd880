// The advisor console's composer: the message box and the internal note
// box of the open conversation, what is left of a message's length, and
// the typing frames that tell the visitor the advisor writes.
import { fill } from './transcript.js';
import { t } from './labels.js';
import { sendOwn, socket, state } from './console-state.js';
import { announce, el } from './console-page.js';
import { cannedKeydown, closeCanned, onCannedInsert, updateCanned } from './console-canned.js';

// Typing frames go out at most this often while the advisor writes.
const TYPING_EVERY_MS = 3000;

// write sends what the advisor typed in field as an own entry of kind
// (message or note) of the open conversation. White space alone is not
// sent, nor is a message over the limit: it stays in the box to shorten.
function write(field, kind) {
  const c = state.selected;
  const text = field.value.trim();
  if (!c || c.closed || !text) return;
  if (field.maxLength > 0 && text.length > field.maxLength) {
    announce(fill(t['advisor.composer.over'], { count: text.length - field.maxLength }));
    return;
  }
  const id = c.transcript.send(text, kind);
  sendOwn(c, id, text, kind);
  field.value = '';
  if (kind === 'note') {
    c.noteDraft = '';
  } else {
    c.draft = '';
    closeCanned();
    renderRemaining(false);
  }
  c.ol.scrollTop = c.ol.scrollHeight;
}

el.composer.addEventListener('submit', (ev) => {
  ev.preventDefault();
  write(el.text, 'message');
});

// The internal note opens and closes under its button, which says which.
export function showNote(open) {
  el.noteForm.hidden = !open;
  el.noteToggle.setAttribute('aria-expanded', String(open));
}

el.noteToggle.addEventListener('click', () => {
  const open = el.noteForm.hidden;
  showNote(open);
  if (open) el.noteText.focus();
});

el.noteForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  write(el.noteText, 'note');
});

for (const [field, form] of [[el.text, el.composer], [el.noteText, el.noteForm]]) {
  field.addEventListener('keydown', (ev) => {
    if (field === el.text && cannedKeydown(ev)) return;
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
}

el.text.addEventListener('input', () => {
  updateCanned();
  renderRemaining();
  sendTyping();
});

function sendTyping() {
  const c = state.selected;
  if (!c || c.closed || el.text.value.trim() === '') return;
  const now = Date.now();
  if (now - c.typingSent < TYPING_EVERY_MS) return;
  if (socket.send({ type: 'typing', conversation: c.id })) c.typingSent = now;
}

onCannedInsert(() => {
  renderRemaining();
  sendTyping();
});

// The message box shows what is left below REMAINING_SHOWN characters
// and says it when it falls below each of REMAINING_STEPS, not per key.
const REMAINING_SHOWN = 500;
const REMAINING_STEPS = [REMAINING_SHOWN, 250, 100, 50, 20, 10, 1];
let remainingStep = 0;

export function renderRemaining(speak = true) {
  const max = el.text.maxLength > 0 ? el.text.maxLength : 4000;
  const left = max - el.text.value.length;
  const step = REMAINING_STEPS.filter((s) => left < s).length;
  const text = step === 0 ? ''
    : left >= 0 ? fill(t['advisor.composer.remaining'], { count: left })
    : fill(t['advisor.composer.over'], { count: -left });
  if (el.remaining.textContent !== text) el.remaining.textContent = text;
  el.remaining.hidden = step === 0;
  el.remaining.classList.toggle('low', left < 50);
  el.remaining.classList.toggle('over', left < 0);
  if (speak && step > remainingStep) announce(text);
  remainingStep = step;
}

