// The advisor console: duty and capacity, display name, offers, the queue
// view with picks by hand, several conversations at once with internal
// notes and transfers, canned responses, outcome tags and typing
// indicators. Speaks docs/protocol.md on /ws/advisor.
import { ReconnectingSocket, socketURL } from './socket.js';
import { Transcript, duration, fill, readMessages } from './transcript.js';

const t = readMessages();
const body = document.body;
const lang = body.dataset.lang;
const $ = (id) => document.getElementById(id);
const el = {
  duty: $('duty'), capacity: $('capacity'), aliasForm: $('alias-form'), alias: $('alias'), load: $('load'),
  mute: $('mute'), supervisor: $('supervisor-link'),
  reconnecting: $('reconnecting'), announcer: $('announcer'),
  offDuty: $('off-duty-banner'), offDutyText: $('off-duty-text'), offDutyDismiss: $('off-duty-dismiss'),
  offersSection: $('offers-section'), offers: $('offers'), offersNotice: $('offers-notice'),
  queue: $('queue'), waiting: $('waiting'), waitingHint: $('waiting-hint'), queueNotice: $('queue-notice'),
  list: $('conversations'), listEmpty: $('conversations-empty'),
  pane: $('conversation'), heading: $('conversation-heading'), info: $('conversation-info'),
  controls: $('conversation-controls'), composer: $('composer'), text: $('text'),
  noteDetails: $('note-details'), noteForm: $('note-form'), noteText: $('note-text'),
  typing: $('typing'), remaining: $('text-remaining'), canned: $('canned'), cannedList: $('canned-list'),
  cannedNone: $('canned-none'), cannedMore: $('canned-more'), cannedHint: $('canned-hint'),
  transfer: $('transfer'), end: $('end'), block: $('block'), endDialog: $('end-dialog'),
  endHeading: $('end-dialog-heading'), endText: $('end-dialog-text'), endConfirm: $('end-confirm'),
  endTags: $('end-tags'), endTagList: $('end-tag-list'),
  transferDialog: $('transfer-dialog'), transferForm: $('transfer-form'),
  transferAdvisors: $('transfer-advisors'), transferNoAdvisors: $('transfer-no-advisors'),
  transferQueues: $('transfer-queues'), transferNote: $('transfer-note'),
  transferError: $('transfer-error'), transferCancel: $('transfer-cancel'), transferConfirm: $('transfer-confirm'),
  closedControls: $('closed-controls'), closedReason: $('closed-reason'), close: $('close'),
};
const emptyList = $('messages');
const baseTitle = document.title;

// Whether sounds are muted lasts as long as the tab: nothing about the
// advisor is kept beyond the session.
const MUTE_KEY = 'advicechat.advisor.mute';

const conversations = new Map(); // id -> conversation, in assignment order
const offers = new Map(); // id -> offer card, in the order offered
const waitingItems = new Map(); // id -> item of the queue view
const accepts = new Set(); // offers accepted, until assigned or refused
const picks = new Set(); // waiting conversations picked, until assigned or refused
let selected = null;
let status = { duty: false, alias: '', capacity: 0, max: 0, load: 0, offered: 0, supervisor: false };
let queues = [];
let waiting = [];
let colleagues = [];
let queuesAt = Date.now();
let chosenCapacity = 0; // what the advisor picked for going on duty; 0: the most allowed
let transferring = null; // id of the conversation whose transfer awaits its answer
let opened = false; // the current connection attempt reached the server
let quietUntil = 0; // no sound for what a (re)connect replays
let cannedAnswers = []; // ready-made answers from the console frame
let outcomeTags = []; // tags an advisor may give a conversation as it ends
const waitingEmpty = document.createElement('li');
waitingEmpty.className = 'small';

// --- helpers --------------------------------------------------------------

function audienceName(a) {
  return t[`advisor.audience.${a}`] ?? a;
}

function languageName(code) {
  return t[`lang.${code}`] ?? code;
}

function queueName(name) {
  return t[`advisor.queue.name.${name}`] ??
    String(name).split(/[:/._-]/).map((p) => t[`advisor.audience.${p}`] ?? t[`lang.${p}`] ?? p).join(' · ');
}

// priorityFlag is the label of a conversation's priority (2: the visitor
// is in danger now, 1: high), or null for a normal one.
function priorityFlag(priority) {
  const p = Number(priority);
  if (p !== 1 && p !== 2) return null;
  const span = document.createElement('span');
  span.className = p === 2 ? 'priority urgent' : 'priority high';
  span.textContent = t[p === 2 ? 'advisor.priority.urgent' : 'advisor.priority.high'];
  return span;
}

function systemText(e) {
  switch (e.kind) {
    case 'joined':
      return fill(t['advisor.entry.joined'], { name: e.name || t['common.you'] });
    case 'requeued':
      return t[`advisor.entry.requeued.${e.reason}`] ?? t['advisor.entry.requeued.advisor_left'];
    case 'ended':
      return t[`advisor.entry.ended.${e.reason}`] ?? t['advisor.conversation.ended'];
    case 'transferred':
      return e.reason === 'queue' || !e.name
        ? t['advisor.entry.transferred.queue']
        : fill(t['advisor.entry.transferred.advisor'], { name: e.name });
    case 'waited_long':
      return t['advisor.entry.waited_long'];
    default:
      return '';
  }
}

// room says whether the advisor may take one more conversation now.
function room() {
  return !!status.duty && (status.load ?? 0) + (status.offered ?? 0) < (status.capacity ?? 0);
}

// announce says something to screen readers through the live region.
function announce(text) {
  el.announcer.textContent = '';
  setTimeout(() => { el.announcer.textContent = text; }, 50);
}

const noticeTimers = new Map();

// notice shows a short message in p and says it; it goes after a minute.
function notice(p, text) {
  p.textContent = text;
  p.hidden = false;
  announce(text);
  clearTimeout(noticeTimers.get(p));
  noticeTimers.set(p, setTimeout(() => { p.hidden = true; }, 60_000));
}

function clearNotice(p) {
  clearTimeout(noticeTimers.get(p));
  p.hidden = true;
  p.textContent = '';
}

// --- sound ----------------------------------------------------------------

let muted = sessionStorage.getItem(MUTE_KEY) === '1';
let audio = null;
let lastBeep = 0;

// A browser lets a page play sound only after the person did something
// on it: the context starts at the first click or key.
function unlockAudio() {
  try {
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (audio?.state === 'suspended') audio.resume().catch(() => {});
  } catch {
    audio = null;
  }
}
document.addEventListener('pointerdown', unlockAudio, true);
document.addEventListener('keydown', unlockAudio, true);

// beep plays a short tone, two for a visitor in danger. No sound file:
// the Web Audio API makes it.
function beep(urgent = false) {
  const now = Date.now();
  if (muted || !audio || audio.state !== 'running' || now - lastBeep < 1500) return;
  lastBeep = now;
  try {
    for (const offset of urgent ? [0, 0.25] : [0]) {
      const start = audio.currentTime + offset;
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.value = urgent ? 988 : 784;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(start);
      osc.stop(start + 0.22);
    }
  } catch {
    // no sound is no reason to fail
  }
}

// notify rings for something new unless it is what a reconnect replays.
function notify(urgent = false) {
  if (Date.now() >= quietUntil) beep(urgent);
}

function renderMute() {
  el.mute.setAttribute('aria-pressed', String(muted));
}

el.mute.addEventListener('click', () => {
  muted = !muted;
  if (muted) sessionStorage.setItem(MUTE_KEY, '1');
  else sessionStorage.removeItem(MUTE_KEY);
  renderMute();
});

// --- socket ---------------------------------------------------------------

const socket = new ReconnectingSocket(socketURL('/ws/advisor'), {
  onopen() {
    opened = true;
    quietUntil = Date.now() + 2000;
    // The server offers again what is still offered after hello; an offer
    // it does not is gone (it ran out while the connection was down).
    for (const o of offers.values()) o.stale = true;
    setTimeout(() => {
      for (const o of [...offers.values()]) if (o.stale) removeOffer(o.id, null);
    }, 5000);
    const after = {};
    const at = {};
    for (const c of conversations.values()) {
      if (c.closed) continue;
      after[c.id] = c.transcript.highest;
      at[c.id] = c.transcript.highestAt;
    }
    socket.send({ type: 'hello', after, at });
  },
  onframe,
  onclose(ev) {
    const reachedServer = opened;
    opened = false;
    if (ev.code === 1008) {
      // Logged out: reloading shows the login form. Anything else is not
      // cured by retrying.
      checkSession();
      el.reconnecting.textContent = t['advisor.connection_refused'];
      return false;
    }
    // A refused handshake (expired session) looks like 1006 to a browser.
    if (!reachedServer) checkSession();
    return true;
  },
  onstatus(connected, retrying) {
    body.dataset.connected = String(connected);
    el.reconnecting.hidden = connected || (!retrying && el.reconnecting.textContent !== t['advisor.connection_refused']);
    el.duty.disabled = !connected;
    el.capacity.disabled = !connected || el.capacity.options.length === 0;
  },
});

async function checkSession() {
  try {
    const res = await fetch('/advisor', { credentials: 'same-origin', cache: 'no-store' });
    if ((await res.text()).includes('id="login-form"')) location.reload();
  } catch {
    // offline: keep retrying
  }
}

function onframe(f) {
  const id = typeof f.conversation === 'string' ? f.conversation : '';
  const c = id ? conversations.get(id) : null;
  switch (f.type) {
    case 'status':
      showStatus(f);
      break;
    case 'queue':
      queues = Array.isArray(f.queues) ? f.queues : [];
      waiting = Array.isArray(f.waiting) ? f.waiting : [];
      colleagues = Array.isArray(f.advisors) ? f.advisors : [];
      queuesAt = Date.now();
      renderQueue();
      renderWaiting();
      if (el.transferDialog.open) renderTargets();
      break;
    case 'offered':
      offered(f);
      break;
    case 'assigned':
      assigned(f.conversation);
      break;
    case 'unassigned':
      unassigned(id, c, f.reason);
      break;
    case 'off_duty':
      showOffDuty(f.reason);
      break;
    case 'console':
      showConsole(f);
      break;
    case 'typing':
      if (c && f.from === 'visitor') visitorTyping(c);
      break;
    case 'entry':
      if (c) entry(c, f);
      break;
    case 'ack':
      c?.transcript.ack(f.id, f.seq);
      break;
    case 'interrupted':
      c?.transcript.interrupted(f.seq);
      break;
    case 'error':
      refused(f, id, c);
      break;
  }
}

// refused handles an error frame: each request that can be refused shows
// its refusal where it was made.
function refused(f, id, c) {
  if (c && f.id) {
    c.transcript.fail(f.id, f.code);
  } else if (id && f.code === 'offer_expired') {
    removeOffer(id, t['advisor.offer.too_late']);
  } else if (id && accepts.has(id)) {
    // Not taken, but still offered (a server failure, say): try again.
    accepts.delete(id);
    const o = offers.get(id);
    if (o) o.button.disabled = false;
    notice(el.offersNotice, t['error.generic']);
  } else if (id && picks.has(id)) {
    picks.delete(id);
    notice(el.queueNotice, t[`advisor.pick.error.${f.code}`] ?? t['error.generic']);
    renderWaiting();
  } else if (id && id === transferring) {
    transferring = null;
    transferError(t[`advisor.transfer.error.${f.code}`] ?? t['advisor.transfer.error.other']);
    if (c && (f.code === 'not_found' || f.code === 'ended')) markClosed(c, 'ended');
  } else if (c && (f.code === 'not_found' || f.code === 'ended')) {
    markClosed(c, 'ended');
  } else {
    console.warn('advicechat:', f.code, f.message);
  }
}

// --- status and duty ------------------------------------------------------

function showStatus(f) {
  status = { ...status, ...f, supervisor: f.supervisor === true };
  el.duty.setAttribute('aria-pressed', String(!!status.duty));
  el.duty.textContent = t[status.duty ? 'advisor.duty.on' : 'advisor.duty.off'];
  if (document.activeElement !== el.alias) el.alias.value = status.alias ?? '';
  renderCapacity();
  renderLoad();
  el.supervisor.hidden = !status.supervisor;
  if (status.duty) {
    el.offDuty.hidden = true;
  } else {
    // Off duty nothing can be accepted any more.
    for (const id of [...offers.keys()]) removeOffer(id, null);
  }
  renderWaiting();
}

function renderCapacity() {
  const max = Math.max(1, Number(status.max) || Number(status.capacity) || 1);
  if (el.capacity.options.length !== max) {
    el.capacity.replaceChildren(...Array.from({ length: max }, (_, i) => new Option(String(i + 1), String(i + 1))));
  }
  const want = status.duty ? Number(status.capacity) : chosenCapacity || max;
  el.capacity.value = String(Math.min(max, Math.max(1, want || max)));
  el.capacity.disabled = !socket.open;
}

function renderLoad() {
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

function showOffDuty(reason) {
  el.offDutyText.textContent = t[`advisor.off_duty.${reason}`] ?? t['advisor.off_duty.other'];
  el.offDuty.hidden = false;
  beep();
}

el.offDutyDismiss.addEventListener('click', () => {
  el.offDuty.hidden = true;
  el.duty.focus();
});

// --- queue view -----------------------------------------------------------

function renderQueue() {
  const now = Date.now();
  const items = queues.map((q) => {
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
      wait.textContent = fill(t['advisor.queue.longest'], {
        wait: duration((q.longest_wait ?? 0) + (now - queuesAt) / 1000),
      });
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
function renderWaiting() {
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
  item.time.textContent = fill(t['advisor.waiting.waited'], {
    wait: duration((Number(w.waited) || 0) + (Date.now() - queuesAt) / 1000),
  });
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

// --- offers ---------------------------------------------------------------

function offered(f) {
  const info = f.conversation;
  if (!info || typeof info.id !== 'string') return;
  const c = conversations.get(info.id);
  if (c && !c.closed) return; // ours already
  let o = offers.get(info.id);
  const isNew = !o;
  if (!o) {
    o = offerCard(info);
    offers.set(info.id, o);
    el.offers.append(o.li);
  }
  o.deadline = Number(f.deadline) || Date.now();
  o.stale = false;
  updateOffer(o);
  el.offersSection.hidden = false;
  clearNotice(el.offersNotice);
  if (isNew) {
    updateTitle();
    beep(o.priority === 2);
    const flag = o.priority === 2 ? `${t['advisor.priority.urgent']}: ` : '';
    announce(`${flag}${fill(t['advisor.offer.announce'], { conversation: o.name })}`);
  }
}

function offerCard(info) {
  const priority = Number(info.priority) || 0;
  const name = `${audienceName(info.audience)} · ${languageName(info.lang)}`;
  const li = document.createElement('li');
  li.className = 'offer';
  li.dataset.priority = String(priority);
  li.dataset.conversation = info.id;
  const parts = [];
  const flag = priorityFlag(priority);
  if (flag) {
    const p = document.createElement('p');
    p.className = 'offer-flag';
    p.append(flag);
    parts.push(p);
  }
  const title = document.createElement('p');
  title.className = 'offer-title';
  title.id = `offer-${info.id}`;
  title.textContent = name;
  const times = document.createElement('p');
  times.className = 'offer-times';
  const waited = document.createElement('span');
  const countdown = document.createElement('span');
  countdown.className = 'offer-countdown';
  times.append(waited, ' · ', countdown);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'primary accept';
  button.dataset.accept = info.id;
  button.textContent = t['advisor.offer.accept'];
  button.setAttribute('aria-describedby', title.id);
  button.addEventListener('click', () => accept(info.id));
  parts.push(title, times, button);
  li.append(...parts);
  return { id: info.id, name, priority, li, waited, countdown, button, waitedBase: Number(info.waited) || 0, at: Date.now(), deadline: 0, stale: false };
}

function updateOffer(o) {
  const now = Date.now();
  o.waited.textContent = fill(t['advisor.offer.waited'], { wait: duration(o.waitedBase + (now - o.at) / 1000) });
  const left = Math.ceil((o.deadline - now) / 1000);
  o.countdown.textContent = left > 0 ? fill(t['advisor.offer.countdown'], { time: duration(left) }) : t['advisor.offer.time_up'];
  o.li.classList.toggle('ending', left <= 10);
}

function accept(id) {
  const o = offers.get(id);
  if (!o || accepts.has(id)) return;
  clearNotice(el.offersNotice);
  if (!socket.send({ type: 'accept', conversation: id })) {
    notice(el.offersNotice, t['advisor.error.offline']);
    return;
  }
  accepts.add(id);
  o.button.disabled = true;
}

// removeOffer takes an offer's card away, with a notice saying why if
// text is given.
function removeOffer(id, text) {
  const o = offers.get(id);
  if (!o) return;
  const hadFocus = o.li.contains(document.activeElement);
  o.li.remove();
  offers.delete(id);
  accepts.delete(id);
  el.offersSection.hidden = offers.size === 0;
  if (text) notice(el.offersNotice, text);
  updateTitle();
  if (hadFocus) {
    const next = offers.values().next().value;
    (next ? next.button : el.heading).focus();
  }
}

// --- conversations --------------------------------------------------------

function assigned(info) {
  if (!info || typeof info.id !== 'string') return;
  // Taken by the advisor's own hand: accepted or picked.
  const taken = accepts.has(info.id) || picks.has(info.id);
  accepts.delete(info.id);
  picks.delete(info.id);
  const lostFocus = document.activeElement === document.body || offers.get(info.id)?.li.contains(document.activeElement);
  removeOffer(info.id, null);
  let c = conversations.get(info.id);
  if (!c) {
    c = create(info);
    // A new conversation counts as one unread (title badge) until the
    // advisor looks at it, however much history follows.
    c.unread = 1;
    c.fresh = true;
    if (!selected) select(c.id, false);
    renderItem(c);
    updateTitle();
    if (!taken) notify(c.priority === 2);
  } else if (c.closed) {
    // Ours again (say, after a requeue or a transfer came back to us).
    c.closed = null;
    c.priority = Number(info.priority) || 0;
    renderItem(c);
    if (selected === c) renderPane();
    if (!taken) notify(c.priority === 2);
  }
  if (taken) {
    select(c.id);
    if (lostFocus || el.offers.contains(document.activeElement) || el.waiting.contains(document.activeElement)) el.heading.focus();
  }
  renderWaiting();
  // Taken back after a reconnect: deliver what did not get through.
  if (c.pendingEnd) {
    if (socket.send(c.pendingEnd)) c.pendingEnd = null;
    return;
  }
  for (const m of c.transcript.unsent()) send(c, m.id, m.text, m.kind);
}

// send writes an own message or internal note of c to the server.
function send(c, id, text, kind) {
  return socket.send({ type: kind === 'note' ? 'note' : 'message', conversation: c.id, id, text });
}

function create(info) {
  const ol = document.createElement('ol');
  ol.className = 'messages';
  const c = {
    id: info.id,
    audience: info.audience,
    lang: info.lang,
    waited: Number(info.waited) || 0,
    priority: Number(info.priority) || 0,
    unread: 0,
    fresh: false,
    closed: null,
    pendingEnd: null, // an end or block frame to deliver once the socket is back
    typing: false, // the visitor is typing now (a typing frame came lately)
    typingTimer: 0,
    typingSent: 0, // when the advisor's last typing frame went out
    draft: '',
    noteDraft: '',
    ol,
    item: document.createElement('li'),
  };
  c.transcript = new Transcript(ol, {
    self: 'advisor',
    t,
    lang,
    notes: true,
    noteLabel: t['advisor.note.label'],
    who: (e) => (e.from === 'visitor' ? t['advisor.visitor'] : e.name || t['common.you']),
    system: systemText,
    retry: (id, text, kind) => send(c, id, text, kind),
  });
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.conversation = c.id;
  button.addEventListener('click', () => select(c.id));
  c.item.append(button);
  conversations.set(c.id, c);
  el.list.append(c.item);
  el.listEmpty.hidden = true;
  return c;
}

function entry(c, e) {
  const pane = selected === c ? $('messages') : null;
  const nearBottom = pane && pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 80;
  if (!c.transcript.add(e)) return;
  if (e.from === 'visitor' && e.kind === 'message') {
    stopTyping(c);
    if (!c.fresh && (selected !== c || !document.hasFocus())) {
      c.unread++;
      renderItem(c);
      updateTitle();
    }
    if (document.hidden || selected !== c) notify(c.priority === 2);
  }
  if (e.kind === 'ended') markClosed(c, 'ended');
  if (nearBottom) pane.scrollTop = pane.scrollHeight;
}

function unassigned(id, c, reason) {
  if (offers.has(id)) {
    // An offer that ran out, or was taken back.
    removeOffer(id, reason === 'offer_expired' ? t['advisor.offer.expired'] : null);
    return;
  }
  if (c) markClosed(c, ['requeued', 'transferred', 'reassigned'].includes(reason) ? reason : 'ended');
  if (id && id === transferring) {
    transferring = null;
    if (el.transferDialog.open) el.transferDialog.close('done');
    announce(t['advisor.conversation.transferred_note']);
    if (selected === c) el.heading.focus();
  }
}

function markClosed(c, reason) {
  if (c.closed) return;
  c.closed = reason;
  c.pendingEnd = null;
  stopTyping(c);
  for (const m of c.transcript.unsent()) c.transcript.fail(m.id, 'ended');
  renderItem(c);
  if (selected === c) {
    if (el.transferDialog.open && transferring !== c.id) el.transferDialog.close('cancel');
    if (el.endDialog.open && el.endDialog.dataset.conversation === c.id) el.endDialog.close('cancel');
    closeCanned();
    renderPane();
  }
}

function renderItem(c) {
  const button = c.item.firstElementChild;
  const index = [...conversations.keys()].indexOf(c.id) + 1;
  const title = document.createElement('span');
  title.className = 'conv-title';
  title.textContent = `${index}. ${audienceName(c.audience)} · ${languageName(c.lang)}`;
  const parts = [title];
  const flag = c.closed ? null : priorityFlag(c.priority);
  if (flag) parts.push(' ', flag);
  if (c.closed) {
    const state = document.createElement('span');
    state.className = 'conv-state';
    state.textContent = t[`advisor.conversation.${c.closed}`];
    parts.push(' ', state);
  }
  if (c.typing && selected !== c) {
    const typing = document.createElement('span');
    typing.className = 'conv-typing';
    typing.textContent = t['advisor.conversation.typing'];
    parts.push(' ', typing);
  }
  if (c.unread > 0) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.setAttribute('aria-hidden', 'true');
    badge.textContent = String(c.unread);
    const hidden = document.createElement('span');
    hidden.className = 'visually-hidden';
    hidden.textContent = fill(t['advisor.conversation.unread'], { count: c.unread });
    parts.push(' ', badge, hidden);
  }
  button.replaceChildren(...parts);
  button.classList.toggle('closed', !!c.closed);
  button.classList.toggle('urgent', !c.closed && c.priority === 2);
  if (selected === c) button.setAttribute('aria-current', 'true');
  else button.removeAttribute('aria-current');
}

// select shows a conversation; read says whether the advisor chose it (and
// so has seen it) rather than it being opened for them.
function select(id, read = true) {
  const c = conversations.get(id) ?? null;
  if (selected) {
    selected.draft = el.text.value;
    selected.noteDraft = el.noteText.value;
  }
  closeCanned();
  const previous = selected;
  selected = c;
  // Each conversation keeps its own list; the selected one is #messages.
  const current = $('messages');
  const next = c ? c.ol : emptyList;
  if (current !== next) {
    current.removeAttribute('id');
    current.removeAttribute('aria-live');
    next.id = 'messages';
    next.setAttribute('aria-live', 'polite');
    next.setAttribute('aria-relevant', 'additions');
    current.replaceWith(next);
  }
  if (c) {
    if (read) c.unread = 0;
    if (read) c.fresh = false;
    el.text.value = c.draft;
    el.noteText.value = c.noteDraft;
    renderRemaining(false);
    renderItem(c);
    next.scrollTop = next.scrollHeight;
  }
  if (previous && previous !== c) renderItem(previous);
  renderPane();
  updateTitle();
}

function renderPane() {
  const c = selected;
  if (!c) {
    el.heading.textContent = t['advisor.conversation.none'];
    el.info.textContent = '';
    el.controls.hidden = true;
    el.closedControls.hidden = true;
    renderTyping();
    return;
  }
  el.heading.textContent = `${audienceName(c.audience)} · ${languageName(c.lang)}`;
  const flag = c.closed ? null : priorityFlag(c.priority);
  el.info.replaceChildren(...(flag ? [flag, ' '] : []), fill(t['advisor.conversation.waited'], { wait: duration(c.waited) }));
  el.controls.hidden = !!c.closed;
  el.closedControls.hidden = !c.closed;
  el.closedReason.textContent = c.closed ? t[`advisor.conversation.${c.closed}_note`] : '';
  renderTyping();
}

function remove(c) {
  const ids = [...conversations.keys()];
  const at = ids.indexOf(c.id);
  conversations.delete(c.id);
  c.item.remove();
  el.listEmpty.hidden = conversations.size > 0;
  for (const other of conversations.values()) renderItem(other);
  if (selected === c) {
    const rest = [...conversations.keys()];
    select(rest[Math.min(at, rest.length - 1)] ?? null);
    el.heading.focus();
  }
  updateTitle();
}

// updateTitle counts what waits for the advisor in the tab's title:
// unread conversations and messages, and offers to answer.
function updateTitle() {
  let n = offers.size;
  for (const c of conversations.values()) n += c.unread;
  document.title = n > 0 ? `(${n}) ${baseTitle}` : baseTitle;
}

function markRead() {
  if (!selected || !selected.unread) return;
  selected.unread = 0;
  selected.fresh = false;
  renderItem(selected);
  updateTitle();
}

// Looking at or working in the open conversation counts as reading it.
for (const type of ['pointerdown', 'focusin', 'keydown']) {
  el.pane.addEventListener(type, markRead);
}
window.addEventListener('focus', markRead);

// --- actions --------------------------------------------------------------

el.duty.addEventListener('click', () => {
  const on = !status.duty;
  if (!on && status.load > 0 && !confirm(t['advisor.duty.off_confirm'])) return;
  const frame = { type: 'duty', on };
  if (on && el.capacity.value) frame.capacity = Number(el.capacity.value);
  socket.send(frame);
});

// A new capacity counts at once when on duty, else from going on duty.
el.capacity.addEventListener('change', () => {
  chosenCapacity = Number(el.capacity.value) || 0;
  if (status.duty && chosenCapacity > 0) socket.send({ type: 'duty', on: true, capacity: chosenCapacity });
});

el.aliasForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = el.alias.value.trim();
  if ([...name].length < 1 || [...name].length > 40) return;
  socket.send({ type: 'alias', name });
});

// write sends what the advisor typed in field as an own entry of kind
// (message or note) of the open conversation. White space alone is not
// sent, nor is a message over the limit: it stays in the box to shorten.
function write(field, kind) {
  const c = selected;
  const text = field.value.trim();
  if (!c || c.closed || !text) return;
  if (field.maxLength > 0 && text.length > field.maxLength) {
    announce(fill(t['advisor.composer.over'], { count: text.length - field.maxLength }));
    return;
  }
  const id = c.transcript.send(text, kind);
  send(c, id, text, kind);
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
// Moving the caret into or out of a "/query" opens or closes the list.
el.text.addEventListener('click', updateCanned);
el.text.addEventListener('keyup', (ev) => {
  if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(ev.key)) updateCanned();
});
el.text.addEventListener('blur', closeCanned);
// A click in the list must not take the focus from the message box.
el.canned.addEventListener('mousedown', (ev) => ev.preventDefault());

// --- canned responses -----------------------------------------------------

// The console frame's ready-made answers: "/" at the start of the message
// box or after a space opens a list of them, filtered by what follows.
// The box is an ARIA 1.2 combobox (it keeps its multi-line editing), the
// list a listbox whose active option is the box's aria-activedescendant.
// At most this many answers are listed: typing narrows the list, and a
// short list needs no scrolling.
const CANNED_SHOWN = 6;

const canned = {
  open: false,
  at: -1, // where the "/" of the open list is in the box
  items: [], // answers shown, in order
  active: -1, // index in items of the active option
  dismissed: -1, // the "/" whose list Escape closed: it stays closed
  timer: 0,
  announced: '',
};

function showConsole(f) {
  cannedAnswers = (Array.isArray(f.canned) ? f.canned : [])
    .filter((a) => a && typeof a.title === 'string' && typeof a.text === 'string' && a.text !== '')
    .map((a, i) => ({
      id: `canned-${i}`,
      index: i,
      lang: typeof a.lang === 'string' ? a.lang : '',
      title: a.title,
      text: a.text,
      foldedTitle: fold(a.title),
      folded: fold(`${a.title}\n${a.text}`),
    }));
  outcomeTags = (Array.isArray(f.tags) ? f.tags : []).filter((tag) => typeof tag === 'string' && tag !== '');
  setUpCanned();
  renderTags();
}

// fold makes text comparable for a search: lower case, no accents.
function fold(s) {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

// setUpCanned makes the message box a combobox when there are answers to
// search; without any, "/" is just a character.
function setUpCanned() {
  const on = cannedAnswers.length > 0;
  if (on) {
    el.text.setAttribute('role', 'combobox');
    el.text.setAttribute('aria-autocomplete', 'list');
    el.text.setAttribute('aria-controls', el.cannedList.id);
    el.text.setAttribute('aria-expanded', 'false');
  } else {
    closeCanned();
    for (const name of ['role', 'aria-autocomplete', 'aria-controls', 'aria-expanded', 'aria-activedescendant']) {
      el.text.removeAttribute(name);
    }
  }
  el.cannedHint.hidden = !on;
  // A hidden element still describes what names it: name it only when shown.
  el.text.setAttribute('aria-describedby', on ? 'composer-hint canned-hint text-remaining' : 'composer-hint text-remaining');
  updateCanned();
}

// slashQuery finds the "/query" that ends at the caret: the "/" at the
// start of the box or after white space, the query without a line break.
function slashQuery() {
  const field = el.text;
  if (field.selectionStart !== field.selectionEnd) return null;
  const before = field.value.slice(0, field.selectionEnd);
  const at = before.lastIndexOf('/');
  if (at < 0 || (at > 0 && !/\s/.test(before[at - 1]))) return null;
  const query = before.slice(at + 1);
  if (/[\r\n]/.test(query) || query.length > 60) return null;
  return { at, query };
}

// updateCanned opens, filters or closes the list after an edit or a caret
// move in the message box.
function updateCanned() {
  const q = cannedAnswers.length > 0 && document.activeElement === el.text ? slashQuery() : null;
  if (!q) {
    canned.dismissed = -1;
    closeCanned();
    return;
  }
  if (q.at === canned.dismissed) {
    closeCanned();
    return;
  }
  const words = fold(q.query).split(/\s+/).filter(Boolean);
  const lang = selected?.lang;
  const items = cannedAnswers
    .filter((a) => words.every((w) => a.folded.includes(w)))
    .map((a) => ({ a, rank: [a.lang === lang ? 0 : 1, words.every((w) => a.foldedTitle.includes(w)) ? 0 : 1, a.index] }))
    .sort((x, y) => x.rank[0] - y.rank[0] || x.rank[1] - y.rank[1] || x.rank[2] - y.rank[2])
    .map(({ a }) => a);
  // "/" then words that match nothing: the advisor is writing, not searching.
  if (items.length === 0 && /\s/.test(q.query)) {
    closeCanned();
    return;
  }
  renderCanned(q.at, items);
}

// renderCanned shows the first of the answers that match (found) for the
// "/" at at.
function renderCanned(at, found) {
  const was = canned.items[canned.active];
  const items = found.slice(0, CANNED_SHOWN);
  canned.open = true;
  canned.at = at;
  canned.items = items;
  canned.active = items.length === 0 ? -1 : Math.max(0, items.indexOf(was));
  const lang = selected?.lang;
  el.cannedList.replaceChildren(...items.map((a) => cannedOption(a, a.lang !== lang)));
  el.cannedList.hidden = items.length === 0;
  el.cannedNone.hidden = items.length > 0;
  el.cannedMore.textContent = found.length > items.length ? fill(t['advisor.canned.more'], { count: found.length - items.length }) : '';
  el.cannedMore.hidden = found.length <= items.length;
  el.canned.hidden = false;
  el.text.setAttribute('aria-expanded', String(items.length > 0));
  markActive();
  // Say how many match once the advisor pauses, not on every key.
  clearTimeout(canned.timer);
  canned.timer = setTimeout(() => {
    const text = found.length > 0 ? fill(t['advisor.canned.count'], { count: found.length }) : t['advisor.canned.none'];
    if (text !== canned.announced) {
      canned.announced = text;
      announce(text);
    }
  }, 600);
}

// cannedOption is the list's option for answer a; one in another language
// than the conversation's says which.
function cannedOption(a, marked) {
  const li = document.createElement('li');
  li.id = a.id;
  li.className = 'canned-option';
  li.setAttribute('role', 'option');
  li.setAttribute('aria-selected', 'false');
  const title = document.createElement('span');
  title.className = 'canned-title';
  title.dir = 'auto';
  title.textContent = a.title;
  const parts = [title];
  if (marked) {
    const mark = document.createElement('span');
    mark.className = 'canned-lang';
    mark.textContent = languageName(a.lang);
    parts.push(' ', mark);
  }
  const text = document.createElement('span');
  text.className = 'canned-text';
  text.dir = 'auto';
  const chars = [...a.text.replace(/\s+/g, ' ')];
  text.textContent = chars.length > 120 ? `${chars.slice(0, 119).join('')}…` : chars.join('');
  if (a.lang) {
    title.lang = a.lang;
    text.lang = a.lang;
  }
  parts.push(' ', text);
  li.append(...parts);
  li.addEventListener('click', () => insertCanned(a));
  return li;
}

function markActive() {
  const options = el.cannedList.children;
  for (let i = 0; i < options.length; i++) options[i].setAttribute('aria-selected', String(i === canned.active));
  const li = options[canned.active];
  if (li) {
    el.text.setAttribute('aria-activedescendant', li.id);
    li.scrollIntoView({ block: 'nearest' });
  } else {
    el.text.removeAttribute('aria-activedescendant');
  }
}

function closeCanned() {
  clearTimeout(canned.timer);
  canned.announced = '';
  if (!canned.open) return;
  canned.open = false;
  canned.items = [];
  canned.active = -1;
  el.canned.hidden = true;
  el.cannedList.replaceChildren();
  el.text.setAttribute('aria-expanded', 'false');
  el.text.removeAttribute('aria-activedescendant');
}

// cannedKeydown moves through the open list, inserts (Enter) or closes it
// (Escape); it reports whether it used the key.
function cannedKeydown(ev) {
  if (!canned.open || ev.isComposing || ev.altKey || ev.ctrlKey || ev.metaKey) return false;
  const n = canned.items.length;
  switch (ev.key) {
    case 'ArrowDown':
    case 'ArrowUp':
      if (n === 0) return false;
      canned.active = (canned.active + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      markActive();
      break;
    case 'Enter':
      if (ev.shiftKey) return false;
      if (n > 0) {
        insertCanned(canned.items[canned.active]);
      } else {
        // Nothing matches: close the list rather than send "/query".
        canned.dismissed = canned.at;
        closeCanned();
      }
      break;
    case 'Escape':
      canned.dismissed = canned.at;
      closeCanned();
      break;
    default:
      return false;
  }
  ev.preventDefault();
  ev.stopPropagation();
  return true;
}

// insertCanned puts answer a in place of the "/query"; the advisor can
// still change it before sending.
function insertCanned(a) {
  const field = el.text;
  const at = canned.at;
  closeCanned();
  if (!a || at < 0 || field.value[at] !== '/') return;
  field.focus();
  field.setRangeText(a.text, at, field.selectionEnd, 'end');
  renderRemaining();
  sendTyping();
}

// --- typing and length ----------------------------------------------------

// Typing frames go out at most this often while the advisor writes.
const TYPING_EVERY_MS = 3000;
// The visitor counts as typing this long after their last typing frame.
const TYPING_SHOWN_MS = 5000;

function sendTyping() {
  const c = selected;
  if (!c || c.closed || el.text.value.trim() === '') return;
  const now = Date.now();
  if (now - c.typingSent < TYPING_EVERY_MS) return;
  if (socket.send({ type: 'typing', conversation: c.id })) c.typingSent = now;
}

// visitorTyping shows that the visitor of c is typing, until a few
// seconds pass without a typing frame or their message comes.
function visitorTyping(c) {
  if (c.closed) return;
  clearTimeout(c.typingTimer);
  c.typingTimer = setTimeout(() => stopTyping(c), TYPING_SHOWN_MS);
  if (c.typing) return; // the same burst: nothing new to show or say
  c.typing = true;
  if (selected === c) renderTyping();
  else renderItem(c);
}

function stopTyping(c) {
  clearTimeout(c.typingTimer);
  if (!c.typing) return;
  c.typing = false;
  if (selected === c) renderTyping();
  else renderItem(c);
}

// renderTyping says in the open conversation whether its visitor is typing.
// The status region speaks when the text appears, so once per burst.
function renderTyping() {
  const text = selected?.typing && !selected.closed ? t['advisor.typing'] : '';
  if (el.typing.textContent !== text) el.typing.textContent = text;
}

// The message box shows what is left below REMAINING_SHOWN characters
// and says it when it falls below each of REMAINING_STEPS, not per key.
const REMAINING_SHOWN = 500;
const REMAINING_STEPS = [REMAINING_SHOWN, 250, 100, 50, 20, 10, 1];
let remainingStep = 0;

function renderRemaining(speak = true) {
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

// --- ending ---------------------------------------------------------------

// renderTags lists the outcome tags in the end dialog, keeping any choice
// made (the console frame comes again after a reconnect).
function renderTags() {
  const checked = new Set([...el.endTagList.querySelectorAll('input[name="tag"]:checked')].map((box) => box.value));
  el.endTagList.replaceChildren(...outcomeTags.map((tag, i) => {
    const div = document.createElement('div');
    div.className = 'tag-option';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.name = 'tag';
    box.id = `end-tag-${i}`;
    box.value = tag;
    box.checked = checked.has(tag);
    const label = document.createElement('label');
    label.htmlFor = box.id;
    // A tag configured beyond the default ones shows as written.
    label.textContent = t[`advisor.tag.${tag}`] ?? tag;
    div.append(box, label);
    return div;
  }));
  el.endTags.hidden = outcomeTags.length === 0;
}

// askEnd asks before ending the open conversation (action end) or ending
// it and blocking its sender for a day (block); either takes outcome tags.
function askEnd(action) {
  const c = selected;
  if (!c || c.closed) return;
  const block = action === 'block';
  if (typeof el.endDialog.showModal !== 'function') {
    if (confirm(t[block ? 'advisor.block.confirm' : 'advisor.end.confirm_heading'])) endConversation(c, action, []);
    return;
  }
  el.endDialog.dataset.conversation = c.id;
  el.endDialog.dataset.action = action;
  el.endHeading.textContent = t[block ? 'advisor.block.confirm_heading' : 'advisor.end.confirm_heading'];
  el.endText.textContent = t[block ? 'advisor.block.confirm_text' : 'advisor.end.confirm_text'];
  el.endConfirm.textContent = t[block ? 'advisor.block.button' : 'advisor.end.confirm'];
  for (const box of el.endTagList.querySelectorAll('input[name="tag"]')) box.checked = false;
  el.endDialog.showModal();
}

el.end.addEventListener('click', () => askEnd('end'));
el.block.addEventListener('click', () => askEnd('block'));

el.endDialog.addEventListener('close', () => {
  const c = conversations.get(el.endDialog.dataset.conversation);
  if (el.endDialog.returnValue === 'confirm' && c) {
    const tags = [...el.endTagList.querySelectorAll('input[name="tag"]:checked')].map((box) => box.value);
    endConversation(c, el.endDialog.dataset.action === 'block' ? 'block' : 'end', tags);
  }
  el.endDialog.returnValue = '';
});

// endConversation ends c, or blocks its sender too; the tags are counted,
// never stored with it. Offline, it goes out once c is ours again.
function endConversation(c, action, tags) {
  if (c.closed) return;
  const frame = { type: action === 'block' ? 'block' : 'end', conversation: c.id };
  if (tags.length > 0) frame.tags = tags;
  c.pendingEnd = socket.send(frame) ? null : frame;
}

el.close.addEventListener('click', () => {
  if (selected?.closed) remove(selected);
});

// --- transfer -------------------------------------------------------------

el.transfer.addEventListener('click', () => {
  const c = selected;
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
function renderTargets() {
  const checked = el.transferForm.querySelector('input[name="target"]:checked')?.value;
  const focused = document.activeElement?.name === 'target' ? document.activeElement.value : null;
  const advisors = colleagues.filter((a) => a && typeof a.name === 'string').map((a, i) => {
    const full = (Number(a.load) || 0) >= (Number(a.capacity) || 0);
    const load = `${Number(a.load) || 0} / ${Number(a.capacity) || 0}`;
    return target(`advisor-${i}`, `advisor:${a.name}`, a.alias || a.name,
      full ? `${load} · ${t['advisor.transfer.full']}` : load, full);
  });
  const queueTargets = queues.filter((q) => q && typeof q.name === 'string').map((q, i) =>
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
  transferring = c.id;
  el.transferConfirm.disabled = true;
});

el.transferCancel.addEventListener('click', () => el.transferDialog.close('cancel'));

el.transferDialog.addEventListener('close', () => {
  el.transferConfirm.disabled = false;
  if (!el.transfer.hidden && !el.controls.hidden) el.transfer.focus();
});

// --- keyboard -------------------------------------------------------------

// Arrow keys move through the list; Alt+1..9 jumps to a conversation;
// Alt+A accepts the oldest offer.
el.list.addEventListener('keydown', (ev) => {
  if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
  const buttons = [...el.list.querySelectorAll('button[data-conversation]')];
  const at = buttons.indexOf(document.activeElement);
  if (at < 0) return;
  ev.preventDefault();
  const next = buttons[(at + (ev.key === 'ArrowDown' ? 1 : buttons.length - 1)) % buttons.length];
  next.focus();
  select(next.dataset.conversation);
});

document.addEventListener('keydown', (ev) => {
  if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
  if (ev.code === 'KeyA') {
    const first = offers.values().next().value;
    if (!first) return;
    ev.preventDefault();
    accept(first.id);
    return;
  }
  const m = /^Digit([1-9])$/.exec(ev.code);
  if (!m) return;
  const id = [...conversations.keys()][Number(m[1]) - 1];
  if (!id) return;
  ev.preventDefault();
  select(id);
});

// --- clock ----------------------------------------------------------------

setInterval(() => {
  if (queues.some((q) => q.waiting > 0)) renderQueue();
  const canTake = room();
  for (const item of waitingItems.values()) updateWaiting(item, canTake);
  for (const o of offers.values()) updateOffer(o);
}, 1000);

// --- start ----------------------------------------------------------------

renderMute();
renderQueue();
renderWaiting();
renderPane();
socket.connect();
