// The advisor console's conversation pane: the list of the conversations
// the advisor holds, with unread counts and typing, and the open one with
// its transcript, its details and what shows once it closed; for a
// returning visitor, the earlier conversations their return code kept,
// read-only and folded away.
import { Transcript, displayLocale, duration, fill } from './transcript.js';
import { audienceName, languageName, t } from './labels.js';
import { accepts, conversations, offers, picks, sendOwn, socket, state } from './console-state.js';
import { $, el, priorityFlag, updateTitle } from './console-page.js';
import { notify } from './console-sound.js';
import { removeOffer } from './console-offers.js';
import { renderWaiting } from './console-queue.js';
import { closeCanned } from './console-canned.js';
import { renderRemaining } from './console-composer.js';
import { closeTransfer } from './console-transfer.js';
import { closeEnd } from './console-ending.js';

const lang = document.body.dataset.lang;
const emptyList = $('messages');
// Where the open conversation's earlier thread shows, below its details.
const earlierHolder = document.createElement('div');
earlierHolder.className = 'earlier-holder';
el.info.after(earlierHolder);

// The visitor counts as typing this long after their last typing frame.
const TYPING_SHOWN_MS = 5000;

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

export function assigned(info) {
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
    if (!state.selected) select(c.id, false);
    renderItem(c);
    updateTitle();
    if (!taken) notify(c.priority === 2);
  } else if (c.closed) {
    // Ours again (say, after a requeue or a transfer came back to us).
    c.closed = null;
    c.priority = Number(info.priority) || 0;
    renderItem(c);
    if (state.selected === c) renderPane();
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
  for (const m of c.transcript.unsent()) sendOwn(c, m.id, m.text, m.kind);
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
    returning: false, // a returning visitor: an earlier frame came
    earlier: null, // its <details>, read-only
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
    retry: (id, text, kind) => sendOwn(c, id, text, kind),
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

export function entry(c, e) {
  const pane = state.selected === c ? $('messages') : null;
  const nearBottom = pane && pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 80;
  if (!c.transcript.add(e)) return;
  if (e.from === 'visitor' && e.kind === 'message') {
    stopTyping(c);
    if (!c.fresh && (state.selected !== c || !document.hasFocus())) {
      c.unread++;
      renderItem(c);
      updateTitle();
    }
    if (document.hidden || state.selected !== c) notify(c.priority === 2);
  }
  if (e.kind === 'ended') markClosed(c, 'ended');
  if (nearBottom) pane.scrollTop = pane.scrollHeight;
}

export function markClosed(c, reason) {
  if (c.closed) return;
  c.closed = reason;
  c.pendingEnd = null;
  stopTyping(c);
  for (const m of c.transcript.unsent()) c.transcript.fail(m.id, 'ended');
  renderItem(c);
  if (state.selected === c) {
    closeTransfer(c);
    closeEnd(c);
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
  if (c.returning) parts.push(' ', returningTag());
  if (c.closed) {
    const state = document.createElement('span');
    state.className = 'conv-state';
    state.textContent = t[`advisor.conversation.${c.closed}`];
    parts.push(' ', state);
  }
  if (c.typing && state.selected !== c) {
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
  if (state.selected === c) button.setAttribute('aria-current', 'true');
  else button.removeAttribute('aria-current');
}

// select shows a conversation; read says whether the advisor chose it (and
// so has seen it) rather than it being opened for them.
export function select(id, read = true) {
  const c = conversations.get(id) ?? null;
  if (state.selected) {
    state.selected.draft = el.text.value;
    state.selected.noteDraft = el.noteText.value;
  }
  closeCanned();
  const previous = state.selected;
  state.selected = c;
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

export function renderPane() {
  const c = state.selected;
  if (!c) {
    el.heading.textContent = t['advisor.conversation.none'];
    el.info.textContent = '';
    el.controls.hidden = true;
    el.closedControls.hidden = true;
    earlierHolder.replaceChildren();
    renderTyping();
    return;
  }
  el.heading.textContent = `${audienceName(c.audience)} · ${languageName(c.lang)}`;
  const flag = c.closed ? null : priorityFlag(c.priority);
  el.info.replaceChildren(...(flag ? [flag, ' '] : []), ...(c.returning ? [returningTag(), ' '] : []),
    fill(t['advisor.conversation.waited'], { wait: duration(c.waited) }));
  if (c.earlier) earlierHolder.replaceChildren(c.earlier);
  else earlierHolder.replaceChildren();
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
  if (state.selected === c) {
    const rest = [...conversations.keys()];
    select(rest[Math.min(at, rest.length - 1)] ?? null);
    el.heading.focus();
  }
  updateTitle();
}

function markRead() {
  if (!state.selected || !state.selected.unread) return;
  state.selected.unread = 0;
  state.selected.fresh = false;
  renderItem(state.selected);
  updateTitle();
}

// Looking at or working in the open conversation counts as reading it.
for (const type of ['pointerdown', 'focusin', 'keydown']) {
  el.pane.addEventListener(type, markRead);
}
window.addEventListener('focus', markRead);

// visitorTyping shows that the visitor of c is typing, until a few
// seconds pass without a typing frame or their message comes.
export function visitorTyping(c) {
  if (c.closed) return;
  clearTimeout(c.typingTimer);
  c.typingTimer = setTimeout(() => stopTyping(c), TYPING_SHOWN_MS);
  if (c.typing) return; // the same burst: nothing new to show or say
  c.typing = true;
  if (state.selected === c) renderTyping();
  else renderItem(c);
}

function stopTyping(c) {
  clearTimeout(c.typingTimer);
  if (!c.typing) return;
  c.typing = false;
  if (state.selected === c) renderTyping();
  else renderItem(c);
}

// renderTyping says in the open conversation whether its visitor is typing.
// The status region speaks when the text appears, so once per burst.
function renderTyping() {
  const text = state.selected?.typing && !state.selected.closed ? t['advisor.typing'] : '';
  if (el.typing.textContent !== text) el.typing.textContent = text;
}

// --- a returning visitor ------------------------------------------------------

function returningTag() {
  const tag = document.createElement('span');
  tag.className = 'conv-returning';
  tag.textContent = t['advisor.earlier.returning'];
  return tag;
}

// earlier shows what a returning visitor's code kept before (the earlier
// frame, docs/protocol.md "Return codes"): each earlier conversation or
// answered question, read-only, in a fold above the conversation. It is
// in this page's memory only, and goes with the conversation.
export function earlier(f) {
  const c = conversations.get(f?.conversation);
  if (!c || !Array.isArray(f.parts)) return;
  c.returning = true;
  const day = new Intl.DateTimeFormat(displayLocale(lang), { dateStyle: 'long', timeStyle: 'short' });
  const details = document.createElement('details');
  details.className = 'earlier';
  const summary = document.createElement('summary');
  summary.textContent = fill(t['advisor.earlier.summary'], { count: f.parts.length });
  const note = document.createElement('p');
  note.className = 'small';
  note.textContent = t['advisor.earlier.note'];
  details.append(summary, note);
  for (const part of f.parts) {
    const started = Number(part?.started) || Number(part?.entries?.[0]?.at) || 0;
    const h = document.createElement('h3');
    h.textContent = fill(t[part?.kind === 'question' ? 'advisor.earlier.part_question' : 'advisor.earlier.part_chat'],
      { date: started ? day.format(new Date(started)) : '' });
    const ol = document.createElement('ol');
    ol.className = 'earlier-list';
    const transcript = new Transcript(ol, {
      self: 'advisor',
      t,
      lang,
      who: (e) => (e.from === 'visitor' ? t['advisor.visitor'] : e.name || t['common.you']),
      system: systemText,
      retry: () => {},
    });
    (Array.isArray(part?.entries) ? part.entries : []).forEach((e, i) => {
      transcript.add({ ...e, seq: Number(e.seq) > 0 ? e.seq : i + 1 });
    });
    details.append(h, ol);
  }
  c.earlier = details;
  renderItem(c);
  if (state.selected === c) renderPane();
}

el.close.addEventListener('click', () => {
  if (state.selected?.closed) remove(state.selected);
});

// Arrow keys move through the list.
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
