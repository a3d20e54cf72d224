// 我的网格: the grids the worker holds posts on, with this period's visit coverage of each.
import { get } from '../api.js';
import { h } from '../dom.js';
import { GRID_LEVELS, coverageBlock, empty, loadInto } from '../grid.js';
import { shell } from './shell.js';

export function myGridsView({ onLogout }) {
  const box = h('div', { class: 'stack' });
  const load = loadInto(box, () => get('/api/v1/me/grids'), (grids) => {
    if (!grids?.length) return empty('您还没有分配网格岗位，请联系社区管理员。');
    return h('ul', { class: 'cards', 'aria-label': '我的网格' }, grids.map(gridCard));
  });
  const framed = shell({ title: '我的网格', back: '/', content: box, onLogout });
  return { el: framed.el, dispose: () => (load.stop(), framed.dispose()) };
}

function gridCard(grid) {
  const post = `${grid.post_zh || ''}${grid.ab ? ` · ${grid.ab}岗` : ''}`;
  return h(
    'li',
    { class: 'card grid-card', dataset: { code: grid.code } },
    h(
      'a',
      { class: 'card-link', href: `/grids/${encodeURIComponent(grid.code)}`, 'data-link': true },
      h(
        'span',
        { class: 'card-title-row' },
        h('span', { class: 'card-title' }, grid.name),
        h('span', { class: 'badge' }, GRID_LEVELS[grid.level] || ''),
      ),
      h('span', { class: 'card-sub' }, post, grid.absent ? h('span', { class: 'badge badge-warn' }, '请假中') : null),
      coverageBlock(grid.coverage),
    ),
    h(
      'span',
      { class: 'card-actions' },
      h('a', { class: 'btn btn-secondary btn-small', href: `/grids/${encodeURIComponent(grid.code)}`, 'data-link': true }, '住户'),
      h('a', { class: 'btn btn-secondary btn-small', href: `/grids/${encodeURIComponent(grid.code)}/map`, 'data-link': true }, '地图'),
    ),
  );
}
