// 事件详情: the case, its photos and timeline, and the steps this person may take now (the
// server lists them in `actions`; no rule of the loop is written again here). Every step
// goes through the outbox with its own client id and the version seen, so it works offline;
// a step the server refuses because the case moved meanwhile (409) is shown plainly, with
// the case as it is now.
import { get } from '../../api.js';
import { h } from '../../dom.js';
import { loadInto } from '../../grid.js';
import * as outbox from '../../outbox.js';
import { toast } from '../../toast.js';
import { shell } from '../shell.js';
import { ACTIONS, LEVELS, STEPS, enc, photoPicker, photoStrip, stateChip, when } from './common.js';

// what each step asks for besides the click
const NEEDS = {
  cancel: 'reason',
  decline: 'reason',
  whistle: 'reason',
  escalate: 'reason',
  return: 'reason',
  reopen: 'reason',
  handle: 'result',
  evaluate: 'rating',
  dispatch: 'target',
  reassign: 'target',
  merge: 'case',
  link: 'case',
};
const PRIMARY = new Set(['accept', 'acknowledge', 'handle', 'close', 'register', 'dispatch', 'evaluate']);

export function caseDetailView({ id, onLogout }) {
  const box = h('div');
  const notice = h('div', { role: 'alert' });
  const framed = shell({ title: '事件详情', back: '/cases', content: [notice, box], onLogout });
  const url = `/api/v1/cases/${enc(id)}`;
  const stepsUrl = `${url}/transitions`;
  const reload = loadInto(box, () => get(url), (item) => draw(item));

  function draw(item) {
    return [
      h(
        'section',
        { class: 'card case-head' },
        h('div', { class: 'card-title-row' }, h('h2', { class: 'card-title' }, item.title), stateChip(item)),
        h('p', { class: 'row-meta' }, `${item.number} · ${item.category_name} · ${item.source_zh}`),
        h('p', {}, item.description),
        photoStrip(item.photos),
        facts(item),
      ),
      item.result?.note
        ? h('section', { class: 'card' }, h('h2', {}, '办理结果'), h('p', {}, item.result.note), photoStrip(item.result.photos || []))
        : null,
      duplicates(item),
      actionsCard(item),
      timeline(item.timeline || []),
    ];
  }

  function facts(item) {
    const rows = [
      ['网格', item.grid_name || item.grid_code],
      ['地点', item.address],
      ['层级', item.level_zh],
      ['承办', item.assignee ? item.assignee.name || (item.assignee.kind === 'unit' ? `${item.assignee.level_zh}（待报到/接单）` : item.assignee.id) : '未派遣'],
      ['当前环节', item.step ? STEPS[item.step] || item.step : null],
      ['时限', item.deadline ? when(item.deadline) : null],
      ['评价', item.rating ? `${'★'.repeat(item.rating)}${item.comment ? ` ${item.comment}` : ''}` : null],
    ].filter(([, value]) => value);
    return h('dl', { class: 'case-facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  }

  function duplicates(item) {
    if (!item.possible_duplicates?.length) return null;
    return h(
      'section',
      { class: 'card note-warn' },
      h('h2', {}, '可能重复'),
      h('p', { class: 'row-meta' }, '50 米内 72 小时内有同类事件：'),
      h('ul', { class: 'rows' }, item.possible_duplicates.map((d) => h('li', { class: 'row' }, h('a', { href: `/cases/${enc(d.id)}`, 'data-link': true }, `${d.number} ${d.title || ''}（${d.state_zh || d.state}）`)))),
    );
  }

  function actionsCard(item) {
    const offered = (item.actions || []).filter((a) => ACTIONS[a]);
    if (!offered.length) return null;
    const panel = h('div', { class: 'case-step' });
    const buttons = offered.map((action) =>
      h(
        'button',
        { type: 'button', class: `btn ${PRIMARY.has(action) ? 'btn-primary' : 'btn-secondary'}`, dataset: { action }, onclick: () => open(item, action, panel) },
        ACTIONS[action],
      ),
    );
    return h('section', { class: 'card', 'aria-label': '办理' }, h('h2', {}, '办理'), h('div', { class: 'card-actions' }, buttons), panel);
  }

  function open(item, action, panel) {
    const need = NEEDS[action];
    const fields = [];
    let photos = null;
    const text = h('textarea', { id: 'step-text', rows: 3, maxlength: 500 });
    const rating = h('select', { id: 'step-rating' }, [5, 4, 3, 2, 1].map((n) => h('option', { value: n }, `${'★'.repeat(n)} ${n} 分`)));
    const level = h('select', { id: 'step-level' }, Object.entries(LEVELS).map(([code, name]) => h('option', { value: code }, code === 'grid' ? '网格（在岗网格员）' : name)));
    const other = h('input', { id: 'step-case', maxlength: 64, placeholder: '另一事件的编号或 ID' });
    if (need === 'reason') fields.push(h('label', { for: 'step-text' }, '原因（必填）'), text);
    if (need === 'result') {
      photos = photoPicker({ label: '现场照片' });
      fields.push(h('label', { for: 'step-text' }, '办理情况'), text, photos.el);
    }
    if (need === 'rating') fields.push(h('label', { for: 'step-rating' }, '满意度'), rating, h('label', { for: 'step-text' }, '评价（选填）'), text);
    if (need === 'target') fields.push(h('label', { for: 'step-level' }, '派往'), level);
    if (need === 'case') fields.push(h('label', { for: 'step-case' }, '目标事件'), other);
    if (!need) fields.push(h('label', { for: 'step-text' }, '备注（选填）'), text);
    const go = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, `确认${ACTIONS[action]}`);
    panel.replaceChildren(
      h(
        'form',
        {
          class: 'fields',
          onsubmit: async (event) => {
            event.preventDefault();
            const body = { action, version: item.version };
            const value = text.value.trim();
            if (need === 'reason') {
              if (!value) return toast('请填写原因', { kind: 'error' });
              body.reason = value;
            } else if (value) body.note = value;
            if (need === 'rating') body.rating = Number(rating.value);
            if (need === 'target') body.to = { level: level.value };
            if (need === 'case') {
              if (!other.value.trim()) return toast('请填写目标事件', { kind: 'error' });
              body.target = other.value.trim();
            }
            go.disabled = true;
            await outbox.enqueue({
              method: 'POST',
              url: stepsUrl,
              body,
              label: `${ACTIONS[action]} · ${item.number}`,
              photos: photos ? photos.photos() : [],
            });
            panel.replaceChildren(h('p', { class: 'note note-info' }, navigator.onLine ? `“${ACTIONS[action]}”正在发送…` : `“${ACTIONS[action]}”已保存，联网后自动发送`));
          },
        },
        fields.map((f) => h('div', { class: 'field' }, f)),
        go,
      ),
    );
  }

  function timeline(entries) {
    return h(
      'section',
      { class: 'card' },
      h('h2', {}, '办理过程'),
      h(
        'ol',
        { class: 'rows case-timeline', 'aria-label': '办理过程' },
        entries.map((e) =>
          h(
            'li',
            { class: 'row' },
            h('span', { class: 'row-line' }, h('span', { class: 'row-title' }, e.action_zh || e.action), h('span', { class: 'row-meta' }, when(e.at))),
            h('span', { class: 'row-meta' }, [`→ ${e.to_state_zh}`, e.reason, e.note].filter(Boolean).join(' · ')),
            photoStrip(e.photos || []),
          ),
        ),
      ),
    );
  }

  const stop = outbox.subscribe((event) => {
    if (event.entry?.url !== stepsUrl) {
      if (event.type === 'change') return;
      return;
    }
    if (event.type === 'rejected') {
      const current = event.error?.details?.current;
      notice.replaceChildren(
        h(
          'p',
          { class: 'note note-warn' },
          `“${event.entry.label}”没有生效：${event.error.message}`,
          current ? `。事件现在是「${current.state_zh}」，请按最新情况办理。` : '',
        ),
      );
    }
    reload();
  });
  const doneWatch = outbox.subscribe(async (event) => {
    if (event.type === 'change') {
      const waiting = (await outbox.list()).some((e) => e.url === stepsUrl && e.state === 'pending');
      if (!waiting && navigator.onLine) reload();
    }
  });
  const dispose = framed.dispose;
  framed.dispose = () => {
    stop();
    doneWatch();
    reload.stop();
    dispose();
  };
  return framed;
}
