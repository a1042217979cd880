// The language choice of the visitor's pages: one select in a small form
// that works without script. The page changes only when its button is
// pressed, never while the select is being looked through (WCAG 3.2.2);
// with script, the new page takes the place of this one in the tab's
// history, as every navigation inside the visitor's pages does (stay.js).
import { readMessages } from './transcript.js';

const form = document.getElementById('language-form');
const select = document.getElementById('language-select');
const LANG_KEY = 'advicechat.lang';

// languages lists the codes the select offers.
export function languages() {
  return select ? [...select.options].map((o) => o.value) : [];
}

function go(code) {
  if (!languages().includes(code)) return;
  // A return code on screen is shown only this once, and a page in
  // another language would not have it: the visitor puts it away first.
  if (document.body.classList.contains('code-open')) {
    const status = document.getElementById('code-status');
    if (status) status.textContent = readMessages()['visitor.code.first'] ?? '';
    document.getElementById('code-heading')?.focus();
    return;
  }
  // The chat page remembers the choice for this tab, until the chat ends.
  if (document.body.classList.contains('visitor') && !document.body.classList.contains('privacy-page')) {
    sessionStorage.setItem(LANG_KEY, code);
  }
  const url = new URL(location.href);
  url.search = '';
  url.searchParams.set('lang', code);
  location.replace(url.href);
}

if (form && select) {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go(select.value);
  });
}
