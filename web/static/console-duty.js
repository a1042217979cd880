// The advisor console's status bar: duty, capacity, display name and
// load, and the banner when routing took the advisor off duty.
import { fill } from './transcript.js';
import { t } from './labels.js';
import { socket, state } from './console-state.js';
import { el, renderListEmpty } from './console-page.js';
import { beep } from './console-sound.js';
import { removeAllOffers } from './console-offers.js';
import { renderWaiting } from './console-queue.js';

let chosenCapacity = 0; // what the advisor picked for going on duty; 0: the most allowed

export function showStatus(f) {
  const status = { ...state.status, ...f, supervisor: f.supervisor === true };
  state.status = status;
  // The name stays "On duty"; whether the advisor is, is aria-pressed.
  el.duty.setAttribute('aria-pressed', String(!!status.duty));
  if (document.activeElement !== el.alias) el.alias.value = status.alias ?? '';
  renderCapacity();
  renderLoad();
  el.supervisor.hidden = !status.supervisor;
  if (status.duty) {
    el.offDuty.hidden = true;
  } else {
    // Off duty nothing can be accepted any more.
    removeAllOffers();
  }
  renderWaiting();
  renderListEmpty();
}

function renderCapacity() {
  const { status } = state;
  const max = Math.max(1, Number(status.max) || Number(status.capacity) || 1);
  if (el.capacity.options.length !== max) {
    el.capacity.replaceChildren(...Array.from({ length: max }, (_, i) => new Option(String(i + 1), String(i + 1))));
  }
  const want = status.duty ? Number(status.capacity) : chosenCapacity || max;
  el.capacity.value = String(Math.min(max, Math.max(1, want || max)));
  el.capacity.disabled = !socket.open;
}

function renderLoad() {
  const { status } = state;
  const offeredNow = Number(status.offered) || 0;
  const parts = [String(status.load ?? 0)];
  if (offeredNow > 0) {
    const visible = document.createElement('span');
    visible.setAttribute('aria-hidden', 'true');
    visible.textContent = ` (+${offeredNow})`;
    const spoken = document.createElement('span');
    spoken.className = 'visually-hidden';
    spoken.textContent = ` (${fill(t['advisor.load.offered'], { count: offeredNow })})`;
    parts.push(visible, spoken);
  }
  parts.push(` / ${status.capacity ?? 0}`);
  el.load.replaceChildren(...parts);
}

export function showOffDuty(reason) {
  el.offDutyText.textContent = t[`advisor.off_duty.${reason}`] ?? t['advisor.off_duty.other'];
  el.offDuty.hidden = false;
  beep();
}

el.offDutyDismiss.addEventListener('click', () => {
  el.offDuty.hidden = true;
  el.duty.focus();
});

el.duty.addEventListener('click', () => {
  const { status } = state;
  const on = !status.duty;
  if (!on && status.load > 0 && !confirm(t['advisor.duty.off_confirm'])) return;
  const frame = { type: 'duty', on };
  if (on && el.capacity.value) frame.capacity = Number(el.capacity.value);
  socket.send(frame);
});

// A new capacity counts at once when on duty, else from going on duty.
el.capacity.addEventListener('change', () => {
  const { status } = state;
  chosenCapacity = Number(el.capacity.value) || 0;
  if (status.duty && chosenCapacity > 0) socket.send({ type: 'duty', on: true, capacity: chosenCapacity });
});

el.aliasForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = el.alias.value.trim();
  if ([...name].length < 1 || [...name].length > 40) return;
  socket.send({ type: 'alias', name });
});
