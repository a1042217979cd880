// Quick exit for pages without a chat: leave at once, leave nothing behind
// in this tab, and keep this page out of the Back button's reach.
const link = document.getElementById('quick-exit');
link.addEventListener('click', (ev) => {
  ev.preventDefault();
  sessionStorage.clear();
  location.replace(document.body.dataset.exitUrl);
});
