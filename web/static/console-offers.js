// The advisor console's offers: a card per conversation routing offers,
// with how long the visitor waited, a countdown and an Accept button.
import { duration, fill } from './transcript.js';
import { audienceName, languageName, runOn, t } from './labels.js';
import { accepts, conversations, offers, socket } from './console-state.js';
import { announce, clearNotice, el, notice, priorityFlag, updateTitle } from './console-page.js';
import { beep } from './console-sound.js';

export function offered(f) {
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
  o.waited.textContent = fill(t['advisor.offer.waited'], { wait: runOn(o.waitedBase, o.at, now) });
  const left = Math.ceil((o.deadline - now) / 1000);
  o.countdown.textContent = left > 0 ? fill(t['advisor.offer.countdown'], { time: duration(left) }) : t['advisor.offer.time_up'];
  o.li.classList.toggle('ending', left <= 10);
}

export function accept(id) {
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

// acceptOldest accepts the offer made first and reports whether there was one.
export function acceptOldest() {
  const first = offers.values().next().value;
  if (!first) return false;
  accept(first.id);
  return true;
}

// removeOffer takes an offer's card away, with a notice saying why if
// text is given.
export function removeOffer(id, text) {
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

// removeAllOffers takes every card away: off duty nothing can be accepted.
export function removeAllOffers() {
  for (const id of [...offers.keys()]) removeOffer(id, null);
}

// acceptFailed makes an accepted offer that was not given (a server
// failure, say) but is still offered acceptable again.
export function acceptFailed(id) {
  accepts.delete(id);
  const o = offers.get(id);
  if (o) o.button.disabled = false;
  notice(el.offersNotice, t['error.generic']);
}

// expireStaleOffers is for a new connection: the server offers again what
// is still offered after hello; an offer it does not is gone (it ran out
// while the connection was down).
export function expireStaleOffers() {
  for (const o of offers.values()) o.stale = true;
  setTimeout(() => {
    for (const o of [...offers.values()]) if (o.stale) removeOffer(o.id, null);
  }, 5000);
}

// tickOffers runs the offers' clocks on.
export function tickOffers() {
  for (const o of offers.values()) updateOffer(o);
}
