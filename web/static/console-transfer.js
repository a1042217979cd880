// The advisor console's transfer: the dialog that hands the open
// conversation to a colleague on duty or back to a queue, with a note.
import { fill } from './transcript.js';
import { queueName, t } from './labels.js';
import { conversations, socket, state } from './console-state.js';
import { announce, el } from './console-page.js';

el.transfer.addEventListener('click', () => {
  const c = state.selected;
  if (!c || c.closed || typeof el.transferDialog.showModal !== 'function') return;
  el.transferDialog.dataset.conversation = c.id;
  el.transferNote.value = '';
  el.transferError.hidden = true;
  el.transferConfirm.disabled = false;
  for (const input of el.transferForm.querySelectorAll('input[name="target"]')) input.checked = false;
  renderTargets();
  el.transferDialog.showModal();
});

// renderTargets lists the colleagues on duty and the queues a
// conversation can go to, keeping the choice and the focus.
export function renderTargets() {
  const checked = el.transferForm.querySelector('input[name="target"]:checked')?.value;
  const focused = document.activeElement?.name === 'target' ? document.activeElement.value : null;
  const advisors = state.colleagues.filter((a) => a && typeof a.name === 'string').map((a, i) => {
    const full = (Number(a.load) || 0) >= (Number(a.capacity) || 0);
    const load = `${Number(a.load) || 0} / ${Number(a.capacity) || 0}`;
    return target(`advisor-${i}`, `advisor:${a.name}`, a.alias || a.name,
      full ? `${load} · ${t['advisor.transfer.full']}` : load, full);
  });
  const queueTargets = state.queues.filter((q) => q && typeof q.name === 'string').map((q, i) =>
    target(`queue-${i}`, `queue:${q.name}`, queueName(q.name), fill(t['advisor.queue.waiting'], { count: q.waiting ?? 0 }), false));
  el.transferAdvisors.replaceChildren(...advisors);
  el.transferQueues.replaceChildren(...queueTargets);
  el.transferNoAdvisors.hidden = advisors.length > 0;
  for (const input of el.transferForm.querySelectorAll('input[name="target"]')) {
    if (input.value === checked && !input.disabled) input.checked = true;
    if (input.value === focused && !input.disabled) input.focus();
  }
}

function target(key, value, name, detail, disabled) {
  const div = document.createElement('div');
  div.className = 'target';
  const input = document.createElement('input');
  input.type = 'radio';
  input.name = 'target';
  input.id = `target-${key}`;
  input.value = value;
  input.disabled = disabled;
  const label = document.createElement('label');
  label.htmlFor = input.id;
  const strong = document.createElement('span');
  strong.className = 'target-name';
  strong.textContent = name;
  const small = document.createElement('span');
  small.className = 'target-detail';
  small.textContent = detail;
  label.append(strong, ' ', small);
  div.append(input, label);
  return div;
}

function transferError(text) {
  el.transferConfirm.disabled = false;
  if (!el.transferDialog.open) {
    announce(text);
    return;
  }
  el.transferError.textContent = text;
  el.transferError.hidden = false;
}

el.transferForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const c = conversations.get(el.transferDialog.dataset.conversation);
  if (!c || c.closed) {
    el.transferDialog.close('cancel');
    return;
  }
  const choice = el.transferForm.querySelector('input[name="target"]:checked')?.value ?? '';
  const at = choice.indexOf(':');
  if (at < 0) {
    transferError(t['advisor.transfer.error.choose']);
    return;
  }
  const frame = { type: 'transfer', conversation: c.id };
  if (choice.slice(0, at) === 'advisor') frame.to_advisor = choice.slice(at + 1);
  else frame.to_queue = choice.slice(at + 1);
  const note = el.transferNote.value.trim();
  if (note) frame.note = note;
  el.transferError.hidden = true;
  if (!socket.send(frame)) {
    transferError(t['advisor.error.offline']);
    return;
  }
  state.transferring = c.id;
  el.transferConfirm.disabled = true;
});

el.transferCancel.addEventListener('click', () => el.transferDialog.close('cancel'));

el.transferDialog.addEventListener('close', () => {
  el.transferConfirm.disabled = false;
  if (!el.transfer.hidden && !el.controls.hidden) el.transfer.focus();
});

// transferRefused shows why the server refused the transfer awaited.
export function transferRefused(code) {
  state.transferring = null;
  transferError(t[`advisor.transfer.error.${code}`] ?? t['advisor.transfer.error.other']);
}

// transferDone closes the dialog once the conversation c went where the
// advisor sent it.
export function transferDone(c) {
  state.transferring = null;
  if (el.transferDialog.open) el.transferDialog.close('done');
  announce(t['advisor.conversation.transferred_note']);
  if (state.selected === c) el.heading.focus();
}

// closeTransfer closes the dialog when c, which it is about, closed other
// than by the transfer.
export function closeTransfer(c) {
  if (el.transferDialog.open && state.transferring !== c.id) el.transferDialog.close('cancel');
}
