// 晒单: the public board of closed cases under a community (no login needed), anonymous as
// the server sends it — category, grid, times, on time or not, rating — with each grid's
// figures for this year.
import { get } from '../../api.js';
import { h } from '../../dom.js';
import { currentUser } from '../../session.js';
import { empty, loadInto } from '../../grid.js';
import { shell } from '../shell.js';
import { enc, when } from './common.js';

const percent = (share) => (share === null || share === undefined ? '—' : `${Math.round(share * 100)}%`);

export function boardView({ onLogout }) {
  const code = new URLSearchParams(location.search).get('grid') || currentUser()?.scopes?.[0] || '';
  const box = h('div');
  const reload = loadInto(
    box,
    () => get(`/api/v1/public/cases/board?limit=30${code ? `&grid_code=${enc(code)}` : ''}`, { auth: false }),
    (board) => [
      h(
        'section',
        { class: 'card', 'aria-label': '办结情况' },
        h('h2', {}, `${board.period.start.slice(0, 4)}年办结情况`),
        h(
          'dl',
          { class: 'case-facts' },
          h('dt', {}, '受理'),
          h('dd', {}, String(board.total.received ?? 0)),
          h('dt', {}, '办结'),
          h('dd', {}, String(board.total.closed ?? 0)),
          h('dt', {}, '按时办结率'),
          h('dd', {}, percent(board.total.on_time_rate)),
          h('dt', {}, '满意度'),
          h('dd', {}, board.total.satisfaction ? `${board.total.satisfaction} 分` : '—'),
        ),
        board.figures.length
          ? h(
              'ul',
              { class: 'rows', 'aria-label': '各网格' },
              board.figures.map((row) =>
                h('li', { class: 'row' }, h('span', { class: 'row-title' }, row.name || row.key), h('span', { class: 'row-meta' }, `办结 ${row.closed} · 按时 ${percent(row.on_time_rate)}`)),
              ),
            )
          : null,
      ),
      board.items.length
        ? h(
            'ul',
            { class: 'rows', 'aria-label': '已办结事件' },
            board.items.map((item) =>
              h(
                'li',
                { class: 'row' },
                h('span', { class: 'row-line' }, h('span', { class: 'row-title' }, `${item.category_name} · ${item.grid_name || ''}`), h('span', { class: 'chip case-state case-closed' }, item.on_time ? '按时办结' : '已办结')),
                h('span', { class: 'row-meta' }, [item.number, `办结于 ${when(item.closed_at)}`, `用时 ${item.working_hours} 工作小时`, item.rating ? `${'★'.repeat(item.rating)}` : null].filter(Boolean).join(' · ')),
              ),
            ),
          )
        : empty('暂无已办结事件'),
    ],
  );
  if (!currentUser()) {
    const el = h('div', { class: 'screen' }, h('header', { class: 'appbar' }, h('div', { class: 'appbar-row' }, h('h1', { tabindex: '-1' }, '晒单 · 办结公示'))), h('main', { class: 'content' }, box));
    return { el, dispose: () => reload.stop() };
  }
  const framed = shell({ title: '晒单 · 办结公示', back: '/', content: box, onLogout });
  const dispose = framed.dispose;
  framed.dispose = () => {
    reload.stop();
    dispose();
  };
  return framed;
}
