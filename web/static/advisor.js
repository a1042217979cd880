// The advisor console: duty and capacity, display name, offers, the queue
// view with picks by hand, several conversations at once with internal
// notes and transfers, canned responses, outcome tags and typing
// indicators. Speaks docs/protocol.md on /ws/advisor.
//
// This module wires the console's modules (console-*.js, one concern
// each) to the socket: it dispatches the server's frames, handles
// refusals and the connection, the keyboard shortcuts and the clock.
import { t } from './labels.js';
import { accepts, conversations, offers, picks, socket, state } from './console-state.js';
import { el, notice } from './console-page.js';
import { hush, renderMute } from './console-sound.js';
import { showOffDuty, showStatus } from './console-duty.js';
import { renderQueue, renderWaiting, tickQueue } from './console-queue.js';
import { acceptFailed, acceptOldest, expireStaleOffers, offered, removeOffer, tickOffers } from './console-offers.js';
import { assigned, earlier, entry, markClosed, renderPane, select, visitorTyping } from './console-conversation.js';
import { setCanned } from './console-canned.js';
import { setTags } from './console-ending.js';
import { transferDone, renderTargets, transferRefused } from './console-transfer.js';
import { questionAnswered, questionRefused, questionTaken, renderQuestions, tickQuestions } from './console-questions.js';

const body = document.body;
let opened = false; // the current connection attempt reached the server

// --- socket ---------------------------------------------------------------

Object.assign(socket.handlers, {
  onopen() {
    opened = true;
    hush(2000);
    expireStaleOffers();
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
      state.queues = Array.isArray(f.queues) ? f.queues : [];
      state.waiting = Array.isArray(f.waiting) ? f.waiting : [];
      state.colleagues = Array.isArray(f.advisors) ? f.advisors : [];
      state.queuesAt = Date.now();
      renderQueue();
      renderWaiting();
      if (el.transferDialog.open) renderTargets();
      break;
    case 'offered':
      offered(f);
      break;
    case 'questions':
      renderQuestions(f);
      break;
    case 'question':
      questionTaken(f);
      break;
    case 'question_answered':
      questionAnswered(f.question);
      break;
    case 'assigned':
      assigned(f.conversation);
      break;
    case 'earlier':
      earlier(f);
      break;
    case 'unassigned':
      unassigned(id, c, f.reason);
      break;
    case 'off_duty':
      showOffDuty(f.reason);
      break;
    case 'console':
      setCanned(f.canned);
      setTags(f.tags);
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
  if (!c && questionRefused(f)) return;
  if (c && f.id) {
    c.transcript.fail(f.id, f.code);
  } else if (id && f.code === 'offer_expired') {
    removeOffer(id, t['advisor.offer.too_late']);
  } else if (id && accepts.has(id)) {
    // Not taken, but still offered (a server failure, say): try again.
    acceptFailed(id);
  } else if (id && picks.has(id)) {
    picks.delete(id);
    notice(el.queueNotice, t[`advisor.pick.error.${f.code}`] ?? t['error.generic']);
    renderWaiting();
  } else if (id && id === state.transferring) {
    transferRefused(f.code);
    if (c && (f.code === 'not_found' || f.code === 'ended')) markClosed(c, 'ended');
  } else if (c && (f.code === 'not_found' || f.code === 'ended')) {
    markClosed(c, 'ended');
  } else {
    console.warn('advicechat:', f.code, f.message);
  }
}

// unassigned handles a conversation or offer that is no longer the
// advisor's.
function unassigned(id, c, reason) {
  if (offers.has(id)) {
    // An offer that ran out, or was taken back.
    removeOffer(id, reason === 'offer_expired' ? t['advisor.offer.expired'] : null);
    return;
  }
  if (c) markClosed(c, ['requeued', 'transferred', 'reassigned'].includes(reason) ? reason : 'ended');
  if (id && id === state.transferring) transferDone(c);
}

// --- keyboard -------------------------------------------------------------

// Alt+1..9 jumps to a conversation; Alt+A accepts the oldest offer.
document.addEventListener('keydown', (ev) => {
  if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
  if (ev.code === 'KeyA') {
    if (acceptOldest()) ev.preventDefault();
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
  tickQueue();
  tickOffers();
  tickQuestions();
}, 1000);

// --- start ----------------------------------------------------------------

renderMute();
renderQueue();
renderWaiting();
renderPane();
socket.connect();
