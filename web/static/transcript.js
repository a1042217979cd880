// The transcript of one conversation: entries in seq order, own messages
// waiting for their ack, and the highest seq to resume from
// (docs/protocol.md, "Sequence numbers", "Acks").

// newClientID returns a fresh client message id (A-Z a-z 0-9 -).
export function newClientID() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID exists only in secure contexts; plain http on a LAN lacks it.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, '0')).join('');
}

// fill replaces {name} placeholders in a localized string.
export function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
}

// duration writes seconds as m:ss, or h:mm:ss from an hour on.
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// readMessages returns the localized strings the server put in the page.
export function readMessages() {
  const el = document.getElementById('i18n');
  try {
    return JSON.parse(el.textContent);
  } catch {
    return {};
  }
}

// displayLocale is the locale dates and times are written in on a page in
// lang: the browser's own when it is a variant of lang (en-GB on an
// English page writes "2 December 2026, 12:30"), else lang itself.
export function displayLocale(lang) {
  const want = String(lang).toLowerCase();
  const candidates = [Intl.DateTimeFormat().resolvedOptions().locale, ...(navigator.languages ?? []), navigator.language];
  for (const c of candidates) {
    if (typeof c === 'string' && c.toLowerCase().split('-')[0] === want) {
      try {
        return Intl.DateTimeFormat.supportedLocalesOf([c])[0] ?? lang;
      } catch {
        // not a locale the browser knows
      }
    }
  }
  return lang;
}

// OWN_KINDS are the entries a side writes itself, with a client id, an ack
// and a retry: messages, and the advisors' internal notes.
const OWN_KINDS = new Set(['message', 'note']);

const ERROR_KEYS = {
  too_long: 'error.too_long',
  empty: 'error.empty',
  bad_utf8: 'error.bad_utf8',
  rate_limited: 'error.rate_limited',
  conversation_full: 'error.conversation_full',
  ended: 'error.ended',
  lost: 'error.lost',
};

// errorText is the localized reason a message was refused.
export function errorText(t, code) {
  return t[ERROR_KEYS[code]] ?? t['error.generic'];
}

export class Transcript {
  // ol: the list element. opts.self: 'visitor' or 'advisor' (whose messages
  // are "mine"); opts.t: messages; opts.lang; opts.who(entry) -> sender
  // label; opts.system(entry) -> notice text; opts.retry(id, text, kind).
  // Own entries are messages or, on the advisors' side, internal notes
  // (kind 'note'): both are acked, retried and resent alike, each as what
  // it is. opts.notes: this side may see internal notes (advisors only);
  // opts.noteLabel says what a note is, on each of them.
  constructor(ol, opts) {
    this.ol = ol;
    this.opts = opts;
    this.seen = new Set();
    this.highest = 0; // every seq up to this one is here: the resume point
    this.ats = new Map(); // seq -> the server's at of that entry
    this.outbox = new Map(); // client id -> {text, kind, failed}
    this.time = new Intl.DateTimeFormat(displayLocale(opts.lang), { hour: '2-digit', minute: '2-digit' });
  }

  get size() {
    return this.seen.size + this.outbox.size;
  }

  // highestAt is the server's at of the entry at highest (0 if unknown): a
  // resume sends it, so the server can tell whether it still holds that
  // entry (docs/protocol.md, "Interrupted").
  get highestAt() {
    return this.ats.get(this.highest) ?? 0;
  }

  // add shows an entry unless it is already here; it reports whether it was new.
  add(entry) {
    const seq = Number(entry.seq);
    if (!Number.isInteger(seq) || seq < 1) return false;
    if (this.seen.has(seq)) {
      // Our own message, acked first: now the server's at is known.
      if (Number(entry.at)) this.ats.set(seq, Number(entry.at));
      return false;
    }
    if (entry.kind === 'hidden' || (entry.kind === 'note' && !this.opts.notes)) {
      // An entry this side may not see (an advisor's internal note): only
      // its seq counts. The visitor's socket never gets a note's text;
      // should one arrive all the same, the visitor's page shows nothing.
      this.markSeen(seq, entry.at);
      return false;
    }
    const mine = OWN_KINDS.has(entry.kind) && entry.from === this.opts.self;
    if (mine && this.outbox.has(entry.id)) {
      this.confirm(entry.id, seq, entry.at);
      return true;
    }
    this.markSeen(seq, entry.at);
    this.insert(this.render(entry), seq);
    return true;
  }

  // send shows an own message (or, with kind 'note', an internal note) as
  // pending and returns its client id.
  send(text, kind = 'message') {
    const id = newClientID();
    this.outbox.set(id, { text, kind, failed: false });
    const li = this.render({ kind, from: this.opts.self, text, at: Date.now() });
    li.classList.add('pending');
    li.dataset.clientId = id;
    this.setStatus(li, this.opts.t['common.sending']);
    this.ol.append(li);
    return id;
  }

  // ack marks an own message as stored. The entry itself follows with the
  // server's time. The pages ask for entry acks (docs/protocol.md, "Acks"):
  // then the entry mostly comes instead of the ack, and add confirms it.
  ack(id, seq) {
    if (this.outbox.has(id)) this.confirm(id, Number(seq), 0);
  }

  // interrupted handles the server's word that the entries after seq are
  // no longer stored (a server failure lost them): they stay on screen
  // marked as lost, own ones with a button to send them again, a notice
  // says so, and what the server sends next takes their seqs.
  interrupted(seq) {
    const keep = Number(seq);
    if (!Number.isInteger(keep) || keep < 0) return;
    const lost = [...this.ol.children].filter((li) => li.dataset.seq && Number(li.dataset.seq) > keep);
    if (lost.length === 0 && this.highest <= keep) return;
    for (const li of lost) {
      li.dataset.seq = String(keep + 0.25); // above the notice, below what comes
      li.classList.add('lost');
      if (li.dataset.from === this.opts.self && OWN_KINDS.has(li.dataset.kind)) {
        const id = newClientID();
        this.outbox.set(id, { text: li.querySelector('.text')?.textContent ?? '', kind: li.dataset.kind, failed: true });
        li.dataset.clientId = id;
        this.fail(id, 'lost');
      } else if (li.querySelector('.meta')) {
        this.setStatus(li, this.opts.t['common.lost']);
      }
    }
    for (const s of [...this.seen]) if (s > keep) this.seen.delete(s);
    for (const s of [...this.ats.keys()]) if (s > keep) this.ats.delete(s);
    this.highest = Math.min(this.highest, keep);
    const notice = this.render({ kind: 'interrupted' });
    notice.querySelector('.text').textContent = this.opts.t['common.interrupted'];
    this.insert(notice, keep + 0.5);
  }

  // fail marks an own message as not sent, with a retry button.
  fail(id, code) {
    const item = this.outbox.get(id);
    const li = this.pendingItem(id);
    if (!item || !li) return;
    item.failed = true;
    li.classList.remove('pending');
    li.classList.add('failed');
    const status = this.setStatus(li, `${this.opts.t['common.not_sent']} ${errorText(this.opts.t, code)}`);
    if (code === 'ended' || code === 'empty' || code === 'too_long' || code === 'bad_utf8' || code === 'conversation_full') return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'retry';
    button.textContent = this.opts.t['common.retry'];
    button.addEventListener('click', () => {
      item.failed = false;
      li.classList.remove('failed');
      li.classList.add('pending');
      this.setStatus(li, this.opts.t['common.sending']);
      this.opts.retry(id, item.text, item.kind);
    });
    status.append(' ', button);
  }

  // unsent lists own messages (and notes: see kind) to send again after a
  // reconnect.
  unsent() {
    return [...this.outbox].filter(([, m]) => !m.failed).map(([id, m]) => ({ id, text: m.text, kind: m.kind }));
  }

  // lines returns what the list shows, in order, as plain data, for a copy
  // the reader keeps: when (a Date, or null), who wrote it (empty for a
  // notice), the text, whether it came from the system, and the state of
  // an own message that is not stored ('pending', 'failed', 'lost' or '').
  lines() {
    return [...this.ol.children].map((li) => {
      const time = li.querySelector('time');
      const at = time ? Date.parse(time.dateTime) : this.ats.get(Number(li.dataset.seq));
      let state = '';
      for (const s of ['failed', 'lost', 'pending']) if (!state && li.classList.contains(s)) state = s;
      return {
        at: Number.isFinite(at) ? new Date(at) : null,
        who: li.querySelector('.who')?.textContent ?? '',
        text: li.querySelector('.text')?.textContent ?? '',
        system: li.dataset.from === 'system',
        state,
      };
    });
  }

  confirm(id, seq, at) {
    const li = this.pendingItem(id);
    this.outbox.delete(id);
    if (!li || !Number.isInteger(seq) || this.seen.has(seq)) {
      li?.remove();
      return;
    }
    this.markSeen(seq, at);
    li.classList.remove('pending', 'failed', 'lost');
    li.querySelector('.status')?.remove();
    li.dataset.seq = String(seq);
    const time = li.querySelector('time');
    if (time && at) this.setTime(time, at);
    this.insert(li, seq);
  }

  markSeen(seq, at) {
    this.seen.add(seq);
    if (Number(at)) this.ats.set(seq, Number(at));
    while (this.seen.has(this.highest + 1)) this.highest++;
  }

  pendingItem(id) {
    return [...this.ol.querySelectorAll('li[data-client-id]')].find((li) => li.dataset.clientId === id);
  }

  // insert keeps entries in seq order, with pending messages last.
  insert(li, seq) {
    li.dataset.seq = String(seq);
    let before = null;
    for (const other of this.ol.children) {
      if (other === li) continue;
      if (!other.dataset.seq || Number(other.dataset.seq) > seq) {
        before = other;
        break;
      }
    }
    this.ol.insertBefore(li, before);
  }

  render(entry) {
    const li = document.createElement('li');
    li.className = 'msg';
    li.dataset.from = OWN_KINDS.has(entry.kind) ? entry.from : 'system';
    li.dataset.kind = entry.kind;
    if (!OWN_KINDS.has(entry.kind)) {
      const p = document.createElement('p');
      p.className = 'text';
      p.textContent = this.opts.system(entry);
      li.append(p);
      return li;
    }
    if (entry.kind === 'note') {
      // Set apart from what the visitor reads, in words and not only in
      // looks.
      li.classList.add('note');
      const label = document.createElement('p');
      label.className = 'note-label';
      label.textContent = this.opts.noteLabel ?? '';
      li.append(label);
    } else if (entry.from === this.opts.self) {
      li.classList.add('mine');
    }
    const meta = document.createElement('p');
    meta.className = 'meta';
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = this.opts.who(entry);
    const time = document.createElement('time');
    this.setTime(time, entry.at);
    meta.append(who, ' ', time);
    const text = document.createElement('p');
    text.className = 'text';
    text.dir = 'auto'; // a message may be in another script than the page
    text.textContent = entry.text ?? '';
    li.append(meta, text);
    return li;
  }

  setTime(el, at) {
    const d = new Date(Number(at) || Date.now());
    el.dateTime = d.toISOString();
    el.textContent = this.time.format(d);
  }

  setStatus(li, text) {
    let status = li.querySelector('.status');
    if (!status) {
      status = document.createElement('span');
      status.className = 'status';
      li.querySelector('.meta').append(' ', status);
    }
    status.textContent = text;
    return status;
  }
}
