// A return code, shown once (docs/protocol.md, "Return codes"): large, in
// its four groups, with copy and print, and the plain warning that losing
// it loses the conversation. The page never stores it: it lives in this
// dialog's text until the visitor closes it, leaves the page or quick
// exits, and is then taken out of the document.
import { readMessages } from './transcript.js';

const t = readMessages();
const $ = (id) => document.getElementById(id);
const dialog = $('code-dialog');
const value = $('code-value');
const status = $('code-status');
const copyButton = $('code-copy');
const printButton = $('code-print');
const closeButton = $('code-close');

let onClosed = null; // where focus goes back to, once the code is put away
let shown = ''; // the code while it is on screen, for copy

// showCode shows code once. after() runs when the visitor closed it; once
// says what the code is for, if not a kept conversation.
export function showCode(code, after, once) {
  shown = String(code);
  $('code-once').textContent = once ?? t['visitor.code.once'];
  onClosed = after ?? null;
  // The groups, each but the last with its dash, so that a code too wide
  // for the screen breaks between groups, never inside one.
  const groups = shown.split('-');
  value.replaceChildren(...groups.map((g, i) => {
    const span = document.createElement('span');
    span.className = 'code-group';
    span.textContent = g;
    if (i < groups.length - 1) {
      const dash = document.createElement('span');
      dash.className = 'code-dash';
      dash.textContent = '-';
      span.append(dash);
    }
    return span;
  }));
  status.textContent = '';
  copyButton.hidden = !navigator.clipboard?.writeText;
  document.body.classList.add('code-open');
  if (typeof dialog.show === 'function') dialog.show();
  else dialog.setAttribute('open', '');
  $('code-heading').focus();
}

// clearCode takes the code out of the page at once.
export function clearCode() {
  shown = '';
  value.replaceChildren();
  status.textContent = '';
  document.body.classList.remove('code-open');
  if (dialog.open) {
    if (typeof dialog.close === 'function') dialog.close();
    else dialog.removeAttribute('open');
  }
}

copyButton.addEventListener('click', async () => {
  if (!shown) return;
  try {
    await navigator.clipboard.writeText(shown);
    status.textContent = t['visitor.code.copied'];
  } catch {
    status.textContent = t['visitor.code.copy_failed'];
  }
});

// The print stylesheet shows only the code and how to use it.
printButton.addEventListener('click', () => window.print());

closeButton.addEventListener('click', () => {
  const after = onClosed;
  onClosed = null;
  clearCode();
  after?.();
});

dialog.addEventListener('keydown', (ev) => {
  // Escape once does not put the code away by accident (twice is the
  // quick exit); the button does.
  if (ev.key === 'Escape') ev.preventDefault();
});
dialog.addEventListener('cancel', (ev) => ev.preventDefault());

// Leaving the page, by a link or the quick exit, takes the code with it,
// also from a copy of the page the browser keeps for Back.
window.addEventListener('pagehide', clearCode);

// postJSON posts body to path and returns the status (0 when the network
// failed) and the decoded answer, if any.
export async function postJSON(path, body) {
  try {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    return { status: res.status, data };
  } catch {
    return { status: 0, data: null };
  }
}
