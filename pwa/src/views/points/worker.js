// 我的积分 (balance, pending, expiring, history with causes), 兑换码 (a QR code and an
// 8-digit code from the pack kept on this phone: it shows with no network) and 积分超市
// (the goods of the supermarkets serving the worker's village).
import { renderSVG } from 'uqr';
import { get, post } from '../../api.js';
import { h } from '../../dom.js';
import { empty, formatDay, loadInto } from '../../grid.js';
import { isOnline, onNetworkChange } from '../../network.js';
import { currentUser } from '../../session.js';
import { formatDateTime } from '../../time.js';
import { shell } from '../shell.js';
import { causeLabel, enc, forgetCode, savePack, storedPack } from './common.js';

export function myPointsView({ onLogout }) {
  const box = h('div', { class: 'stack' });
  const load = loadInto(box, () => get('/api/v1/points/me'), (me) => [
    h(
      'section',
      { class: 'card points-balance', 'aria-label': '积分余额' },
      h('p', { class: 'points-big' }, h('strong', { 'data-testid': 'available' }, String(me.available)), ' 分可用'),
      h('p', { class: 'row-meta' }, `待核实 ${me.pending} 分（核实后到账）`),
      h(
        'div',
        { class: 'card-actions' },
        h('a', { class: 'btn btn-primary', href: '/points/code', 'data-link': true }, '出示兑换码'),
        h('a', { class: 'btn btn-secondary', href: '/points/shops', 'data-link': true }, '积分超市'),
      ),
    ),
    me.expiring?.length
      ? h(
          'section',
          { class: 'card', 'aria-labelledby': 'expiring-title' },
          h('h2', { id: 'expiring-title' }, '即将过期'),
          h('ul', { class: 'rows' }, me.expiring.map((e) => h('li', { class: 'row' }, h('span', { class: 'row-title' }, `${e.points} 分`), h('span', { class: 'row-meta' }, `${formatDay(e.expires_at)} 过期，请及时兑换`)))),
        )
      : null,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title' }, '积分明细'),
      me.history?.length
        ? h(
            'ul',
            { class: 'rows', 'aria-label': '积分明细' },
            me.history.map((e) =>
              h(
                'li',
                { class: 'row' },
                h('span', { class: 'row-line' }, h('span', { class: 'row-title' }, causeLabel(e)), h('strong', { class: e.amount > 0 ? 'points-plus' : 'points-minus' }, `${e.amount > 0 ? '+' : ''}${e.amount}`)),
                h('span', { class: 'row-meta' }, `${formatDateTime(e.at)}${e.account === 'pending' ? ' · 待核实' : ''}`),
              ),
            ),
          )
        : empty('还没有积分记录。走访、办结事件都能获得积分。'),
    ),
  ]);
  const framed = shell({ title: '我的积分', back: '/', content: box, onLogout });
  return { el: framed.el, dispose: () => (load.stop(), framed.dispose()) };
}

export function codeView({ onLogout }) {
  const user = currentUser();
  const box = h('div', { class: 'stack', 'aria-live': 'polite' });
  const note = h('p', { class: 'hint-top' });
  let shown = 0;

  function draw() {
    const pack = storedPack(user);
    if (!pack.length) {
      box.replaceChildren(
        h('p', { class: 'note note-warn' }, isOnline() ? '正在获取兑换码…' : '本机没有可用的兑换码。请联网后打开此页，兑换码会保存在手机上，没有网络时也能出示。'),
      );
      return;
    }
    const token = pack[shown % pack.length];
    const code = `${token.code.slice(0, 4)} ${token.code.slice(4)}`;
    const qr = h('div', { class: 'points-qr', role: 'img', 'aria-label': `兑换二维码，兑换码 ${code}` });
    qr.innerHTML = renderSVG(token.token, { border: 2 }); // uqr builds the SVG markup itself
    box.replaceChildren(
      h(
        'section',
        { class: 'card points-code-card' },
        qr,
        h('p', { class: 'points-code', 'data-testid': 'short-code' }, code),
        h('p', { class: 'row-meta' }, `有效期至 ${formatDateTime(token.expires_at)} · 只能使用一次`),
        h(
          'div',
          { class: 'card-actions' },
          h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => ((shown += 1), draw()) }, '换一个'),
          h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => (forgetCode(user, token.token), draw()) }, '这个已用过'),
        ),
      ),
    );
  }

  async function refresh() {
    note.textContent = isOnline() ? '请收银员扫描二维码，或输入下方 8 位兑换码。' : '当前离线：兑换码已保存在本机，可以直接出示；收银员那边需要联网完成兑换。';
    if (!isOnline()) return draw();
    try {
      const pack = await post('/api/v1/points/me/tokens', { count: 5 });
      savePack(user, pack.tokens);
    } catch {
      // offline or refused: the codes already on this phone still work
    }
    draw();
  }

  refresh();
  const stop = onNetworkChange(refresh);
  const framed = shell({ title: '兑换码', back: '/points', content: [note, box], onLogout });
  return { el: framed.el, dispose: () => (stop(), framed.dispose()) };
}

export function shopsView({ onLogout }) {
  const box = h('div', { class: 'stack' });
  const load = loadInto(
    box,
    async () => {
      const shops = await get('/api/v1/points/shops');
      return Promise.all(shops.map(async (shop) => ({ shop, items: await get(`/api/v1/points/shops/${enc(shop.id)}/items`) })));
    },
    (found) =>
      found.length
        ? found.map(({ shop, items }) =>
            h(
              'section',
              { class: 'card', 'aria-label': shop.name },
              h('h2', {}, shop.name),
              shop.address ? h('p', { class: 'row-meta' }, shop.address) : null,
              h(
                'ul',
                { class: 'rows' },
                items.filter((i) => i.active).map((i) =>
                  h(
                    'li',
                    { class: 'row' },
                    h('span', { class: 'row-line' }, h('span', { class: 'row-title' }, i.name), h('strong', {}, `${i.price} 分`)),
                    h('span', { class: 'row-meta' }, `库存 ${i.stock}${i.unit || ''}${i.per_person_limit ? ` · 每人每月限 ${i.per_person_limit}` : ''}`),
                  ),
                ),
              ),
            ),
          )
        : empty('您所在的村社还没有合作的积分超市。'),
  );
  const framed = shell({ title: '积分超市', back: '/points', content: box, onLogout });
  return { el: framed.el, dispose: () => (load.stop(), framed.dispose()) };
}
