// 事件: the cases a person has to do with, in tabs by what they do — 待我处理 (assigned to me or
// my unit), 我报的 (reported or followed), 待核查 (handled, to verify), 督办 (near or past a
// limit), 辖区 (every case in my grids) — and the reports still waiting in the outbox.
import { get } from '../../api.js';
import { h } from '../../dom.js';
import { empty, loadInto, may } from '../../grid.js';
import * as outbox from '../../outbox.js';
import { shell } from '../shell.js';
import { caseRow, enc } from './common.js';

const TABS = [
  { view: 'assigned', title: '待我处理', group: 'case_handlers' },
  { view: 'reported', title: '我报的' },
  { view: 'verify', title: '待核查', group: 'case_verifiers' },
  { view: 'overdue', title: '督办', group: 'case_dispatchers' },
  { view: 'scope', title: '辖区', group: 'case_staff' },
];

export function caseListView({ onLogout }) {
  const tabs = TABS.filter((t) => !t.group || may(t.group));
  const asked = new URLSearchParams(location.search).get('view');
  let current = tabs.find((t) => t.view === asked) || tabs[0];
  const listBox = h('div');
  const pendingBox = h('ul', { class: 'rows', 'aria-label': '待发送的上报' });
  const bar = h(
    'nav',
    { class: 'segmented case-tabs', 'aria-label': '事件分类' },
    tabs.map((t) =>
      h('button', { type: 'button', class: 'btn btn-small', dataset: { view: t.view }, 'aria-pressed': String(t === current), onclick: () => show(t) }, t.title),
    ),
  );
  const content = [
    h('a', { class: 'btn btn-primary btn-block', href: '/cases/new', 'data-link': true }, '我要报事'),
    bar,
    pendingBox,
    listBox,
  ];
  const framed = shell({ title: '事件', back: '/', content, onLogout });
  let reload = null;

  function show(tab) {
    current = tab;
    for (const button of bar.querySelectorAll('button')) button.setAttribute('aria-pressed', String(button.dataset.view === tab.view));
    history.replaceState(history.state, '', `/cases?view=${enc(tab.view)}`);
    reload?.stop();
    reload = loadInto(
      listBox,
      () => get(`/api/v1/cases?view=${enc(tab.view)}&limit=50`),
      (page) =>
        page.items.length
          ? h('ul', { class: 'rows', 'aria-label': tab.title }, page.items.map(caseRow))
          : empty(tab.view === 'assigned' ? '暂时没有派给您的事件' : '暂无事件'),
    );
  }

  async function pending() {
    const entries = (await outbox.list()).filter((e) => e.url === '/api/v1/cases');
    pendingBox.replaceChildren(
      ...entries.map((e) =>
        h(
          'li',
          { class: 'row visit-pending', dataset: { clientId: e.client_id } },
          h('span', { class: 'row-title' }, e.label),
          h('span', { class: 'row-meta' }, e.state === 'rejected' ? `发送失败：${e.last_error}` : `待发送${e.photos?.length ? `（含 ${e.photos.length} 张照片）` : ''}`),
        ),
      ),
    );
  }
  const stop = outbox.subscribe((event) => {
    if (event.type !== 'change') return;
    pending();
    reload?.();
  });
  pending();
  show(current);
  const dispose = framed.dispose;
  framed.dispose = () => {
    stop();
    reload?.stop();
    dispose();
  };
  return framed;
}
