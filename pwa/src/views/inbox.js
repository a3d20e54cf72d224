// 消息中心 (/messages, /messages?kind=announcement for 社区公告): my messages, newest first,
// paged back 20 at a time; unread ones marked; opening one marks it read (which is the read
// receipt a notice's sender sees); 全部已读; new ones appear at the top as they arrive.
import { get } from '../api.js';
import { h } from '../dom.js';
import { empty, failure, loading } from '../grid.js';
import { markAllRead, markRead, onLive, unreadCount } from '../live.js';
import { formatDateTime } from '../time.js';
import { shell } from './shell.js';
import './notify.css';

export function inboxView({ onLogout }) {
  const kind = new URLSearchParams(location.search).get('kind');
  const notices = kind === 'announcement';
  const list = h('ul', { class: 'messages', 'aria-label': notices ? '公告' : '消息' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary btn-block', hidden: true }, '加载更早的消息');
  const state = h('div', {});
  const count = h('span', { class: 'inbox-count', 'data-testid': 'inbox-unread' });
  const allRead = h('button', { type: 'button', class: 'btn btn-small btn-secondary' }, '全部已读');
  let before = null;

  function showCount() {
    count.textContent = unreadCount() ? `${unreadCount()} 条未读` : '没有未读消息';
    allRead.disabled = unreadCount() === 0;
  }

  function row(message) {
    const item = h(
      'li',
      { class: `message${message.read_at ? '' : ' message-unread'}${message.critical ? ' message-critical' : ''}`, dataset: { id: message.id } },
      h(
        'button',
        { type: 'button', class: 'message-open', 'aria-expanded': 'false' },
        h('span', { class: 'message-head' }, h('span', { class: 'message-kind' }, message.kind_zh), h('time', { class: 'message-time' }, formatDateTime(message.created_at))),
        h('span', { class: 'message-title' }, message.title),
        h('span', { class: 'message-body' }, message.body),
        message.data?.households ? h('span', { class: 'message-extra' }, `请转告您负责的 ${message.data.households} 户`) : null,
        message.data?.sender ? h('span', { class: 'message-extra' }, `发布人：${message.data.sender}`) : null,
      ),
    );
    item.querySelector('button').addEventListener('click', async (event) => {
      const open = item.classList.toggle('message-expanded');
      event.currentTarget.setAttribute('aria-expanded', String(open));
      if (!message.read_at) {
        message.read_at = new Date().toISOString();
        item.classList.remove('message-unread');
        try {
          await markRead([message.id]);
        } catch {
          message.read_at = null; // offline: it stays unread, try again next time
          item.classList.add('message-unread');
        }
      }
    });
    return item;
  }

  async function load() {
    state.replaceChildren(before === null ? loading() : '');
    try {
      const params = new URLSearchParams({ limit: '20' });
      if (before) params.set('before', String(before));
      if (kind) params.set('kind', kind);
      const page = await get(`/api/v1/notify/messages?${params}`);
      state.replaceChildren();
      if (before === null && !page.items.length) {
        state.replaceChildren(empty(notices ? '还没有公告。' : '还没有消息。派单、积分和公告都会出现在这里。'));
      }
      list.append(...page.items.map(row));
      before = page.next_before;
      more.hidden = !before;
    } catch (err) {
      state.replaceChildren(failure(err, load));
    }
  }

  more.addEventListener('click', load);
  allRead.addEventListener('click', async () => {
    allRead.disabled = true;
    try {
      await markAllRead();
      for (const item of list.querySelectorAll('.message-unread')) item.classList.remove('message-unread');
    } catch {
      allRead.disabled = false;
    }
  });

  const stop = onLive((event) => {
    if (event.type === 'unread') showCount();
    if (event.type === 'message' && (!kind || event.message.kind === kind)) {
      state.replaceChildren();
      list.prepend(row(event.message));
    }
    if (event.type === 'read' && event.all) {
      for (const item of list.querySelectorAll('.message-unread')) item.classList.remove('message-unread');
    }
    if (event.type === 'resync') {
      list.replaceChildren();
      before = null;
      load();
    }
  });

  showCount();
  load();
  const content = [
    h(
      'div',
      { class: 'inbox-bar' },
      count,
      allRead,
      notices ? null : h('a', { class: 'btn btn-small btn-secondary', href: '/settings/notify', 'data-link': true }, '通知设置'),
    ),
    list,
    state,
    more,
  ];
  const framed = shell({ title: notices ? '社区公告' : '消息中心', back: '/', content, onLogout });
  return {
    el: framed.el,
    dispose() {
      stop();
      framed.dispose();
    },
  };
}
