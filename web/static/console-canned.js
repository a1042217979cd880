// The advisor console's canned responses: the console frame's ready-made
// answers, which "/" at the start of the message box or after a space
// lists, filtered by what follows.
import { fill } from './transcript.js';
import { languageName, t } from './labels.js';
import { state } from './console-state.js';
import { announce, el } from './console-page.js';

// The box stays a multi-line text box (a combobox role is not allowed on
// a textarea): it says that it completes from a list (aria-autocomplete,
// aria-controls), the list is a listbox, and its active option is the
// box's aria-activedescendant; the count of matches is announced.
// At most this many answers are listed: typing narrows the list, and a
// short list needs no scrolling.
const CANNED_SHOWN = 6;

const canned = {
  open: false,
  at: -1, // where the "/" of the open list is in the box
  items: [], // answers shown, in order
  active: -1, // index in items of the active option
  dismissed: -1, // the "/" whose list Escape closed: it stays closed
  timer: 0,
  announced: '',
};

let cannedAnswers = []; // ready-made answers from the console frame
let inserted = () => {}; // what the message box does after an insertion

// onCannedInsert sets what runs after an answer went into the message box.
export function onCannedInsert(fn) {
  inserted = fn;
}

// setCanned takes the answers of a console frame.
export function setCanned(list) {
  cannedAnswers = (Array.isArray(list) ? list : [])
    .filter((a) => a && typeof a.title === 'string' && typeof a.text === 'string' && a.text !== '')
    .map((a, i) => ({
      id: `canned-${i}`,
      index: i,
      lang: typeof a.lang === 'string' ? a.lang : '',
      title: a.title,
      text: a.text,
      foldedTitle: fold(a.title),
      folded: fold(`${a.title}\n${a.text}`),
    }));
  setUpCanned();
}

// fold makes text comparable for a search: lower case, no accents.
function fold(s) {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

// setUpCanned makes the message box complete from the list when there
// are answers to search; without any, "/" is just a character.
function setUpCanned() {
  const on = cannedAnswers.length > 0;
  if (on) {
    el.text.setAttribute('aria-autocomplete', 'list');
    el.text.setAttribute('aria-controls', el.cannedList.id);
  } else {
    closeCanned();
    for (const name of ['aria-autocomplete', 'aria-controls', 'aria-activedescendant']) {
      el.text.removeAttribute(name);
    }
  }
  el.cannedHint.hidden = !on;
  // A hidden element still describes what names it: name it only when shown.
  el.text.setAttribute('aria-describedby', on ? 'composer-hint canned-hint text-remaining' : 'composer-hint text-remaining');
  updateCanned();
}

// slashQuery finds the "/query" that ends at the caret: the "/" at the
// start of the box or after white space, the query without a line break.
function slashQuery() {
  const field = el.text;
  if (field.selectionStart !== field.selectionEnd) return null;
  const before = field.value.slice(0, field.selectionEnd);
  const at = before.lastIndexOf('/');
  if (at < 0 || (at > 0 && !/\s/.test(before[at - 1]))) return null;
  const query = before.slice(at + 1);
  if (/[\r\n]/.test(query) || query.length > 60) return null;
  return { at, query };
}

// updateCanned opens, filters or closes the list after an edit or a caret
// move in the message box.
export function updateCanned() {
  const q = cannedAnswers.length > 0 && document.activeElement === el.text ? slashQuery() : null;
  if (!q) {
    canned.dismissed = -1;
    closeCanned();
    return;
  }
  if (q.at === canned.dismissed) {
    closeCanned();
    return;
  }
  const words = fold(q.query).split(/\s+/).filter(Boolean);
  const lang = state.selected?.lang;
  const items = cannedAnswers
    .filter((a) => words.every((w) => a.folded.includes(w)))
    .map((a) => ({ a, rank: [a.lang === lang ? 0 : 1, words.every((w) => a.foldedTitle.includes(w)) ? 0 : 1, a.index] }))
    .sort((x, y) => x.rank[0] - y.rank[0] || x.rank[1] - y.rank[1] || x.rank[2] - y.rank[2])
    .map(({ a }) => a);
  // "/" then words that match nothing: the advisor is writing, not searching.
  if (items.length === 0 && /\s/.test(q.query)) {
    closeCanned();
    return;
  }
  renderCanned(q.at, items);
}

// renderCanned shows the first of the answers that match (found) for the
// "/" at at.
function renderCanned(at, found) {
  const was = canned.items[canned.active];
  const items = found.slice(0, CANNED_SHOWN);
  canned.open = true;
  canned.at = at;
  canned.items = items;
  canned.active = items.length === 0 ? -1 : Math.max(0, items.indexOf(was));
  const lang = state.selected?.lang;
  el.cannedList.replaceChildren(...items.map((a) => cannedOption(a, a.lang !== lang)));
  el.cannedList.hidden = items.length === 0;
  el.cannedNone.hidden = items.length > 0;
  el.cannedMore.textContent = found.length > items.length ? fill(t['advisor.canned.more'], { count: found.length - items.length }) : '';
  el.cannedMore.hidden = found.length <= items.length;
  el.canned.hidden = false;
  markActive();
  // Say how many match once the advisor pauses, not on every key.
  clearTimeout(canned.timer);
  canned.timer = setTimeout(() => {
    const text = found.length > 0 ? fill(t['advisor.canned.count'], { count: found.length }) : t['advisor.canned.none'];
    if (text !== canned.announced) {
      canned.announced = text;
      announce(text);
    }
  }, 600);
}

// cannedOption is the list's option for answer a; one in another language
// than the conversation's says which.
function cannedOption(a, marked) {
  const li = document.createElement('li');
  li.id = a.id;
  li.className = 'canned-option';
  li.setAttribute('role', 'option');
  li.setAttribute('aria-selected', 'false');
  const title = document.createElement('span');
  title.className = 'canned-title';
  title.dir = 'auto';
  title.textContent = a.title;
  const parts = [title];
  if (marked) {
    const mark = document.createElement('span');
    mark.className = 'canned-lang';
    mark.textContent = languageName(a.lang);
    parts.push(' ', mark);
  }
  const text = document.createElement('span');
  text.className = 'canned-text';
  text.dir = 'auto';
  const chars = [...a.text.replace(/\s+/g, ' ')];
  text.textContent = chars.length > 120 ? `${chars.slice(0, 119).join('')}…` : chars.join('');
  if (a.lang) {
    title.lang = a.lang;
    text.lang = a.lang;
  }
  parts.push(' ', text);
  li.append(...parts);
  li.addEventListener('click', () => insertCanned(a));
  return li;
}

function markActive() {
  const options = el.cannedList.children;
  for (let i = 0; i < options.length; i++) options[i].setAttribute('aria-selected', String(i === canned.active));
  const li = options[canned.active];
  if (li) {
    el.text.setAttribute('aria-activedescendant', li.id);
    li.scrollIntoView({ block: 'nearest' });
  } else {
    el.text.removeAttribute('aria-activedescendant');
  }
}

export function closeCanned() {
  clearTimeout(canned.timer);
  canned.announced = '';
  if (!canned.open) return;
  canned.open = false;
  canned.items = [];
  canned.active = -1;
  el.canned.hidden = true;
  el.cannedList.replaceChildren();
  el.text.removeAttribute('aria-activedescendant');
}

// cannedKeydown moves through the open list, inserts (Enter) or closes it
// (Escape); it reports whether it used the key.
export function cannedKeydown(ev) {
  if (!canned.open || ev.isComposing || ev.altKey || ev.ctrlKey || ev.metaKey) return false;
  const n = canned.items.length;
  switch (ev.key) {
    case 'ArrowDown':
    case 'ArrowUp':
      if (n === 0) return false;
      canned.active = (canned.active + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      markActive();
      break;
    case 'Enter':
      if (ev.shiftKey) return false;
      if (n > 0) {
        insertCanned(canned.items[canned.active]);
      } else {
        // Nothing matches: close the list rather than send "/query".
        canned.dismissed = canned.at;
        closeCanned();
      }
      break;
    case 'Escape':
      canned.dismissed = canned.at;
      closeCanned();
      break;
    default:
      return false;
  }
  ev.preventDefault();
  ev.stopPropagation();
  return true;
}

// insertCanned puts answer a in place of the "/query"; the advisor can
// insertCanned puts answer a in place of the "/query"; the advisor can
// still change it before sending.
function insertCanned(a) {
  const field = el.text;
  const at = canned.at;
  closeCanned();
  if (!a || at < 0 || field.value[at] !== '/') return;
  field.focus();
  field.setRangeText(a.text, at, field.selectionEnd, 'end');
  inserted();
}

// Moving the caret into or out of a "/query" opens or closes the list.
el.text.addEventListener('click', updateCanned);
el.text.addEventListener('keyup', (ev) => {
  if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(ev.key)) updateCanned();
});
el.text.addEventListener('blur', closeCanned);
// A click in the list must not take the focus from the message box.
el.canned.addEventListener('mousedown', (ev) => ev.preventDefault());
