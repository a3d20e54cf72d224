// 走访登记: log a visit through the outbox, offline or not (grid workers and leaders; others
// are told the file is theirs to read only).
import { get } from '../api.js';
import { h } from '../dom.js';
import { FINDINGS, VISITS_URL, VISIT_KINDS, addressLabel, knownLabel, may } from '../grid.js';
import { navigate } from '../router.js';
import * as outbox from '../outbox.js';
import { toast } from '../toast.js';
import { shell } from './shell.js';

const enc = encodeURIComponent;

export function visitView({ id, onLogout }) {
  if (!may('visitors')) {
    const note = h('p', { class: 'note note-warn' }, '走访登记由网格员、网格长填写，您的账号可以查看住户档案。');
    return shell({ title: '走访登记', back: `/households/${enc(id)}`, content: note, onLogout });
  }
  const label = h('p', { class: 'household-address' }, knownLabel(id) || '住户');
  get(`/api/v1/households/${enc(id)}`).then(
    (file) => (label.textContent = addressLabel(file.address)),
    () => {},
  );
  const kinds = h(
    'fieldset',
    { class: 'segmented' },
    h('legend', {}, '走访类型'),
    Object.entries(VISIT_KINDS).map(([value, text], i) =>
      h('label', {}, h('input', { type: 'radio', name: 'kind', value, checked: i === 0 }), h('span', {}, text)),
    ),
  );
  const areas = Object.fromEntries(
    Object.keys(FINDINGS).map((key) => [key, h('textarea', { id: `finding-${key}`, rows: 2, maxlength: 500, placeholder: '没有可不填；多条请分行' })]),
  );
  const note = h('textarea', { id: 'visit-note', rows: 2, maxlength: 2000, placeholder: '其他情况（选填）' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, '保存走访记录');
  const form = h(
    'form',
    { class: 'visit-form', onsubmit: save },
    h('section', { class: 'card', 'aria-label': '住户' }, h('span', { class: 'row-meta' }, '走访住户'), label),
    h('section', { class: 'card' }, kinds),
    h(
      'section',
      { class: 'card fields' },
      h('h2', {}, '走访发现'),
      Object.entries(FINDINGS).map(([key, text]) => h('div', { class: 'field' }, h('label', { for: `finding-${key}` }, text), areas[key])),
      h('div', { class: 'field' }, h('label', { for: 'visit-note' }, '备注'), note),
    ),
    h('p', { class: 'hint-top' }, '没有网络也能保存，联网后自动发送。'),
    submit,
  );

  async function save(event) {
    event.preventDefault();
    submit.disabled = true;
    const findings = {};
    for (const [key, area] of Object.entries(areas)) {
      const lines = area.value.split('\n').map((line) => line.trim()).filter(Boolean);
      if (lines.length) findings[key] = lines;
    }
    const body = {
      household_id: id,
      kind: form.querySelector('input[name=kind]:checked')?.value || 'routine',
      occurred_at: new Date().toISOString(),
      findings,
    };
    if (note.value.trim()) body.note = note.value.trim();
    try {
      await outbox.enqueue({ method: 'POST', url: VISITS_URL, body, label: `走访记录 · ${label.textContent}` });
      toast(navigator.onLine ? '走访记录已保存，正在发送' : '走访记录已保存，联网后自动发送');
      // Back to the file we came from (it shows the visit as 待发送), not a second copy of it.
      if (history.state?.depth > 0) history.back();
      else navigate(`/households/${enc(id)}`, { replace: true });
    } catch (err) {
      submit.disabled = false;
      toast(`保存失败：${err.message}`, { kind: 'error' });
    }
  }

  const framed = shell({ title: '走访登记', back: `/households/${enc(id)}`, content: form, onLogout });
  return framed;
}
