// The advisor console's queue view: how many wait in each queue and for
// how long, and the waiting conversations, each with a Take button for a
// pick by hand.
import { fill } from './transcript.js';
import { languageName, queueName, runOn, t } from './labels.js';
import { picks, room, socket, state } from './console-state.js';
import { clearNotice, el, notice, priorityFlag } from './console-page.js';

const waitingItems = new Map(); // id -> item of the queue view
const waitingEmpty = document.createElement('li');
waitingEmpty.className = 'small';

export function renderQueue() {
  const now = Date.now();
  const items = state.queues.map((q) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'queue-name';
    name.textContent = queueName(q.name);
    const count = document.createElement('span');
    count.className = 'queue-count';
    count.textContent = fill(t['advisor.queue.waiting'], { count: q.waiting ?? 0 });
    li.append(name, ' ', count);
    if (q.waiting > 0) {
      li.classList.add('busy');
      const wait = document.createElement('span');
      wait.className = 'queue-wait';
      wait.textContent = fill(t['advisor.queue.longest'], { wait: runOn(q.longest_wait, state.queuesAt, now) });
      li.append(' ', wait);
    }
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'small';
    li.textContent = t['advisor.queue.empty'];
    items.push(li);
  }
  el.queue.replaceChildren(...items);
}

// renderWaiting lists the waiting conversations, each with a Take button.
// Items are kept and updated in place, so a button keeps its focus.
export function renderWaiting() {
  const { waiting, status } = state;
  const canTake = room();
  el.waitingHint.textContent = waiting.length === 0 ? ''
    : !status.duty ? t['advisor.waiting.off_duty']
    : !canTake ? t['advisor.waiting.full'] : '';
  el.waitingHint.hidden = el.waitingHint.textContent === '';
  const items = [];
  const ids = new Set();
  // Served queue by queue; those in danger come first here whatever
  // their queue, so that they stand out.
  const order = waiting.filter((w) => w && typeof w.id === 'string')
    .map((w, i) => [w, i])
    .sort(([a, i], [b, j]) => (Number(b.priority) || 0) - (Number(a.priority) || 0) || i - j)
    .map(([w]) => w);
  for (const w of order) {
    if (ids.has(w.id)) continue;
    ids.add(w.id);
    let item = waitingItems.get(w.id);
    if (!item) {
      item = waitingItem(w);
      waitingItems.set(w.id, item);
    }
    item.w = w;
    updateWaiting(item, canTake);
    items.push(item.li);
  }
  for (const id of [...waitingItems.keys()]) if (!ids.has(id)) waitingItems.delete(id);
  if (items.length === 0) {
    waitingEmpty.textContent = t['advisor.waiting.empty'];
    items.push(waitingEmpty);
  }
  const shown = el.waiting.children;
  if (items.length !== shown.length || items.some((li, i) => shown[i] !== li)) {
    const focused = document.activeElement;
    el.waiting.replaceChildren(...items);
    if (focused && focused !== document.body && el.waiting.contains(focused)) focused.focus();
  }
}

function waitingItem(w) {
  const li = document.createElement('li');
  li.className = 'waiting-item';
  const title = document.createElement('span');
  title.className = 'waiting-title';
  title.id = `waiting-${w.id}`;
  const flag = document.createElement('span');
  flag.className = 'waiting-flag';
  const time = document.createElement('span');
  time.className = 'waiting-time';
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'secondary take';
  button.dataset.pick = w.id;
  button.textContent = t['advisor.waiting.take'];
  button.setAttribute('aria-describedby', title.id);
  button.addEventListener('click', () => pick(w.id));
  const text = document.createElement('span');
  text.className = 'waiting-text';
  text.append(title, ' ', flag, ' ', time);
  li.append(text, button);
  return { li, title, flag, time, button, w, priority: null };
}

function updateWaiting(item, canTake) {
  const w = item.w;
  item.title.textContent = `${queueName(w.queue)} · ${languageName(w.lang)}`;
  if (item.priority !== Number(w.priority)) {
    item.priority = Number(w.priority);
    const flag = priorityFlag(w.priority);
    item.flag.replaceChildren(...(flag ? [flag] : []));
    item.li.classList.toggle('urgent', item.priority === 2);
  }
  item.time.textContent = fill(t['advisor.waiting.waited'], { wait: runOn(w.waited, state.queuesAt) });
  item.button.disabled = !canTake || picks.has(w.id);
}

function pick(id) {
  clearNotice(el.queueNotice);
  if (!room() || picks.has(id)) return;
  if (!socket.send({ type: 'pick', conversation: id })) {
    notice(el.queueNotice, t['advisor.error.offline']);
    return;
  }
  picks.add(id);
  renderWaiting();
}

// tickQueue runs the queue view's clocks on.
export function tickQueue() {
  if (state.queues.some((q) => q.waiting > 0)) renderQueue();
  const canTake = room();
  for (const item of waitingItems.values()) updateWaiting(item, canTake);
}
