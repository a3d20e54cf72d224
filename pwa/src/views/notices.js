// 已发通知 (/notices) and one notice's receipts (/notices/:id): the sending job's progress
// (polled while it runs), how many have read it, and who has not yet, by name.
import { get } from '../api.js';
import { h } from '../dom.js';
import { empty, loadInto } from '../grid.js';
import { formatDateTime } from '../time.js';
import { shell } from './shell.js';
import './notify.css';

const STATES = { resolving: '正在确定通知对象', sending: '正在发送', done: '已送达', failed: '发送失败' };

function progress(notice) {
  const total = notice.total ?? 0;
  const share = Math.round((notice.progress || 0) * 100);
  const fill = h('span', { class: 'bar-fill' });
  fill.style.width = `${share}%`; // through CSSOM: the policy allows no inline styles
  return h(
    'div',
    { class: 'coverage' },
    h('div', { class: 'coverage-head' }, h('span', {}, STATES[notice.state] || notice.state), h('span', { 'data-testid': 'sent' }, `${notice.done}/${total} 人`)),
    h('div', { class: 'bar', role: 'progressbar', 'aria-valuenow': String(share), 'aria-valuemin': '0', 'aria-valuemax': '100' }, fill),
    h('div', { class: 'coverage-facts' }, h('span', { 'data-testid': 'read' }, `已读 ${notice.read} 人`), h('span', {}, `未读 ${Math.max(0, notice.done - notice.read)} 人`)),
  );
}

export function noticesView({ onLogout }) {
  const box = h('div', { class: 'stack' });
  const load = loadInto(box, () => get('/api/v1/notify/announcements'), (list) => [
    h('a', { class: 'btn btn-primary btn-block', href: '/notices/new', 'data-link': true }, '发布新通知'),
    list.length
      ? h(
          'ul',
          { class: 'cards', 'aria-label': '已发通知' },
          list.map((n) =>
            h(
              'li',
              { class: 'card' },
              h('a', { class: 'card-link', href: `/notices/${n.id}`, 'data-link': true }, h('span', { class: 'card-title' }, n.title), h('span', { class: 'card-sub' }, `${n.audience_zh} · ${formatDateTime(n.created_at)}`), progress(n)),
            ),
          ),
        )
      : empty('还没有发过通知。'),
  ]);
  const framed = shell({ title: '通知公告', back: '/', content: box, onLogout });
  return { el: framed.el, dispose: () => (load.stop(), framed.dispose()) };
}

export function noticeView({ id, onLogout }) {
  const head = h('div', { class: 'stack' });
  const people = h('section', { class: 'card', 'aria-labelledby': 'unread-title' });
  let timer = null;
  let alive = true;

  async function refresh() {
    try {
      const notice = await get(`/api/v1/notify/announcements/${encodeURIComponent(id)}`);
      if (!alive) return;
      head.replaceChildren(
        h(
          'section',
          { class: 'card' },
          h('h2', {}, notice.title, notice.urgent ? h('span', { class: 'badge badge-danger' }, '紧急') : null),
          h('p', { class: 'card-sub' }, notice.audience_zh),
          h('p', { class: 'notice-body' }, notice.body),
          progress(notice),
          notice.errors?.length && notice.state !== 'done' ? h('p', { class: 'hint' }, '发送中断过，已自动从断点继续。') : null,
        ),
      );
      const unread = await get(`/api/v1/notify/announcements/${encodeURIComponent(id)}/unread?limit=100`);
      if (!alive) return;
      people.replaceChildren(
        h('h2', { id: 'unread-title' }, `尚未阅读（${unread.total} 人）`),
        unread.items.length ? h('ul', { class: 'names', 'aria-label': '尚未阅读' }, unread.items.map((p) => h('li', {}, p.name || p.user_id))) : empty(notice.state === 'done' ? '全部已读。' : '发送完成后显示。'),
        unread.total > unread.items.length ? h('p', { class: 'hint' }, `仅显示前 ${unread.items.length} 人`) : null,
      );
      if (notice.state !== 'done' && notice.state !== 'failed') timer = setTimeout(refresh, 1000);
    } catch (err) {
      if (alive) head.replaceChildren(h('p', { class: 'note note-warn' }, err.message || '加载失败'));
    }
  }

  refresh();
  const framed = shell({ title: '通知回执', back: '/notices', content: [head, people], onLogout });
  return {
    el: framed.el,
    dispose() {
      alive = false;
      clearTimeout(timer);
      framed.dispose();
    },
  };
}
