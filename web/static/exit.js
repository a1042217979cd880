import './stay.js';
import './language.js';

// Quick exit for pages without a chat: leave at once, leave nothing behind
// in this tab, and keep this page out of the Back button's reach. As on the
// chat page, Escape pressed twice within a second does the same.
const link = document.getElementById('quick-exit');
function leave() {
  sessionStorage.clear();
  location.replace(document.body.dataset.exitUrl);
}
link.addEventListener('click', (ev) => {
  ev.preventDefault();
  leave();
});
let lastEscape = 0;
document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Escape') return;
  const now = Date.now();
  if (now - lastEscape < 1000) leave();
  lastEscape = now;
});
