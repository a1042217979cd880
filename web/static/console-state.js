// What the advisor console knows, shared by its modules: the advisor's
// status, the queues, the offers and conversations, and the one socket to
// /ws/advisor (docs/protocol.md). advisor.js sets the socket's handlers.
import { ReconnectingSocket, socketURL } from './socket.js';

export const socket = new ReconnectingSocket(socketURL('/ws/advisor?acks=entry'), {});

export const state = {
  status: { duty: false, alias: '', capacity: 0, max: 0, load: 0, offered: 0, supervisor: false },
  queues: [],
  waiting: [],
  colleagues: [],
  queuesAt: Date.now(), // when the queue frame came: its clocks run on from there
  selected: null, // the conversation shown
  transferring: null, // id of the conversation whose transfer awaits its answer
};

export const conversations = new Map(); // id -> conversation, in assignment order
export const offers = new Map(); // id -> offer card, in the order offered
export const accepts = new Set(); // offers accepted, until assigned or refused
export const picks = new Set(); // waiting conversations picked, until assigned or refused

// room says whether the advisor may take one more conversation now.
export function room() {
  const { status } = state;
  return !!status.duty && (status.load ?? 0) + (status.offered ?? 0) < (status.capacity ?? 0);
}

// sendOwn writes an own message or internal note of c to the server.
export function sendOwn(c, id, text, kind) {
  return socket.send({ type: kind === 'note' ? 'note' : 'message', conversation: c.id, id, text });
}
