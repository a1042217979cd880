// The advisor console's questions view: the questions visitors left while
// the chat was closed or busy, counted in the queue summary and listed per
// audience and language, oldest first (replies to a thread this advisor
// answered come first); take one, answer it in a dialog, or give it back
// (docs/protocol.md, "Questions").
import { fill } from './transcript.js';
import { audienceName, languageName, runOn, t } from './labels.js';
import { socket } from './console-state.js';
import { $, announce, clearNotice, notice } from './console-page.js';

const q = {
  summary: $('questions-summary'), list: $('questions'), notice: $('questions-notice'),
  dialog: $('question-dialog'), form: $('question-form'), info: $('question-info'),
  earlierHeading: $('question-earlier-heading'), earlier: $('question-earlier'), text: $('question-text'),
  answer: $('question-answer'), error: $('question-error'), release: $('question-release'), send: $('question-send'),
};

let view = { counts: [], questions: [] };
let viewAt = Date.now();
let open = null; // the question frame shown in the dialog
let taking = null; // id of a take not answered yet

// renderQuestions shows a questions frame.
export function renderQuestions(f) {
  view = { counts: Array.isArray(f.counts) ? f.counts : [], questions: Array.isArray(f.questions) ? f.questions : [] };
  viewAt = Date.now();
  draw();
}

function draw() {
  const total = view.counts.reduce((n, c) => n + (Number(c.open) || 0), 0);
  const oldest = view.counts.reduce((m, c) => Math.max(m, Number(c.oldest) || 0), 0);
  q.summary.textContent = total === 0 ? t['advisor.questions.none']
    : fill(t['advisor.questions.summary'], { count: total, wait: runOn(oldest, viewAt) });
  const items = view.questions.filter((x) => x && typeof x.id === 'string').map(item);
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'small';
    li.textContent = t['advisor.questions.empty'];
    items.push(li);
  }
  const focused = document.activeElement?.dataset?.question;
  q.list.replaceChildren(...items);
  if (focused) q.list.querySelector(`[data-question="${CSS.escape(focused)}"]`)?.focus();
}

function item(x) {
  const li = document.createElement('li');
  li.className = 'waiting-item question-item';
  const title = document.createElement('span');
  title.className = 'waiting-title';
  title.id = `question-${x.id}`;
  title.textContent = `${audienceName(x.audience)} · ${languageName(x.lang)}`;
  const flags = [];
  for (const [on, key] of [[x.for_you, 'for_you'], [x.reply, 'reply'], [x.taken, 'taken'], [x.mine, 'mine']]) {
    if (!on) continue;
    const span = document.createElement('span');
    span.className = `question-flag ${key}`;
    span.textContent = t[`advisor.questions.${key}`];
    flags.push(' ', span);
  }
  const time = document.createElement('span');
  time.className = 'waiting-time';
  time.textContent = fill(t['advisor.questions.waited'], { wait: runOn(x.waited, viewAt) });
  const text = document.createElement('span');
  text.className = 'waiting-text';
  text.append(title, ...flags, ' ', time);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'secondary take';
  button.dataset.question = x.id;
  button.textContent = t['advisor.questions.take'];
  button.setAttribute('aria-describedby', title.id);
  button.disabled = !!x.taken || taking === x.id;
  button.addEventListener('click', () => take(x.id));
  li.append(text, button);
  return li;
}

function take(id) {
  clearNotice(q.notice);
  if (!socket.send({ type: 'question_take', question: id })) {
    notice(q.notice, t['advisor.error.offline']);
    return;
  }
  taking = id;
  draw();
}

// questionTaken opens the dialog with a question the advisor took.
export function questionTaken(f) {
  taking = null;
  open = f;
  q.info.textContent = `${audienceName(f.audience)} · ${languageName(f.lang)} · ${new Date(f.left).toLocaleString(document.documentElement.lang)}`;
  const earlier = (Array.isArray(f.earlier) ? f.earlier : []).flatMap((p) => (Array.isArray(p.entries) ? p.entries : []))
    .filter((e) => e.kind === 'message')
    .map((e) => {
      const li = document.createElement('li');
      li.className = `message from-${e.from === 'visitor' ? 'visitor' : 'advisor'}`;
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = e.from === 'visitor' ? t['advisor.questions.visitor'] : (e.name || t['advisor.questions.advisor']);
      const body = document.createElement('bdi');
      body.className = 'text';
      body.textContent = e.text;
      li.append(who, ' ', body);
      return li;
    });
  q.earlier.replaceChildren(...earlier);
  q.earlier.hidden = q.earlierHeading.hidden = earlier.length === 0;
  q.text.textContent = f.text;
  q.answer.value = '';
  q.error.hidden = true;
  q.send.disabled = false;
  if (!q.dialog.open) q.dialog.showModal();
  q.answer.focus();
  draw();
}

// questionAnswered closes the dialog: the answer is sealed.
export function questionAnswered(id) {
  if (open?.id === id) {
    open = null;
    q.dialog.close();
  }
  notice(q.notice, t['advisor.questions.answered']);
}

// questionRefused shows an error frame about a question; false if the
// frame is not about one this view asked for.
export function questionRefused(f) {
  const id = typeof f.id === 'string' ? f.id : '';
  const text = t[`advisor.questions.error.${f.code}`] ?? t['error.generic'];
  if (open && id === open.id) {
    q.error.textContent = text;
    q.error.hidden = false;
    q.send.disabled = false;
    announce(text);
    return true;
  }
  if (taking && id === taking) {
    taking = null;
    notice(q.notice, text);
    draw();
    return true;
  }
  return false;
}

q.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!open) return;
  const text = q.answer.value.trim();
  if (text === '') {
    q.error.textContent = t['advisor.questions.error.empty'];
    q.error.hidden = false;
    return;
  }
  if (!socket.send({ type: 'question_answer', question: open.id, text })) {
    q.error.textContent = t['advisor.error.offline'];
    q.error.hidden = false;
    return;
  }
  q.send.disabled = true;
});

q.release.addEventListener('click', () => {
  if (open) socket.send({ type: 'question_release', question: open.id });
  open = null;
  q.dialog.close();
});

// Escape gives the question back too: nothing is answered.
q.dialog.addEventListener('cancel', () => {
  if (open) socket.send({ type: 'question_release', question: open.id });
  open = null;
});

// tickQuestions runs the view's clocks on.
export function tickQuestions() {
  if (view.questions.length > 0 || view.counts.some((c) => c.open > 0)) draw();
}
