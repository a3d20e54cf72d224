// 通知设置 (/settings/notify): per kind, which channels tell me (应用内提醒, 手机推送, and SMS
// for the critical kinds only: the server says which are available), my quiet hours
// (免打扰; critical messages still come), and Web Push for this phone where its browser can
// (an extra: where the push service is unreachable the inbox and live messages still work).
import { ApiError, get, post, put } from '../api.js';
import { h } from '../dom.js';
import { failure, loading } from '../grid.js';
import { shell } from './shell.js';
import './notify.css';

export function notifySettingsView({ onLogout }) {
  const box = h('div', { class: 'stack' }, loading());
  const status = h('p', { class: 'form-message', role: 'status' });

  async function load() {
    box.replaceChildren(loading());
    try {
      draw(await get('/api/v1/notify/preferences'));
    } catch (err) {
      box.replaceChildren(failure(err, load));
    }
  }

  function draw(prefs) {
    const labels = prefs.channel_labels || {};
    const rows = prefs.kinds.map((kind) =>
      h(
        'fieldset',
        { class: 'pref', dataset: { kind: kind.kind } },
        h('legend', {}, kind.kind_zh, kind.critical ? h('span', { class: 'badge badge-danger' }, '紧急') : null),
        kind.available.map((channel) =>
          h(
            'label',
            { class: 'pref-channel' },
            h('input', { type: 'checkbox', name: `${kind.kind}:${channel}`, checked: kind.channels.includes(channel) }),
            labels[channel] || channel,
          ),
        ),
      ),
    );
    const quietOn = h('input', { type: 'checkbox', name: 'quiet', checked: Boolean(prefs.quiet) });
    const start = h('input', { type: 'time', name: 'quiet-start', value: prefs.quiet?.start || '22:00', 'aria-label': '免打扰开始' });
    const end = h('input', { type: 'time', name: 'quiet-end', value: prefs.quiet?.end || '07:00', 'aria-label': '免打扰结束' });
    const save = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, '保存设置');
    const form = h(
      'form',
      { class: 'stack' },
      h(
        'section',
        { class: 'card' },
        h('h2', {}, '免打扰时段'),
        h('label', { class: 'pref-channel' }, quietOn, '开启免打扰（紧急消息仍会提醒）'),
        h('div', { class: 'quiet-times' }, start, h('span', {}, '至'), end),
      ),
      h('section', { class: 'card' }, h('h2', {}, '各类消息的提醒方式'), h('p', { class: 'hint-top' }, '所有消息都会保存在消息中心。'), rows),
      save,
      status,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const kinds = {};
      for (const kind of prefs.kinds) {
        kinds[kind.kind] = kind.available.filter((c) => form.elements[`${kind.kind}:${c}`].checked);
      }
      save.disabled = true;
      status.textContent = '正在保存…';
      try {
        await put('/api/v1/notify/preferences', {
          kinds,
          quiet: quietOn.checked ? { start: start.value, end: end.value } : null,
        });
        status.textContent = '已保存';
      } catch (err) {
        status.textContent = err instanceof ApiError ? err.message : '保存失败，请联网后重试';
      } finally {
        save.disabled = false;
      }
    });
    box.replaceChildren(pushCard(), form);
  }

  load();
  const framed = shell({ title: '通知设置', back: '/messages', content: [box], onLogout });
  return framed;
}

function pushCard() {
  const note = h('p', { class: 'hint-top', role: 'status' });
  const button = h('button', { type: 'button', class: 'btn btn-secondary' }, '在本机开启手机推送');
  const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  if (!supported) {
    button.disabled = true;
    note.textContent = '此浏览器不支持推送；打开应用时仍会实时收到消息。';
  }
  button.addEventListener('click', async () => {
    button.disabled = true;
    note.textContent = '正在开启…';
    try {
      if ((await Notification.requestPermission()) !== 'granted') throw new Error('denied');
      const { public_key: key } = await get('/api/v1/notify/push/key');
      const registration = await navigator.serviceWorker.ready;
      const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      await post('/api/v1/notify/push/subscriptions', subscription.toJSON());
      note.textContent = '已开启。应用关闭时也会收到提醒。';
    } catch {
      // Chrome's push service is unreachable in mainland China: nothing depends on it.
      note.textContent = '本机无法开启推送（不影响应用内消息和短信提醒）。';
      button.disabled = false;
    }
  });
  return h('section', { class: 'card' }, h('h2', {}, '手机推送'), button, note);
}
