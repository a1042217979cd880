// The chat button for a helpline's own website. Served as /widget.js,
// wrapped by the service in a function scope with TEXTS (the widget.*
// messages of every language) and DEFAULT_LANG. Included as
//
//   <script src="https://chat.example.org/widget.js" lang="en" async></script>
//
// it puts a link, styled as a button, right after itself (or into the
// element named by data-target), which opens the chat in a new top-level
// tab and says whether the chat is open, closed until when, or busy. It
// reads /status.json from the service it came from, without cookies or
// referrer, and talks to nobody else. It sets no cookie and stores
// nothing.
const me = document.currentScript;
const base = new URL(me.src).origin;
const asked = (me.getAttribute('lang') || me.dataset.lang || document.documentElement.lang || '').toLowerCase().split('-')[0];
const lang = TEXTS[asked] ? asked : DEFAULT_LANG;
const t = TEXTS[lang];
// How often the status is read again while the page is open.
const REFRESH_MS = 60000;

const css = document.createElement('link');
css.rel = 'stylesheet';
css.href = base + '/widget.css';
document.head.append(css);

const button = document.createElement('a');
button.className = 'advicechat-widget';
button.href = base + '/?lang=' + encodeURIComponent(lang);
button.target = '_blank';
button.rel = 'noopener noreferrer';
button.referrerPolicy = 'no-referrer';
button.lang = lang;
button.dir = lang === 'ar' ? 'rtl' : 'ltr';
button.dataset.state = 'loading';
const title = document.createElement('span');
title.className = 'advicechat-widget-title';
title.textContent = t.title;
const state = document.createElement('span');
state.className = 'advicechat-widget-state';
state.textContent = t.open_the_chat;
const tab = document.createElement('span');
tab.className = 'advicechat-widget-tab';
tab.textContent = t.new_tab;
button.append(title, state, tab);

const target = me.dataset.target && document.getElementById(me.dataset.target);
if (target) target.append(button);
else me.after(button);

function fill(s, data) {
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in data ? String(data[k]) : m));
}

// show puts one status on the button: open, closed (until when), busy
// (about how long), or open with nobody on duty.
function show(s) {
  let key = 'open';
  let data = {};
  if (!s.open) {
    key = s.next_open_text ? 'closed_until' : 'closed';
    data = { when: s.next_open_text || '' };
  } else if (!s.on_duty) {
    key = 'open_nobody';
  } else if (s.wait === 'long') {
    key = 'busy_long';
  } else if (s.wait === '15' || s.wait === '30' || s.wait === '45') {
    key = 'busy';
    data = { minutes: s.wait };
  }
  button.dataset.state = key;
  state.textContent = fill(t[key], data);
  if (s.chat && s.chat.startsWith(base + '/')) button.href = s.chat;
}

async function refresh() {
  try {
    const r = await fetch(base + '/status.json?lang=' + encodeURIComponent(lang), {
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      cache: 'no-store',
    });
    if (!r.ok) throw new Error(String(r.status));
    show(await r.json());
  } catch {
    // The link still works; it only cannot say how things stand.
    button.dataset.state = 'unknown';
    state.textContent = t.open_the_chat;
  }
}

refresh();
setInterval(() => {
  if (document.visibilityState === 'visible') refresh();
}, REFRESH_MS);
