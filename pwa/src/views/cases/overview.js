// 事件概况 (leaders and community staff): this year's figures for my area — received,
// closed, on-time rate, return rate, escalations, satisfaction — by grid, category or source,
// and the 督办 list of cases near or past their limits.
import { get } from '../../api.js';
import { h } from '../../dom.js';
import { empty, loadInto } from '../../grid.js';
import { currentUser } from '../../session.js';
import { shell } from '../shell.js';
import { caseRow, enc } from './common.js';

const BY = { grid: '按网格', category: '按类别', source: '按来源', month: '按月份' };
const percent = (share) => (share === null || share === undefined ? '—' : `${Math.round(share * 100)}%`);

export function caseOverviewView({ onLogout }) {
  const code = currentUser()?.scopes?.[0] || '';
  const figuresBox = h('div');
  const overdueBox = h('div');
  let by = 'grid';
  const select = h(
    'select',
    { id: 'figures-by', onchange: () => ((by = select.value), loadFigures()) },
    Object.entries(BY).map(([value, text]) => h('option', { value }, text)),
  );
  const content = [
    h('a', { class: 'btn btn-secondary btn-block', href: '/board', 'data-link': true }, '查看晒单（公开页）'),
    h('section', { class: 'card' }, h('div', { class: 'card-title-row' }, h('h2', {}, '今年事件数据'), h('label', { for: 'figures-by', class: 'row-meta' }, '分组'), select), figuresBox),
    h('section', { class: 'card' }, h('h2', {}, '督办与临期'), overdueBox),
  ];
  const framed = shell({ title: '事件概况', back: '/', content, onLogout });
  let figures = null;
  function loadFigures() {
    figures?.stop();
    figures = loadInto(figuresBox, () => get(`/api/v1/case-figures?grid_code=${enc(code)}&by=${by}`), (data) => table(data));
  }
  loadFigures();
  const overdue = loadInto(
    overdueBox,
    () => get('/api/v1/cases?view=overdue&limit=50'),
    (page) => (page.items.length ? h('ul', { class: 'rows', 'aria-label': '督办' }, page.items.map(caseRow)) : empty('没有临期或超时的事件')),
  );
  const dispose = framed.dispose;
  framed.dispose = () => {
    figures?.stop();
    overdue.stop();
    dispose();
  };
  return framed;
}

function table(data) {
  const head = ['', '受理', '立案', '办结', '按时率', '退回率', '升级', '满意度'];
  const line = (name, r) =>
    h('tr', {}, [name, r.received, r.registered, r.closed, percent(r.on_time_rate), percent(r.return_rate), r.escalated, r.satisfaction ?? '—'].map((v, i) => h(i ? 'td' : 'th', {}, String(v))));
  if (!data.rows.length) return empty('今年还没有事件');
  return h(
    'div',
    { class: 'case-table-wrap' },
    h(
      'table',
      { class: 'case-table' },
      h('thead', {}, h('tr', {}, head.map((t) => h('th', {}, t)))),
      h('tbody', {}, data.rows.map((r) => line(r.name || r.key, r)), line('合计', data.total)),
    ),
  );
}
