// The frame around every signed-in screen: who is logged in, 退出登录, the offline banner and
// how many writes are waiting to be sent.
import { h } from '../dom.js';
import { isOnline, onNetworkChange } from '../network.js';
import * as outbox from '../outbox.js';
import { roleLabel } from '../roles.js';
import { currentUser } from '../session.js';
import { onLive, unreadCount } from '../live.js';
import './notify.css';

/** title: the screen's heading; back: a path for a 返回 link; content: the screen's body. */
export function shell({ title, back = null, content, onLogout }) {
  const user = currentUser();
  const badge = h('span', { class: 'appbar-badge', 'data-testid': 'unread-badge' });
  const bell = h('a', { href: '/messages', 'data-link': true, class: 'appbar-bell' }, '消息', badge);
  const showUnread = () => {
    const n = unreadCount();
    badge.textContent = n > 99 ? '99+' : String(n);
    badge.hidden = n === 0;
    bell.setAttribute('aria-label', n ? `消息，${n} 条未读` : '消息');
  };
  const logoutButton = h('button', { type: 'button', class: 'btn btn-ghost-light', onclick: () => onLogout(logoutButton) }, '退出登录');

  const banner = h(
    'div',
    { class: 'offline-banner', role: 'status', hidden: isOnline() },
    h('strong', {}, '当前离线'),
    h('span', {}, '内容来自本机，新记录联网后自动发送'),
  );
  const pendingText = h('span', { class: 'pending-text' });
  const pendingLink = h(
    'a',
    { href: '/sync', 'data-link': true, class: 'pending-bar', 'aria-live': 'polite' },
    h('span', { class: 'pending-dot', 'aria-hidden': 'true' }),
    pendingText,
    h('span', { class: 'chevron', 'aria-hidden': 'true' }, '›'),
  );

  const el = h(
    'div',
    { class: 'screen' },
    h(
      'header',
      { class: 'appbar' },
      h(
        'div',
        { class: 'appbar-row' },
        back
          ? h('a', { href: back, 'data-link': true, 'data-back': true, class: 'back-link', 'aria-label': '返回' }, '‹')
          : h('img', { src: '/icons/icon.svg', alt: '', width: 32, height: 32, class: 'appbar-logo' }),
        h('h1', { tabindex: '-1' }, title),
        bell,
        logoutButton,
      ),
      h(
        'p',
        { class: 'whoami' },
        h('span', { class: 'whoami-name' }, user?.display_name || user?.username || ''),
        h('span', { class: 'whoami-role' }, roleLabel(user)),
      ),
    ),
    banner,
    pendingLink,
    h('main', { class: 'content' }, content),
  );

  async function updatePending() {
    const entries = await outbox.list();
    const pending = entries.filter((entry) => entry.state === 'pending').length;
    const rejected = entries.length - pending;
    const parts = [];
    if (pending) parts.push(`待发送 ${pending} 条`);
    if (rejected) parts.push(`发送失败 ${rejected} 条`);
    pendingText.textContent = parts.length ? parts.join('，') : '全部已发送';
    pendingLink.classList.toggle('has-pending', pending > 0);
    pendingLink.classList.toggle('has-failed', rejected > 0);
  }

  updatePending();
  showUnread();
  const stopLive = onLive((event) => event.type === 'unread' && showUnread());
  const stopOutbox = outbox.subscribe(updatePending);
  const stopNetwork = onNetworkChange((online) => {
    banner.hidden = online;
  });

  return {
    el,
    dispose() {
      stopLive();
      stopOutbox();
      stopNetwork();
    },
  };
}

/** A tile on a home screen: a link when the feature exists, an honest 即将上线 card when not. */
export function tile({ title, mark, hint, href = null, id = null }) {
  const body = [
    h('span', { class: 'tile-mark', 'aria-hidden': 'true' }, mark),
    h('span', { class: 'tile-title' }, title),
    h('span', { class: 'tile-hint' }, href ? hint : '即将上线'),
  ];
  if (href) return h('a', { class: 'tile', href, 'data-link': true, dataset: id ? { tile: id } : null }, body);
  return h('div', { class: 'tile tile-soon', 'aria-disabled': 'true' }, body);
}
