// The advisor console's ending: the dialog that asks before ending a
// conversation or blocking its sender, with the outcome tags to give it.
import { t } from './labels.js';
import { conversations, socket, state } from './console-state.js';
import { el } from './console-page.js';

let outcomeTags = []; // tags an advisor may give a conversation as it ends

// setTags takes the outcome tags of a console frame.
export function setTags(list) {
  outcomeTags = (Array.isArray(list) ? list : []).filter((tag) => typeof tag === 'string' && tag !== '');
  renderTags();
}

// renderTags lists the outcome tags in the end dialog, keeping any choice
// made (the console frame comes again after a reconnect).
function renderTags() {
  const checked = new Set([...el.endTagList.querySelectorAll('input[name="tag"]:checked')].map((box) => box.value));
  el.endTagList.replaceChildren(...outcomeTags.map((tag, i) => {
    const div = document.createElement('div');
    div.className = 'tag-option';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.name = 'tag';
    box.id = `end-tag-${i}`;
    box.value = tag;
    box.checked = checked.has(tag);
    const label = document.createElement('label');
    label.htmlFor = box.id;
    // A tag configured beyond the default ones shows as written.
    label.textContent = t[`advisor.tag.${tag}`] ?? tag;
    div.append(box, label);
    return div;
  }));
  el.endTags.hidden = outcomeTags.length === 0;
}

// askEnd asks before ending the open conversation (action end) or ending
// it and blocking its sender for a day (block); either takes outcome tags.
function askEnd(action) {
  const c = state.selected;
  if (!c || c.closed) return;
  const block = action === 'block';
  if (typeof el.endDialog.showModal !== 'function') {
    if (confirm(t[block ? 'advisor.block.confirm' : 'advisor.end.confirm_heading'])) endConversation(c, action, []);
    return;
  }
  el.endDialog.dataset.conversation = c.id;
  el.endDialog.dataset.action = action;
  el.endHeading.textContent = t[block ? 'advisor.block.confirm_heading' : 'advisor.end.confirm_heading'];
  el.endText.textContent = t[block ? 'advisor.block.confirm_text' : 'advisor.end.confirm_text'];
  el.endConfirm.textContent = t[block ? 'advisor.block.button' : 'advisor.end.confirm'];
  for (const box of el.endTagList.querySelectorAll('input[name="tag"]')) box.checked = false;
  el.endDialog.showModal();
}

el.end.addEventListener('click', () => askEnd('end'));
el.block.addEventListener('click', () => askEnd('block'));

el.endDialog.addEventListener('close', () => {
  const c = conversations.get(el.endDialog.dataset.conversation);
  if (el.endDialog.returnValue === 'confirm' && c) {
    const tags = [...el.endTagList.querySelectorAll('input[name="tag"]:checked')].map((box) => box.value);
    endConversation(c, el.endDialog.dataset.action === 'block' ? 'block' : 'end', tags);
  }
  el.endDialog.returnValue = '';
});

// endConversation ends c, or blocks its sender too; the tags are counted,
// never stored with it. Offline, it goes out once c is ours again.
function endConversation(c, action, tags) {
  if (c.closed) return;
  const frame = { type: action === 'block' ? 'block' : 'end', conversation: c.id };
  if (tags.length > 0) frame.tags = tags;
  c.pendingEnd = socket.send(frame) ? null : frame;
}

// closeEnd closes the dialog if it asks about c, which just closed.
export function closeEnd(c) {
  if (el.endDialog.open && el.endDialog.dataset.conversation === c.id) el.endDialog.close('cancel');
}
