// What the advisor console and the supervisor view both call things: the
// page's localized messages, and the names of languages, audiences,
// queues and duty, and running clocks.
import { duration, readMessages } from './transcript.js';

// t holds the localized strings the server put in the page.
export const t = readMessages();

export function languageName(code) {
  return t[`lang.${code}`] ?? code;
}

export function audienceName(a) {
  return t[`advisor.audience.${a}`] ?? a;
}

// queueName is a queue's own name in the locale. A queue is one per
// audience, so one without a name of its own is called by its audience.
export function queueName(name) {
  return t[`advisor.queue.name.${name}`] ?? audienceName(name);
}

export function dutyName(on) {
  return t[on ? 'advisor.duty.on' : 'advisor.duty.off'];
}

// runOn writes seconds that the server counted at time at (Date.now()
// milliseconds) as they stand at now, as a duration.
export function runOn(seconds, at, now = Date.now()) {
  return duration((Number(seconds) || 0) + (now - at) / 1000);
}
