// The advisor console: duty, display name, queues and several conversations
// at once. Speaks docs/protocol.md on /ws/advisor.
import { ReconnectingSocket, socketURL } from './socket.js';
import { Transcript, fill, readMessages } from './transcript.js';

const t = readMessages();
const body = document.body;
const lang = body.dataset.lang;
const $ = (id) => document.getElementById(id);
const el = {
  duty: $('duty'), aliasForm: $('alias-form'), alias: $('alias'), load: $('load'),
  reconnecting: $('reconnecting'), queue: $('queue'),
  list: $('conversations'), listEmpty: $('conversations-empty'),
  heading: $('conversation-heading'), info: $('conversation-info'),
  controls: $('conversation-controls'), composer: $('composer'), text: $('text'),
  end: $('end'), endDialog: $('end-dialog'),
  closedControls: $('closed-controls'), closedReason: $('closed-reason'), close: $('close'),
};
const emptyList = $('messages');
const baseTitle = document.title;

const conversations = new Map(); // id -> conversation, in assignment order
let selected = null;
let status = { duty: false, alias: '', capacity: 0, load: 0 };
let queues = [];
let queuesAt = Date.now();
let opened = false; // the current connection attempt reached the server

// --- helpers --------------------------------------------------------------

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

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

function systemText(e) {
  switch (e.kind) {
    case 'joined':
      return fill(t['advisor.entry.joined'], { name: e.name || t['common.you'] });
    case 'requeued':
      return t[`advisor.entry.requeued.${e.reason}`] ?? t['advisor.entry.requeued.advisor_left'];
    case 'ended':
      return t[`advisor.entry.ended.${e.reason}`] ?? t['advisor.conversation.ended'];
    default:
      return '';
  }
}

// --- socket ---------------------------------------------------------------

const socket = new ReconnectingSocket(socketURL('/ws/advisor'), {
  onopen() {
    opened = true;
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
  const c = f.conversation && typeof f.conversation === 'string' ? conversations.get(f.conversation) : null;
  switch (f.type) {
    case 'status':
      showStatus(f);
      break;
    case 'queue':
      queues = Array.isArray(f.queues) ? f.queues : [];
      queuesAt = Date.now();
      renderQueue();
      break;
    case 'assigned':
      assigned(f.conversation);
      break;
    case 'unassigned':
      if (c) markClosed(c, f.reason === 'requeued' ? 'requeued' : 'ended');
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
      if (c && f.id) c.transcript.fail(f.id, f.code);
      else if (c && (f.code === 'not_found' || f.code === 'ended')) markClosed(c, 'ended');
      else console.warn('advicechat:', f.code, f.message);
      break;
  }
}

// --- status and queue -----------------------------------------------------

function showStatus(f) {
  status = { ...status, ...f };
  el.duty.setAttribute('aria-pressed', String(!!status.duty));
  el.duty.textContent = t[status.duty ? 'advisor.duty.on' : 'advisor.duty.off'];
  if (document.activeElement !== el.alias) el.alias.value = status.alias ?? '';
  el.load.textContent = `${status.load ?? 0} / ${status.capacity ?? 0}`;
}

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

setInterval(() => {
  if (queues.some((q) => q.waiting > 0)) renderQueue();
}, 1000);

// --- conversations --------------------------------------------------------

function assigned(info) {
  if (!info || typeof info.id !== 'string') return;
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
  } else if (c.closed) {
    // Ours again (say, after a requeue came back to us).
    c.closed = null;
    renderItem(c);
    if (selected === c) renderPane();
  }
  // Taken back after a reconnect: deliver what did not get through.
  if (c.endRequested) {
    c.endRequested = !socket.send({ type: 'end', conversation: c.id });
    return;
  }
  for (const m of c.transcript.unsent()) {
    socket.send({ type: 'message', conversation: c.id, id: m.id, text: m.text });
  }
}

function create(info) {
  const ol = document.createElement('ol');
  ol.className = 'messages';
  const c = {
    id: info.id,
    audience: info.audience,
    lang: info.lang,
    waited: Number(info.waited) || 0,
    unread: 0,
    fresh: false,
    closed: null,
    endRequested: false,
    draft: '',
    ol,
    item: document.createElement('li'),
  };
  c.transcript = new Transcript(ol, {
    self: 'advisor',
    t,
    lang,
    who: (e) => (e.from === 'visitor' ? t['advisor.visitor'] : e.name || t['common.you']),
    system: systemText,
    retry: (id, text) => socket.send({ type: 'message', conversation: c.id, id, text }),
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
  if (e.from === 'visitor' && !c.fresh && (selected !== c || !document.hasFocus())) {
    c.unread++;
    renderItem(c);
    updateTitle();
  }
  if (e.kind === 'ended') markClosed(c, 'ended');
  if (nearBottom) pane.scrollTop = pane.scrollHeight;
}

function markClosed(c, reason) {
  if (c.closed) return;
  c.closed = reason;
  for (const m of c.transcript.unsent()) c.transcript.fail(m.id, 'ended');
  renderItem(c);
  if (selected === c) renderPane();
}

function renderItem(c) {
  const button = c.item.firstElementChild;
  const index = [...conversations.keys()].indexOf(c.id) + 1;
  const title = document.createElement('span');
  title.className = 'conv-title';
  title.textContent = `${index}. ${audienceName(c.audience)} · ${languageName(c.lang)}`;
  const parts = [title];
  if (c.closed) {
    const state = document.createElement('span');
    state.className = 'conv-state';
    state.textContent = t[`advisor.conversation.${c.closed}`];
    parts.push(' ', state);
  }
  if (c.unread > 0) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = String(c.unread);
    const hidden = document.createElement('span');
    hidden.className = 'visually-hidden';
    hidden.textContent = fill(t['advisor.conversation.unread'], { count: c.unread });
    parts.push(' ', badge, hidden);
  }
  button.replaceChildren(...parts);
  button.classList.toggle('closed', !!c.closed);
  if (selected === c) button.setAttribute('aria-current', 'true');
  else button.removeAttribute('aria-current');
}

// select shows a conversation; read says whether the advisor chose it (and
// so has seen it) rather than it being opened for them.
function select(id, read = true) {
  const c = conversations.get(id) ?? null;
  if (selected) selected.draft = el.text.value;
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
    return;
  }
  el.heading.textContent = `${audienceName(c.audience)} · ${languageName(c.lang)}`;
  el.info.textContent = fill(t['advisor.conversation.waited'], { wait: duration(c.waited) });
  el.controls.hidden = !!c.closed;
  el.closedControls.hidden = !c.closed;
  el.closedReason.textContent = c.closed ? t[`advisor.conversation.${c.closed}_note`] : '';
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

function updateTitle() {
  let n = 0;
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
  $('conversation').addEventListener(type, markRead);
}
window.addEventListener('focus', markRead);

// --- actions --------------------------------------------------------------

el.duty.addEventListener('click', () => {
  const on = !status.duty;
  if (!on && status.load > 0 && !confirm(t['advisor.duty.off_confirm'])) return;
  socket.send({ type: 'duty', on });
});

el.aliasForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = el.alias.value.trim();
  if ([...name].length < 1 || [...name].length > 40) return;
  socket.send({ type: 'alias', name });
});

el.composer.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const c = selected;
  const text = el.text.value.trim();
  if (!c || c.closed || !text) return;
  const id = c.transcript.send(text);
  socket.send({ type: 'message', conversation: c.id, id, text });
  el.text.value = '';
  c.draft = '';
  c.ol.scrollTop = c.ol.scrollHeight;
});

el.text.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    el.composer.requestSubmit();
  }
});

el.end.addEventListener('click', () => {
  if (!selected || selected.closed) return;
  el.endDialog.dataset.conversation = selected.id;
  if (typeof el.endDialog.showModal === 'function') el.endDialog.showModal();
  else if (confirm(t['advisor.end.confirm_heading'])) endConversation(selected);
});

// Blocking ends the conversation and keeps its sender from starting a new
// one for a day. A rare step, so the browser's own confirmation will do.
$('block').addEventListener('click', () => {
  if (!selected || selected.closed) return;
  if (confirm(t['advisor.block.confirm'])) socket.send({ type: 'block', conversation: selected.id });
});

el.endDialog.addEventListener('close', () => {
  const c = conversations.get(el.endDialog.dataset.conversation);
  if (el.endDialog.returnValue === 'confirm' && c) endConversation(c);
  el.endDialog.returnValue = '';
});

function endConversation(c) {
  if (c.closed) return;
  if (!socket.send({ type: 'end', conversation: c.id })) c.endRequested = true;
}

el.close.addEventListener('click', () => {
  if (selected?.closed) remove(selected);
});

// Arrow keys move through the list; Alt+1..9 jumps to a conversation.
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
  const m = /^Digit([1-9])$/.exec(ev.code);
  if (!m) return;
  const id = [...conversations.keys()][Number(m[1]) - 1];
  if (!id) return;
  ev.preventDefault();
  select(id);
});

// --- start ----------------------------------------------------------------

renderQueue();
renderPane();
socket.connect();
