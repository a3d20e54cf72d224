// The cashier's till (积分兑换): scan the worker's QR code with the camera or type its 8-digit
// code, build a basket from the catalogue, confirm, and both get a receipt. Redemption needs
// the network (the ledger must see every spend at once: no double spending), so with no
// network the screen says so plainly and the buttons are off: nothing is queued, nothing is
// half-done. Also 今日兑换 with refunds.
import { get, post } from '../../api.js';
import { h } from '../../dom.js';
import { empty, failure, loadInto } from '../../grid.js';
import { isOnline, onNetworkChange } from '../../network.js';
import { formatDateTime } from '../../time.js';
import { toast } from '../../toast.js';
import { shell } from '../shell.js';
import { enc } from './common.js';

const OFFLINE_TEXT = '当前没有网络，无法兑换。兑换需要联网确认积分，请连接网络后再扫码。';

/** The cashier's supermarkets; the first one unless they chose another here. */
async function myShop() {
  const shops = await get('/api/v1/points/shops');
  const chosen = sessionStorage.getItem('lianxin-till-shop');
  return { shops, shop: shops.find((s) => s.id === chosen) || shops[0] || null };
}

export function tillView({ onLogout }) {
  const offline = h('p', { class: 'note note-warn till-offline', role: 'alert', hidden: isOnline() }, OFFLINE_TEXT);
  const box = h('div', { class: 'stack' });
  let stopScan = null;
  let state = { shops: [], shop: null };

  const code = h('input', { id: 'till-code', inputmode: 'numeric', autocomplete: 'off', maxlength: 9, placeholder: '8 位兑换码' });
  const lookupBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, '查询');
  const scanBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-block', onclick: scan }, '扫码');
  const video = h('video', { class: 'till-video', hidden: true, muted: true, 'aria-label': '摄像头画面' });
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const entry = h(
    'section',
    { class: 'card' },
    h('h2', {}, '扫描或输入兑换码'),
    scanBtn,
    video,
    h(
      'form',
      { class: 'input-with-action', onsubmit: (e) => (e.preventDefault(), lookup({ code: code.value })) },
      h('label', { for: 'till-code', class: 'sr-only' }, '兑换码'),
      code,
      lookupBtn,
    ),
    message,
  );

  function syncOnline() {
    const online = isOnline();
    offline.hidden = online;
    for (const el of [scanBtn, lookupBtn, ...box.querySelectorAll('[data-needs-network]')]) el.disabled = !online;
  }

  function say(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  async function scan() {
    if (!isOnline()) return syncOnline();
    say('');
    if (!navigator.mediaDevices?.getUserMedia) return say('此设备无法使用摄像头，请输入兑换码。');
    try {
      video.hidden = false;
      const { startScanner } = await import('./scanner.js');
      stopScan = await startScanner(video, (text) => {
        video.hidden = true;
        stopScan = null;
        lookup({ token: text });
      });
    } catch {
      video.hidden = true;
      say('无法打开摄像头，请输入兑换码。');
    }
  }

  async function lookup(presented) {
    if (!isOnline()) return syncOnline();
    say('');
    if (!state.shop) return say('您还没有绑定积分超市。');
    try {
      const found = await post('/api/v1/points/till/lookup', { shop_id: state.shop.id, ...presented });
      basket(found, presented);
    } catch (err) {
      say(err.message);
    }
  }

  /** The catalogue with +/− per item, the total against the worker's points, 确认兑换. */
  function basket(found, presented) {
    const qty = new Map();
    const total = h('strong', {}, '0');
    const confirm = h('button', { type: 'button', class: 'btn btn-primary btn-block', 'data-needs-network': true, disabled: true }, '确认兑换');
    const error = h('p', { class: 'form-message', role: 'alert', hidden: true });
    function update() {
      let sum = 0;
      for (const item of found.items) sum += (qty.get(item.id) || 0) * item.price;
      total.textContent = String(sum);
      confirm.disabled = !isOnline() || sum === 0 || sum > found.available;
      error.hidden = sum <= found.available;
      error.textContent = sum > found.available ? `积分不足：可用 ${found.available} 分` : '';
    }
    const rows = found.items.filter((i) => i.active).map((item) => {
      const count = h('span', { class: 'till-qty' }, '0');
      const limit = Math.min(item.stock, item.may_take ?? item.stock);
      const change = (d) => {
        const next = Math.max(0, Math.min(limit, (qty.get(item.id) || 0) + d));
        qty.set(item.id, next);
        count.textContent = String(next);
        update();
      };
      return h(
        'li',
        { class: 'row till-item', dataset: { item: item.name } },
        h('span', { class: 'row-line' }, h('span', { class: 'row-title' }, item.name), h('strong', {}, `${item.price} 分`)),
        h(
          'span',
          { class: 'row-line' },
          h('span', { class: 'row-meta' }, `库存 ${item.stock}${item.may_take != null ? ` · 本月还可兑 ${item.may_take}` : ''}`),
          h(
            'span',
            { class: 'till-stepper' },
            h('button', { type: 'button', class: 'btn btn-small btn-secondary', 'aria-label': `减少${item.name}`, onclick: () => change(-1) }, '−'),
            count,
            h('button', { type: 'button', class: 'btn btn-small btn-secondary', 'aria-label': `增加${item.name}`, onclick: () => change(1), disabled: limit === 0 }, '+'),
          ),
        ),
      );
    });
    confirm.onclick = async () => {
      if (!isOnline()) return syncOnline();
      confirm.disabled = true;
      confirm.textContent = '正在兑换…';
      const items = [...qty].filter(([, n]) => n > 0).map(([item_id, n]) => ({ item_id, qty: n }));
      try {
        const receipt = await post('/api/v1/points/redemptions', { shop_id: state.shop.id, ...presented, items });
        showReceipt(receipt);
      } catch (err) {
        // Nothing was redeemed unless the server said so; a lost answer is safe to send
        // again (the same code and basket answer the same receipt).
        error.textContent = err.message;
        error.hidden = false;
        confirm.textContent = '确认兑换';
        update();
      }
    };
    box.replaceChildren(
      h(
        'section',
        { class: 'card', 'aria-label': '兑换人' },
        h('p', { class: 'row-title' }, found.name || '网格员'),
        h('p', { class: 'points-big' }, h('strong', { 'data-testid': 'till-available' }, String(found.available)), ' 分可用'),
      ),
      h('section', { class: 'card' }, h('h2', {}, '选择商品'), h('ul', { class: 'rows' }, rows)),
      h('section', { class: 'card' }, h('p', { class: 'row-line' }, h('span', {}, '合计'), h('span', {}, total, ' 分')), error, confirm,
        h('button', { type: 'button', class: 'btn btn-quiet btn-block', onclick: start }, '取消')),
    );
    update();
    syncOnline();
    update();
  }

  function showReceipt(r) {
    box.replaceChildren(receiptCard(r, '兑换成功'), h('button', { type: 'button', class: 'btn btn-primary btn-block', onclick: start }, '下一位'));
    toast(`兑换成功，扣除 ${r.total} 分`);
  }

  function start() {
    stopScan?.();
    stopScan = null;
    code.value = '';
    say('');
    const picker =
      state.shops.length > 1
        ? h(
            'select',
            {
              'aria-label': '超市',
              onchange: (e) => {
                sessionStorage.setItem('lianxin-till-shop', e.target.value);
                state.shop = state.shops.find((s) => s.id === e.target.value);
              },
            },
            state.shops.map((s) => h('option', { value: s.id, selected: s.id === state.shop?.id }, s.name)),
          )
        : null;
    box.replaceChildren(
      h('p', { class: 'hint-top' }, state.shop ? `当前超市：${state.shop.name}` : '您还没有绑定积分超市，请联系村社管理员。'),
      picker,
      entry,
      h('a', { class: 'btn btn-secondary btn-block', href: '/till/today', 'data-link': true }, '今日兑换与退货'),
    );
    syncOnline();
  }

  box.replaceChildren(h('p', { class: 'state' }, '正在加载…'));
  myShop().then(
    (found) => ((state = found), start()),
    (err) => box.replaceChildren(failure(err, () => location.reload())),
  );
  const stop = onNetworkChange(syncOnline);
  const framed = shell({ title: '扫码兑换', back: '/', content: [offline, box], onLogout });
  return {
    el: framed.el,
    dispose() {
      stopScan?.();
      stop();
      framed.dispose();
    },
  };
}

export function receiptCard(r, title = '兑换凭证') {
  return h(
    'section',
    { class: 'card receipt', 'aria-label': title },
    h('h2', {}, title, r.state === 'refunded' ? h('span', { class: 'badge badge-warn' }, '已退货') : null),
    h('p', { class: 'row-meta' }, `${r.shop_name} · ${formatDateTime(r.at)} · 单号 ${r.id.slice(0, 8)}`),
    h('ul', { class: 'rows' }, r.lines.map((l) => h('li', { class: 'row row-line' }, h('span', {}, `${l.name} × ${l.qty}`), h('span', {}, `${l.points} 分`)))),
    h('p', { class: 'row-line' }, h('strong', {}, '合计'), h('strong', { 'data-testid': 'receipt-total' }, `${r.total} 分`)),
    r.balance_after != null ? h('p', { class: 'row-meta' }, `兑换后余额 ${r.balance_after} 分`) : null,
  );
}

export function tillTodayView({ onLogout }) {
  const offline = h('p', { class: 'note note-warn', role: 'alert', hidden: isOnline() }, '当前没有网络：退货需要联网。');
  const box = h('div', { class: 'stack' });
  const load = loadInto(
    box,
    async () => {
      const { shop } = await myShop();
      if (!shop) return null;
      return { shop, day: await get(`/api/v1/points/shops/${enc(shop.id)}/redemptions`) };
    },
    (found) => {
      if (!found) return empty('您还没有绑定积分超市。');
      const { day } = found;
      return [
        h('p', { class: 'hint-top' }, `${found.shop.name} · 今日 ${day.count} 笔，共 ${day.points} 分`),
        ...day.redemptions.map((r) => {
          const card = receiptCard(r);
          if (r.state === 'redeemed') {
            const button = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-needs-network': true }, '退货');
            button.onclick = async () => {
              if (!isOnline()) return;
              const reason = window.prompt('退货原因');
              if (!reason) return;
              try {
                await post(`/api/v1/points/redemptions/${enc(r.id)}/refund`, { reason });
                toast('已退货，积分已退回');
                load();
              } catch (err) {
                toast(err.message, { kind: 'error' });
              }
            };
            card.append(button);
          }
          return card;
        }),
      ];
    },
  );
  const stop = onNetworkChange((online) => (offline.hidden = online));
  const framed = shell({ title: '今日兑换', back: '/till', content: [offline, box], onLogout });
  return { el: framed.el, dispose: () => (load.stop(), stop(), framed.dispose()) };
}
