// 查看完整号码: a member's full ID number, on demand only, for the roles that may (the gateway
// decides; `may` only hides what it would refuse). The reason is asked first and sent with the
// request; the server audits the reveal with it. The number is shown where the mask was, never
// stored here (the answer is no-store and POST, so neither the API cache nor the outbox keeps
// it), and masked again after two minutes; leaving the screen drops it.
import { post } from '../api.js';
import { h } from '../dom.js';
import { may } from '../grid.js';

const SHOWN_MS = 120000;

/** The button (and its reason form) beside a member's masked number, or null. */
export function revealControl(householdId, member, numberEl) {
  if (!member.id_number || !may('id_revealers')) return null;
  const masked = numberEl.textContent;
  const box = h('span', { class: 'reveal' });
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const reason = h('input', {
    id: `reveal-reason-${member.id}`,
    name: 'reason',
    maxlength: 200,
    required: true,
    placeholder: '如：核对低保补贴',
    autocomplete: 'off',
  });
  let timer = null;

  const button = h('button', { type: 'button', class: 'btn btn-small btn-quiet reveal-open', onclick: openForm }, '查看完整号码');
  const form = h(
    'form',
    { class: 'reveal-form', hidden: true, onsubmit: submit },
    h('div', { class: 'field' }, h('label', { for: reason.id }, '查看原因（将记入审计）'), reason),
    error,
    h(
      'div',
      { class: 'card-actions' },
      h('button', { type: 'submit', class: 'btn btn-small btn-primary' }, '确定查看'),
      h('button', { type: 'button', class: 'btn btn-small btn-quiet', onclick: closeForm }, '取消'),
    ),
  );
  box.append(button, form);

  function openForm() {
    button.hidden = true;
    form.hidden = false;
    reason.focus();
  }

  function closeForm() {
    form.hidden = true;
    error.hidden = true;
    button.hidden = false;
  }

  async function submit(event) {
    event.preventDefault();
    const text = reason.value.trim();
    if (text.length < 2) {
      showError('请填写查看原因（至少两个字）');
      return;
    }
    const sent = form.querySelector('button[type=submit]');
    sent.disabled = true;
    try {
      const shown = await post(`/api/v1/households/${encodeURIComponent(householdId)}/members/${encodeURIComponent(member.id)}/reveal-id-number`, { reason: text });
      numberEl.textContent = shown.id_number;
      numberEl.classList.add('revealed');
      form.hidden = true;
      reason.value = '';
      clearTimeout(timer);
      timer = setTimeout(hide, SHOWN_MS);
    } catch (err) {
      showError(err.message || '查看失败，请稍后重试');
    } finally {
      sent.disabled = false;
    }
  }

  function hide() {
    numberEl.textContent = masked;
    numberEl.classList.remove('revealed');
    button.hidden = false;
  }

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
  }

  return box;
}
