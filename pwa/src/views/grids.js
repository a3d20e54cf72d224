// 我的网格 (the worker's grids with this period's visit coverage) and 网格长视图 (the leader's
// duty board: who is on duty per grid, absences, coverage, overdue households).
import { get } from '../api.js';
import { h } from '../dom.js';
import { addressLabel, coverageBlock, empty, formatDay, loadInto, rememberLabel } from '../grid.js';
import { shell } from './shell.js';

const LEVELS = { 1: '一级网格', 2: '二级网格', 3: '三级网格' };

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
        h('span', { class: 'badge' }, LEVELS[grid.level] || ''),
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

export function dutyBoardView({ onLogout }) {
  const box = h('div', { class: 'stack' });
  const load = loadInto(box, boardOfMyGrid, (board) => {
    const grids = board?.grids || [];
    if (!grids.length) return empty('没有可查看的网格。');
    const [top, ...rest] = grids;
    const overdue = h('section', { class: 'card', 'aria-labelledby': 'overdue-title' });
    loadOverdue(overdue, board.code);
    return [
      dutyCard(top, true),
      overdue,
      rest.length ? h('h2', { class: 'section-title' }, `下级网格（${rest.length}）`) : null,
      ...rest.map((g) => dutyCard(g, false)),
    ];
  });
  const framed = shell({ title: '网格长视图', back: '/', content: box, onLogout });
  return { el: framed.el, dispose: () => (load.stop(), framed.dispose()) };
}

/** The board of the grid I lead (an instructor's scope is a whole village, not one grid). */
async function boardOfMyGrid() {
  const mine = await get('/api/v1/me/grids');
  const led = mine.find((g) => g.post === 'grid_leader' || g.post === 'instructor') || mine[0];
  return get(`/api/v1/duty-board${led ? `?code=${encodeURIComponent(led.code)}` : ''}`);
}

function onDutyLine(grid) {
  const duty = grid.on_duty;
  if (!duty) return h('p', { class: 'duty-now duty-none' }, '当前无人在岗，请安排人员');
  const elsewhere = duty.handled_at && duty.handled_at !== grid.code;
  return h(
    'p',
    { class: 'duty-now' },
    h('span', { class: 'duty-label' }, '当前处理'),
    h('strong', {}, duty.display_name || duty.username || '—'),
    h('span', { class: 'duty-post' }, `${duty.post_zh || ''}${duty.ab ? ` ${duty.ab}岗` : ''}${elsewhere ? '（上级网格代管）' : ''}`),
  );
}

function dutyCard(grid, open) {
  const absent = grid.posts.filter((p) => p.absent).length;
  const summary = h(
    'summary',
    { class: 'duty-summary' },
    h(
      'span',
      { class: 'card-title-row' },
      h('span', { class: 'card-title' }, grid.name),
      absent ? h('span', { class: 'badge badge-warn' }, `缺岗 ${absent}`) : null,
      grid.coverage?.overdue ? h('span', { class: 'badge badge-danger' }, `逾期 ${grid.coverage.overdue}`) : null,
    ),
    onDutyLine(grid),
    coverageBlock(grid.coverage, { compact: true }),
  );
  const posts = grid.posts.length
    ? h(
        'ul',
        { class: 'posts', 'aria-label': `${grid.name}岗位` },
        [...grid.posts]
          .sort((a, b) => rank(a) - rank(b))
          .map((p) =>
            h(
              'li',
              { class: `post${p.absent ? ' post-absent' : ''}` },
              p.ab ? h('span', { class: `ab ab-${p.ab}` }, `${p.ab}岗`) : null,
              h('span', { class: 'post-name' }, p.display_name || p.username || '—'),
              h('span', { class: 'post-kind' }, p.post_zh),
              p.absent ? h('span', { class: 'badge badge-warn' }, '缺岗') : null,
            ),
          ),
      )
    : empty('本网格没有设岗位');
  return h(
    'details',
    { class: 'card duty-card', open, dataset: { code: grid.code } },
    summary,
    posts,
    h(
      'p',
      { class: 'card-actions' },
      h('a', { class: 'btn btn-secondary btn-small', href: `/grids/${encodeURIComponent(grid.code)}`, 'data-link': true }, '住户'),
      h('a', { class: 'btn btn-secondary btn-small', href: `/grids/${encodeURIComponent(grid.code)}/map`, 'data-link': true }, '地图'),
    ),
  );
}

const POST_ORDER = ['grid_leader', 'micro_grid_leader', 'full_time_worker', 'part_time_worker', 'hotline_worker', 'instructor'];
const rank = (p) => (p.ab === 'B' ? 20 : p.ab === 'A' ? 10 : 0) + POST_ORDER.indexOf(p.post);

const OVERDUE_SHOWN = 20;

function loadOverdue(section, code) {
  const body = h('div');
  section.append(h('h2', { id: 'overdue-title' }, '逾期未走访'), body);
  loadInto(body, () => get(`/api/v1/grids/${encodeURIComponent(code)}/visit-coverage`), (cov) => {
    const list = cov.overdue_households || [];
    if (!list.length) return empty('没有逾期未走访的住户。');
    const ul = h('ul', { class: 'rows', 'aria-label': '逾期未走访' });
    let shown = 0;
    const more = h('button', { type: 'button', class: 'btn btn-secondary btn-block', onclick: showMore }, '显示更多');
    function showMore() {
      for (const item of list.slice(shown, shown + OVERDUE_SHOWN)) {
        rememberLabel(item.id, item.label);
        ul.append(
          h(
            'li',
            {},
            h(
              'a',
              { class: 'row', href: `/households/${encodeURIComponent(item.id)}`, 'data-link': true },
              h('span', { class: 'row-title' }, item.label || addressLabel()),
              h('span', { class: 'row-meta' }, item.last_visit_at ? `上次走访 ${formatDay(item.last_visit_at)}` : '从未走访'),
            ),
          ),
        );
      }
      shown += OVERDUE_SHOWN;
      more.hidden = shown >= list.length;
    }
    showMore();
    return [h('p', { class: 'hint-top' }, `共 ${cov.overdue} 户，上一周期起未走访`), ul, more];
  });
}
