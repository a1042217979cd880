// Every navigation inside the visitor's pages replaces the tab's history
// entry instead of adding one: after quick exit, Back must never bring
// this service back, whatever the visitor clicked before (a language, the
// privacy page and back). Links to elsewhere (112, e-mail, other sites)
// and links opened in a new tab or window are left alone.
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
  if (!a || (a.target && a.target !== '_self') || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  ev.preventDefault();
  location.replace(url.href);
});

// Said on the page, for whoever checks that it holds (the browser tests).
document.documentElement.dataset.history = 'replace';
