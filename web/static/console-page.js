// The advisor console's page: its elements, what it says to screen
// readers, short notices, priority flags and the tab's title.
import { t } from './labels.js';
import { conversations, offers, state } from './console-state.js';

export const $ = (id) => document.getElementById(id);
export const el = {
  duty: $('duty'), capacity: $('capacity'), aliasForm: $('alias-form'), alias: $('alias'), load: $('load'),
  mute: $('mute'), supervisor: $('supervisor-link'),
  reconnecting: $('reconnecting'), announcer: $('announcer'),
  offDuty: $('off-duty-banner'), offDutyText: $('off-duty-text'), offDutyDismiss: $('off-duty-dismiss'),
  offersSection: $('offers-section'), offers: $('offers'), offersNotice: $('offers-notice'),
  queue: $('queue'), waiting: $('waiting'), waitingHint: $('waiting-hint'), queueNotice: $('queue-notice'),
  list: $('conversations'), listEmpty: $('conversations-empty'),
  pane: $('conversation'), heading: $('conversation-heading'), info: $('conversation-info'),
  controls: $('conversation-controls'), composer: $('composer'), text: $('text'),
  noteToggle: $('note-toggle'), noteForm: $('note-form'), noteText: $('note-text'),
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
const baseTitle = document.title;

// announce says something to screen readers through the live region.
export function announce(text) {
  el.announcer.textContent = '';
  setTimeout(() => { el.announcer.textContent = text; }, 50);
}

const noticeTimers = new Map();

// notice shows a short message in p and says it; it goes after a minute.
export function notice(p, text) {
  p.textContent = text;
  p.hidden = false;
  announce(text);
  clearTimeout(noticeTimers.get(p));
  noticeTimers.set(p, setTimeout(() => { p.hidden = true; }, 60_000));
}

export function clearNotice(p) {
  clearTimeout(noticeTimers.get(p));
  p.hidden = true;
  p.textContent = '';
}

// priorityFlag is the label of a conversation's priority (2: the visitor
// is in danger now, 1: high), or null for a normal one.
export function priorityFlag(priority) {
  const p = Number(priority);
  if (p !== 1 && p !== 2) return null;
  const span = document.createElement('span');
  span.className = p === 2 ? 'priority urgent' : 'priority high';
  span.textContent = t[p === 2 ? 'advisor.priority.urgent' : 'advisor.priority.high'];
  return span;
}

// renderListEmpty says what is true now when the advisor holds no
// conversation: off duty, on duty with an offer to answer, or on duty
// waiting for one.
export function renderListEmpty() {
  const key = !state.status.duty ? 'advisor.conversations.empty'
    : offers.size > 0 ? 'advisor.conversations.empty_offer'
    : 'advisor.conversations.empty_on_duty';
  el.listEmpty.hidden = conversations.size > 0;
  if (el.listEmpty.textContent !== t[key]) el.listEmpty.textContent = t[key];
}

// updateTitle counts what waits for the advisor in the tab's title:
// unread conversations and messages, and offers to answer, and brings the
// empty list's words up to date.
export function updateTitle() {
  let n = offers.size;
  for (const c of conversations.values()) n += c.unread;
  document.title = n > 0 ? `(${n}) ${baseTitle}` : baseTitle;
  // What changes the count changes what an empty list says.
  renderListEmpty();
}
