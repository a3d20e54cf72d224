// 同步状态: what is waiting to be sent, what the server refused, what went out recently,
// and a 连接测试 that sends a harmless record through the whole outbox path.
import { h } from '../dom.js';
import { isOnline, onNetworkChange } from '../network.js';
import * as outbox from '../outbox.js';
import { formatClock, formatDateTime } from '../time.js';
import { toast } from '../toast.js';
import { shell } from './shell.js';

const OUTCOME = {
  sent: '已发送',
  conflict: '与已提交的记录冲突，未保存',
  discarded: '已删除，未发送',
};

export function syncView({ onLogout }) {
  const summary = h('p', { class: 'sync-count', id: 'sync-count' });
  const state = h('p', { class: 'sync-state' });
  const sendNow = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => outbox.replay('manual') }, '立即发送');
  const testButton = h('button', { type: 'button', class: 'btn btn-secondary', onclick: queueTest }, '连接测试');
  const pendingList = h('ol', { class: 'entries', 'aria-label': '待发送' });
  const doneList = h('ol', { class: 'entries', 'aria-label': '最近发送' });
  const pendingSection = h('section', { class: 'card' }, h('h2', {}, '待发送'), pendingList);
  const doneSection = h('section', { class: 'card' }, h('h2', {}, '最近发送'), doneList);

  const content = [
    h(
      'section',
      { class: 'card sync-summary', 'aria-labelledby': 'sync-count' },
      summary,
      state,
      h('div', { class: 'actions' }, sendNow, testButton),
      h('p', { class: 'hint' }, '“连接测试”会发送一条测试记录，用来确认本机的记录能送达服务器。'),
    ),
    pendingSection,
    doneSection,
  ];

  async function queueTest() {
    testButton.disabled = true;
    try {
      await outbox.enqueue({
        method: 'POST',
        url: '/api/v1/echo',
        body: { payload: { kind: 'connection_test', note: '连接测试' } },
        label: '连接测试',
      });
      toast(isOnline() ? '测试记录已加入发送队列' : '当前离线，测试记录将在联网后发送');
    } finally {
      testButton.disabled = false;
    }
  }

  async function render() {
    const [entries, done] = await Promise.all([outbox.list(), outbox.recent()]);
    const status = outbox.status();
    const pending = entries.filter((entry) => entry.state === 'pending');
    summary.textContent = `待发送 ${pending.length} 条`;
    state.textContent = describe(status, pending.length);
    sendNow.disabled = !isOnline() || status.running || !pending.length;

    pendingList.replaceChildren(...entries.map(entryItem));
    if (!entries.length) pendingList.append(h('li', { class: 'empty' }, '没有待发送的记录'));
    doneList.replaceChildren(...done.map(doneItem));
    if (!done.length) doneList.append(h('li', { class: 'empty' }, '还没有发送记录'));
  }

  function entryItem(entry) {
    const rejected = entry.state === 'rejected';
    return h(
      'li',
      { class: `entry ${rejected ? 'entry-failed' : ''}`, dataset: { clientId: entry.client_id } },
      h('span', { class: 'entry-title' }, entry.label || entry.url),
      h('span', { class: 'entry-meta' }, `记录于 ${formatDateTime(entry.created_at)}`),
      entry.attempts ? h('span', { class: 'entry-meta' }, `已尝试 ${entry.attempts} 次`) : null,
      entry.last_error ? h('span', { class: 'entry-error' }, entry.last_error) : null,
      rejected
        ? h(
            'span',
            { class: 'actions' },
            h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => outbox.retry(entry.seq) }, '重试'),
            h('button', { type: 'button', class: 'btn btn-danger', onclick: () => confirmDiscard(entry) }, '删除'),
          )
        : null,
    );
  }

  function doneItem(entry) {
    const label = entry.outcome === 'sent' && entry.replay ? '已发送（服务器此前已收到）' : OUTCOME[entry.outcome];
    return h(
      'li',
      { class: `entry entry-${entry.outcome}`, dataset: { clientId: entry.client_id, outcome: entry.outcome, replay: String(entry.replay) } },
      h('span', { class: 'entry-title' }, entry.label || entry.url),
      h('span', { class: 'entry-status' }, label),
      h('span', { class: 'entry-meta' }, `${formatDateTime(entry.finished_at)}`),
      entry.message ? h('span', { class: 'entry-error' }, entry.message) : null,
    );
  }

  function confirmDiscard(entry) {
    if (window.confirm(`删除“${entry.label || '这条记录'}”？删除后不会再发送。`)) outbox.discard(entry.seq);
  }

  render();
  const stopOutbox = outbox.subscribe(render);
  const stopNetwork = onNetworkChange(render);
  const framed = shell({ title: '同步状态', back: '/', content, onLogout });
  return {
    el: framed.el,
    dispose() {
      stopOutbox();
      stopNetwork();
      framed.dispose();
    },
  };
}

function describe(status, pending) {
  if (status.blocked === 'login') return '登录已过期，重新登录后继续发送';
  if (status.running) return '正在发送…';
  if (!isOnline()) return pending ? '当前离线，联网后自动发送' : '当前离线';
  if (pending && status.nextRetryAt) {
    return `发送失败：${status.lastError || '网络不稳定'}。将于 ${formatClock(status.nextRetryAt)} 自动重试`;
  }
  if (status.lastSyncAt) return `上次同步 ${formatClock(status.lastSyncAt)}`;
  return pending ? '等待发送' : '所有记录都已送达服务器';
}
