// The supervisor view: every queue and advisor, live from /ws/supervisor,
// with a conversation's priority and reassignment as HTTP requests
// (docs/protocol.md, "Supervisor").
import { ReconnectingSocket, socketURL } from './socket.js';
import { fill } from './transcript.js';
import { audienceName, dutyName, languageName, queueName, runOn, t } from './labels.js';

const body = document.body;
const $ = (id) => document.getElementById(id);
const el = {
  reconnecting: $('reconnecting'), status: $('action-status'),
  queues: $('queues'),
  questions: $('questions'),
  questionsEmpty: $('questions-empty'),
  questionsWrap: $('questions-wrap'),
  waiting: $('waiting'), waitingWrap: $('waiting-wrap'), waitingEmpty: $('waiting-empty'),
  advisors: $('advisors'), advisorsWrap: $('advisors-wrap'), advisorsEmpty: $('advisors-empty'),
  dialog: $('reassign-dialog'), form: $('reassign-form'), what: $('reassign-what'),
  target: $('reassign-target'), note: $('reassign-note'), error: $('reassign-error'),
  cancel: $('reassign-cancel'), submit: $('reassign-submit'),
};

// The last overview and when it came: the clocks run on from there.
let view = { queues: [], advisors: [], waiting: [], questions: [] };
let viewAt = Date.now();
let opened = false; // the current connection attempt reached the server
let refused = false; // the server said no for good (session, role)

// --- helpers --------------------------------------------------------------

// since is a time the overview gave in seconds, run on to now.
function since(seconds) {
  return runOn(seconds, viewAt);
}

function priorityName(p) {
  return t[`supervisor.priority.${p}`] ?? String(p);
}

// shortID is enough of a conversation id to tell conversations apart on
// the page; the requests carry the whole id.
function shortID(id) {
  return String(id).slice(0, 6);
}

// advisorName is how an advisor is shown, isolated so that a name in one
// direction stays whole in a page in the other.
function advisorName(a) {
  const name = a.alias && a.alias !== a.username ? `${a.alias} (${a.username})` : a.username;
  return `\u2068${name}\u2069`;
}

function errorMessage(res) {
  if (res.status === 409 && res.code === 'bad_request') return t['supervisor.error.same'];
  return t[`supervisor.error.${res.code}`] ?? t['error.generic'];
}

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// syncRows shows one row per item in order, reusing the row of an item
// already shown so that focus and an open control stay where they are.
function syncRows(tbody, items, key, build, update) {
  const active = document.activeElement;
  const old = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]));
  const rows = items.map((item) => {
    const k = key(item);
    let tr = old.get(k);
    if (tr) old.delete(k);
    else {
      tr = build(item);
      tr.dataset.key = k;
    }
    update(tr, item);
    return tr;
  });
  for (const tr of old.values()) tr.remove();
  rows.forEach((tr, i) => {
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
  });
  if (active && active !== document.activeElement && document.contains(active)) active.focus({ preventScroll: true });
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// --- socket ---------------------------------------------------------------

const socket = new ReconnectingSocket(socketURL('/ws/supervisor'), {
  onopen() {
    opened = true;
  },
  onframe(f) {
    if (f.type === 'overview') {
      view = {
        queues: Array.isArray(f.queues) ? f.queues : [],
        advisors: Array.isArray(f.advisors) ? f.advisors : [],
        waiting: Array.isArray(f.waiting) ? f.waiting : [],
        questions: Array.isArray(f.questions) ? f.questions.filter((q) => q.open > 0) : [],
      };
      viewAt = Date.now();
      render();
    } else if (f.type === 'error' && (f.code === 'unauthorized' || f.code === 'forbidden')) {
      refused = true;
    }
  },
  onclose(ev) {
    const reachedServer = opened;
    opened = false;
    if (ev.code === 1008 || refused) {
      checkSession();
      el.reconnecting.textContent = t['advisor.connection_refused'];
      el.reconnecting.hidden = false;
      return false;
    }
    // A refused handshake (session ended, no longer a supervisor) looks
    // like 1006 to a browser.
    if (!reachedServer) checkSession();
    return true;
  },
  onstatus(connected, retrying) {
    body.dataset.connected = String(connected);
    if (connected || retrying) el.reconnecting.hidden = connected;
  },
});

async function checkSession() {
  try {
    const res = await fetch('/advisor/supervisor', { credentials: 'same-origin', cache: 'no-store', redirect: 'manual' });
    // Logged out: the console's address shows the login form.
    if (res.type === 'opaqueredirect' || res.status === 403) location.assign('/advisor');
  } catch {
    // offline: keep retrying
  }
}

// post sends a supervisor request and resolves to {ok, status, code, data}.
async function post(path, payload) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
    });
  } catch {
    return { ok: false, status: 0, code: '' };
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (res.ok) return { ok: true, status: res.status, code: '', data };
  if (res.status === 401) checkSession();
  return { ok: false, status: res.status, code: data?.error ?? '' };
}

function say(text, error = false) {
  el.status.classList.toggle('error', error);
  el.status.textContent = text;
}

// --- rendering ------------------------------------------------------------

function render() {
  renderQueues();
  renderQuestions();
  renderWaiting();
  renderAdvisors();
}

// cells appends n cells to a row and returns them.
function cells(tr, n) {
  const tds = Array.from({ length: n }, () => make('td'));
  tr.append(...tds);
  return tds;
}

function renderQueues() {
  syncRows(el.queues, view.queues, (q) => q.name, (q) => {
    const tr = make('tr');
    const th = make('th', '', queueName(q.name));
    th.scope = 'row';
    tr.append(th);
    for (let i = 0; i < 5; i++) tr.append(make('td', 'num'));
    return tr;
  }, (tr, q) => {
    const c = tr.children;
    const by = Array.isArray(q.by_priority) ? q.by_priority : [];
    tr.dataset.busy = String(q.waiting > 0);
    setText(c[1], String(q.waiting ?? 0));
    setText(c[2], q.waiting > 0 ? since(q.longest_wait) : '–');
    for (let p = 0; p < 3; p++) setText(c[3 + p], String(by[p] ?? 0));
    c[5].classList.toggle('sv-danger', (by[2] ?? 0) > 0);
  });
}

// renderQuestions shows the open questions left while the chat was
// closed or busy, per queue and language: counts only, never their text.
function renderQuestions() {
  const any = view.questions.length > 0;
  el.questionsEmpty.hidden = any;
  el.questionsWrap.hidden = !any;
  syncRows(el.questions, view.questions, (q) => `${q.audience}:${q.lang}`, (q) => {
    const tr = make('tr');
    const th = make('th', '', queueName(q.audience));
    th.scope = 'row';
    tr.append(th, make('td', '', languageName(q.lang)), make('td', 'num'), make('td', 'num'));
    return tr;
  }, (tr, q) => {
    setText(tr.children[2], String(q.open));
    setText(tr.children[3], since(q.oldest));
  });
}

function renderWaiting() {
  const list = view.waiting;
  el.waitingEmpty.hidden = list.length > 0;
  el.waitingWrap.hidden = list.length === 0;
  syncRows(el.waiting, list, (w) => w.id, (w) => {
    const tr = make('tr');
    const [pos, id, queue, lang, waited, pri, act] = cells(tr, 7);
    pos.className = 'num';
    waited.className = 'num';
    id.append(make('code', '', shortID(w.id)));
    queue.textContent = queueName(w.queue);
    lang.textContent = languageName(w.lang);
    const select = document.createElement('select');
    select.className = 'priority';
    select.dataset.conversation = w.id;
    select.setAttribute('aria-label', fill(t['supervisor.priority.label'], { id: shortID(w.id) }));
    for (const p of [0, 1, 2]) select.append(new Option(priorityName(p), String(p)));
    select.addEventListener('change', () => changePriority(w.id, select));
    pri.append(select);
    const button = make('button', 'secondary reassign', t['supervisor.reassign.button']);
    button.type = 'button';
    button.dataset.conversation = w.id;
    button.setAttribute('aria-label', fill(t['supervisor.reassign.button_for'], { id: shortID(w.id) }));
    button.addEventListener('click', () => openReassign(w.id, button));
    act.append(button);
    return tr;
  }, (tr, w) => {
    const c = tr.children;
    tr.dataset.priority = String(w.priority ?? 0);
    setText(c[0], String(w.position ?? ''));
    setText(c[2], queueName(w.queue));
    setText(c[4], since(w.waited));
    const select = c[5].firstElementChild;
    if (document.activeElement !== select && !select.disabled && select.value !== String(w.priority)) {
      select.value = String(w.priority ?? 0);
    }
  });
}

function renderAdvisors() {
  const list = view.advisors;
  el.advisorsEmpty.hidden = list.length > 0;
  el.advisorsWrap.hidden = list.length === 0;
  syncRows(el.advisors, list, (a) => a.username, (a) => {
    const tr = make('tr');
    const th = make('th');
    th.scope = 'row';
    tr.append(th);
    const [duty, load, offered, skills, missed, seen, convs] = cells(tr, 7);
    duty.append(make('span', 'duty-state'), ' ', make('span', 'console-away sv-danger'));
    load.className = 'num';
    offered.className = 'num';
    missed.className = 'num';
    seen.className = 'num';
    skills.className = 'skills';
    convs.append(make('ul', 'conv-list'));
    return tr;
  }, (tr, a) => {
    const c = tr.children;
    setText(c[0], advisorName(a));
    const duty = c[1].firstElementChild;
    duty.dataset.duty = String(!!a.duty);
    setText(duty, dutyName(a.duty));
    // On duty with no console open: keeps what they hold through the
    // grace, gets nothing new (docs/routing.md).
    const away = c[1].querySelector('.console-away');
    const gone = !!a.duty && a.connected === false;
    setText(away, gone ? t['supervisor.console_away'] : '');
    away.hidden = !gone;
    setText(c[2], fill(t['supervisor.load'], { load: a.load ?? 0, capacity: a.capacity ?? 0 }));
    setText(c[3], String(a.offered ?? 0));
    const langs = (a.languages ?? []).map(languageName).join(', ');
    const auds = (a.audiences ?? []).map(audienceName).join(', ');
    setText(c[4], [langs, auds].filter(Boolean).join(' · '));
    setText(c[5], String(a.missed_offers ?? 0));
    c[5].classList.toggle('sv-danger', (a.missed_offers ?? 0) > 0);
    setText(c[6], typeof a.seen === 'number' ? fill(t['supervisor.seen'], { wait: since(a.seen) }) : '–');
    renderConversations(c[7].firstElementChild, a);
  });
}

function renderConversations(ul, a) {
  const ids = Array.isArray(a.conversations) ? a.conversations : [];
  ul.hidden = ids.length === 0;
  syncRows(ul, ids, (id) => id, (id) => {
    const li = make('li');
    li.append(make('code', '', shortID(id)), ' ');
    const button = make('button', 'secondary reassign', t['supervisor.reassign.button']);
    button.type = 'button';
    button.dataset.conversation = id;
    button.setAttribute('aria-label', fill(t['supervisor.reassign.button_for'], { id: shortID(id) }));
    button.addEventListener('click', () => openReassign(id, button));
    li.append(button);
    return li;
  }, () => {});
}

// The clocks run on between overviews.
setInterval(() => {
  if (view.queues.length || view.waiting.length || view.advisors.length) render();
}, 1000);

// Tables scroll sideways on a narrow screen: only then are they a stop
// for the keyboard.
const overflow = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    if (target.scrollWidth > target.clientWidth) target.setAttribute('tabindex', '0');
    else target.removeAttribute('tabindex');
  }
});
for (const wrap of document.querySelectorAll('.table-wrap')) overflow.observe(wrap);

// --- actions --------------------------------------------------------------

async function changePriority(id, select) {
  const priority = Number(select.value);
  select.disabled = true;
  const res = await post('/advisor/supervisor/priority', { conversation: id, priority });
  select.disabled = false;
  if (res.ok) {
    say(fill(t['supervisor.priority.done'], { id: shortID(id), priority: priorityName(priority) }));
  } else {
    say(errorMessage(res), true);
    const w = view.waiting.find((x) => x.id === id);
    if (w) select.value = String(w.priority ?? 0);
  }
  if (document.contains(select)) select.focus();
}

let reassigning = null; // {id, opener, heading}

function openReassign(id, opener) {
  reassigning = { id, opener, heading: opener.closest('section')?.querySelector('h2') };
  const holder = view.advisors.find((a) => (a.conversations ?? []).includes(id));
  const waiting = view.waiting.find((w) => w.id === id);
  el.what.textContent = fill(t['supervisor.reassign.what'], { id: shortID(id) }) +
    (waiting ? ` · ${queueName(waiting.queue)} · ${languageName(waiting.lang)}` : '') +
    (holder ? ` · ${advisorName(holder)}` : '');
  const advisors = document.createElement('optgroup');
  advisors.label = t['supervisor.reassign.advisors'];
  for (const a of view.advisors) {
    // Only those routing would give it to: on duty, a console open, room.
    if (!a.duty || a.connected === false || a === holder || (a.load ?? 0) + (a.offered ?? 0) >= (a.capacity ?? 0)) continue;
    advisors.append(new Option(fill(t['supervisor.reassign.advisor_option'], {
      name: advisorName(a), load: a.load ?? 0, capacity: a.capacity ?? 0,
    }), `a:${a.username}`));
  }
  const queues = document.createElement('optgroup');
  queues.label = t['supervisor.reassign.queues'];
  for (const q of view.queues) {
    if (waiting && waiting.queue === q.name) continue;
    queues.append(new Option(queueName(q.name), `q:${q.name}`));
  }
  el.target.replaceChildren(...[advisors, queues].filter((g) => g.children.length > 0));
  el.note.value = '';
  el.error.textContent = '';
  el.submit.disabled = el.target.options.length === 0;
  if (el.target.options.length === 0) el.error.textContent = t['supervisor.reassign.no_target'];
  el.dialog.showModal();
  el.target.focus();
}

el.cancel.addEventListener('click', () => el.dialog.close());

el.dialog.addEventListener('close', () => {
  const { opener, heading } = reassigning ?? {};
  reassigning = null;
  // The row may be gone (reassigned, taken): focus its section instead.
  if (opener && document.contains(opener)) opener.focus();
  else (heading ?? $('queues-heading')).focus();
});

el.form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!reassigning || el.submit.disabled) return;
  const { id } = reassigning;
  const value = el.target.value;
  const payload = { conversation: id };
  if (value.startsWith('a:')) payload.to_advisor = value.slice(2);
  else if (value.startsWith('q:')) payload.to_queue = value.slice(2);
  else return;
  const note = el.note.value.trim();
  if ([...note].length > 4000) {
    el.error.textContent = t['supervisor.error.bad_request'];
    return;
  }
  if (note) payload.note = note;
  el.submit.disabled = true;
  el.error.textContent = '';
  const res = await post('/advisor/supervisor/reassign', payload);
  el.submit.disabled = false;
  if (!res.ok) {
    el.error.textContent = errorMessage(res);
    return;
  }
  const where = res.data?.alias || res.data?.advisor || queueName(res.data?.queue ?? '');
  say(fill(t['supervisor.reassign.done'], { id: shortID(id), to: where }));
  el.dialog.close();
});

// --- start ----------------------------------------------------------------

render();
socket.connect();

// --- feedback ------------------------------------------------------------

// Visitors' comments of the last days, newest first; read when asked, not
// pushed: nobody needs them live.
async function loadFeedback() {
  let data;
  try {
    const res = await fetch('/advisor/supervisor/feedback', { credentials: 'same-origin', cache: 'no-store' });
    data = await res.json();
    if (!res.ok) {
      if (res.status === 401) checkSession();
      say(errorMessage({ status: res.status, code: data?.error ?? '' }), true);
      return;
    }
  } catch {
    say(t['error.generic'], true);
    return;
  }
  const box = $('feedback');
  box.replaceChildren();
  for (const day of data.days ?? []) {
    const h = make('h3', '', new Date(`${day.date}T12:00:00Z`).toLocaleDateString(document.documentElement.lang, { dateStyle: 'full' }));
    const ul = make('ul', 'feedback-list');
    for (const c of day.comments ?? []) {
      const li = make('li', 'feedback-item');
      li.append(make('span', 'feedback-rating', `${c.rating} / 5`), ' ');
      const text = make('span', 'feedback-text', c.text);
      text.dir = 'auto';
      li.append(text);
      ul.append(li);
    }
    box.append(h, ul);
  }
  $('feedback-empty').hidden = box.childElementCount > 0;
}

$('feedback-load').addEventListener('click', loadFeedback);
