// The village operator's points screens (积分管理): the fund and its top-ups, the earning
// rules, refused awards to retry, supermarket statements (CSV/XLSX, a printable page,
// 标记已付), and rankings. Operator actions are online: they change money-like records that
// others rely on at once.
import { get, post, request } from '../../api.js';
import { h } from '../../dom.js';
import { empty, loadInto } from '../../grid.js';
import { accessToken, currentUser } from '../../session.js';
import { formatDateTime } from '../../time.js';
import { toast } from '../../toast.js';
import { shell } from '../shell.js';
import { CATEGORIES, TRIGGERS, enc, field, thisMonth, yuan } from './common.js';

/** The village the operator works on: a 12-digit scope, or the first one typed in. */
function villageOf() {
  const scopes = currentUser()?.scopes || [];
  return sessionStorage.getItem('lianxin-points-village') || scopes.find((s) => /^\d{12}$/.test(s)) || '';
}

export function pointsAdminView({ onLogout }) {
  const village = villageOf();
  const picker = h('input', { value: village, inputmode: 'numeric', maxlength: 12, placeholder: '12 位村/社区代码' });
  const box = h('div', { class: 'stack' });
  const go = (e) => {
    e?.preventDefault();
    sessionStorage.setItem('lianxin-points-village', picker.value.trim());
    draw(picker.value.trim());
  };
  const head = h('form', { class: 'card input-with-action', onsubmit: go }, h('label', { class: 'sr-only', for: 'pv' }, '村/社区'), Object.assign(picker, { id: 'pv' }), h('button', { class: 'btn btn-secondary' }, '切换'));
  const sections = { fund: fundSection, rules: rulesSection, refusals: refusalsSection, statements: statementsSection, rankings: rankingsSection };
  const tabs = h(
    'nav',
    { class: 'chip-filter', 'aria-label': '积分管理' },
    Object.entries({ fund: '资金', rules: '规则', refusals: '未发放', statements: '结算', rankings: '排名' }).map(([key, text]) =>
      h('button', { type: 'button', class: 'chip chip-toggle', dataset: { tab: key }, onclick: () => show(key) }, text),
    ),
  );
  let current = 'fund';
  let stopper = null;
  function show(key) {
    current = key;
    for (const b of tabs.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.tab === key));
    draw(picker.value.trim());
  }
  function draw(v) {
    stopper?.();
    if (!/^\d{12}$/.test(v)) return box.replaceChildren(empty('请输入 12 位村/社区代码。'));
    const section = h('div', { class: 'stack' });
    box.replaceChildren(section);
    stopper = sections[current](section, v);
  }
  show('fund');
  const framed = shell({ title: '积分管理', back: '/', content: [head, tabs, box], onLogout });
  return { el: framed.el, dispose: () => (stopper?.(), framed.dispose()) };
}

function fundSection(box, village) {
  const load = loadInto(box, () => Promise.all([get(`/api/v1/points/villages/${village}`), get(`/api/v1/points/villages/${village}/settings`)]), ([fund, settings]) => {
    const amount = h('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric', placeholder: '积分' });
    const rate = h('input', { type: 'number', min: 1, step: 1, value: settings.fen_per_point });
    const mode = h('select', {}, Object.entries({ never: '不过期', year_end: '年底清零', days: '获得后 N 天过期' }).map(([v, t]) => h('option', { value: v, selected: settings.expiry?.mode === v }, t)));
    const days = h('input', { type: 'number', min: 1, step: 1, value: settings.expiry?.days || 365 });
    return [
      h(
        'section',
        { class: 'card', 'aria-label': '村集体积分资金' },
        h('p', { class: 'points-big' }, h('strong', { 'data-testid': 'fund' }, String(fund.fund)), ' 分可发放'),
        h('p', { class: 'row-meta' }, `折合 ${yuan(fund.fund_yuan_fen)} 元 · 累计购入 ${fund.issued} 分 · 已结算 ${fund.paid} 分 · 每分 ${yuan(fund.fen_per_point)} 元`),
        h(
          'form',
          {
            class: 'input-with-action',
            onsubmit: async (e) => {
              e.preventDefault();
              const points = Number(amount.value);
              if (!Number.isInteger(points) || points <= 0) return toast('请输入正整数积分', { kind: 'error' });
              try {
                await post(`/api/v1/points/villages/${village}/topups`, { points, client_id: crypto.randomUUID() });
                toast(`已充值 ${points} 分`);
                load();
              } catch (err) {
                toast(err.message, { kind: 'error' });
              }
            },
          },
          Object.assign(amount, { 'aria-label': '充值积分' }),
          h('button', { class: 'btn btn-primary' }, '充值'),
        ),
      ),
      h('section', { class: 'card' }, h('h2', {}, '最近充值'), fund.topups.length ? h('ul', { class: 'rows' }, fund.topups.map((t) => h('li', { class: 'row row-line' }, h('span', {}, `${t.points} 分（${yuan(t.yuan_fen)} 元）`), h('span', { class: 'row-meta' }, formatDateTime(t.at))))) : empty('还没有充值记录。')),
      h(
        'form',
        {
          class: 'card fields',
          onsubmit: async (e) => {
            e.preventDefault();
            const expiry = mode.value === 'days' ? { mode: 'days', days: Number(days.value) } : { mode: mode.value };
            try {
              await request('PUT', `/api/v1/points/villages/${village}/settings`, { body: { fen_per_point: Number(rate.value), expiry } });
              toast('设置已保存');
            } catch (err) {
              toast(err.message, { kind: 'error' });
            }
          },
        },
        h('h2', {}, '兑换比例与过期'),
        field('每分折合（分钱）', rate, '例如 10 表示 1 积分 = 0.10 元'),
        field('过期方式', mode),
        field('过期天数', days),
        h('button', { class: 'btn btn-secondary' }, '保存设置'),
      ),
    ];
  });
  return load.stop;
}

function rulesSection(box, village) {
  const load = loadInto(box, () => get(`/api/v1/points/rules?code=${village}`), (found) => {
    const name = h('input', { maxlength: 60, placeholder: '规则名称' });
    const category = h('select', {}, Object.entries(found.categories).map(([v, t]) => h('option', { value: v }, t)));
    const trigger = h('select', {}, Object.entries(TRIGGERS).map(([v, t]) => h('option', { value: v }, t)));
    const pts = h('input', { type: 'number', min: 1, step: 1, value: 2 });
    const cap = h('input', { type: 'number', min: 1, step: 1, placeholder: '不限' });
    const from = h('input', { type: 'datetime-local' });
    return [
      h('ul', { class: 'cards', 'aria-label': '积分规则' }, found.rules.map((r) =>
        h('li', { class: 'card' }, h('span', { class: 'card-title-row' }, h('span', { class: 'card-title' }, `${r.name}`), h('span', { class: `badge${r.state === 'active' ? '' : ' badge-warn'}` }, { active: '生效中', scheduled: '待生效', ended: '已结束' }[r.state])),
          h('span', { class: 'card-sub' }, `${r.trigger_zh} · ${r.category_zh} · ${r.points} 分${r.daily_cap ? ` · 每日上限 ${r.daily_cap}` : ''}${r.period_cap ? ` · 每期上限 ${r.period_cap}` : ''}`),
          h('span', { class: 'row-meta' }, `${r.code.length === 9 ? '镇街规则' : '本村规则'} · 第 ${r.version} 版 · 自 ${formatDateTime(r.valid_from)}${r.valid_until ? ` 至 ${formatDateTime(r.valid_until)}` : ''}`))),
      ),
      h(
        'form',
        {
          class: 'card fields',
          onsubmit: async (e) => {
            e.preventDefault();
            const body = { code: village, name: name.value.trim(), category: category.value, trigger: trigger.value, points: Number(pts.value) };
            if (cap.value) body.daily_cap = Number(cap.value);
            if (from.value) body.valid_from = new Date(from.value).toISOString();
            try {
              await post('/api/v1/points/rules', body);
              toast('规则已保存（不追溯以往工作）');
              load();
            } catch (err) {
              toast(err.message, { kind: 'error' });
            }
          },
        },
        h('h2', {}, '新增规则'),
        field('名称', name),
        field('服务类别', category),
        field('计分事项', trigger),
        field('积分', pts),
        field('每日上限', cap),
        field('生效时间', from, '留空为立即生效；不能早于现在'),
        h('button', { class: 'btn btn-primary' }, '保存规则'),
      ),
    ];
  });
  return load.stop;
}

function refusalsSection(box, village) {
  const load = loadInto(box, () => get(`/api/v1/points/villages/${village}/refusals`), (found) =>
    found.length
      ? h('ul', { class: 'cards', 'aria-label': '未发放的积分' }, found.map((r) =>
          h('li', { class: 'card' }, h('span', { class: 'card-title' }, `${r.trigger_zh} · ${r.reason_zh}`), h('span', { class: 'row-meta' }, `${formatDateTime(r.work_at)} · 人员 ${r.user_id || '—'}`),
            r.retryable ? h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: async () => {
              try {
                await post(`/api/v1/points/refusals/${enc(r.id)}/retry`, {});
                toast('已补发');
                load();
              } catch (err) {
                toast(err.message, { kind: 'error' });
              }
            } }, '充值后重试') : null)))
      : empty('没有未发放的积分。'),
  );
  return load.stop;
}

function statementsSection(box, village) {
  const period = h('input', { type: 'month', value: thisMonth(-1), 'aria-label': '结算月份' });
  const list = h('div', { class: 'stack' });
  let stop = null;
  const draw = () => {
    stop?.();
    stop = loadInto(list, async () => {
      const shops = await get(`/api/v1/points/shops?code=${village}`);
      return Promise.all(shops.map((s) => get(`/api/v1/points/shops/${enc(s.id)}/statements/${period.value}`)));
    }, (found) => (found.length ? found.map((st) => statementCard(st, draw)) : empty('本村社还没有合作超市。'))).stop;
  };
  period.onchange = draw;
  box.replaceChildren(h('div', { class: 'card' }, field('结算月份', period)), list);
  draw();
  return () => stop?.();
}

async function download(st, format) {
  // The file comes with the bearer token, so it is fetched here and handed over as a blob.
  const res = await fetch(`/api/v1/points/shops/${enc(st.shop_id)}/statements/${st.period}/export?format=${format}`, { headers: { Authorization: `Bearer ${accessToken()}` } });
  if (!res.ok) return toast('下载失败，请稍后重试', { kind: 'error' });
  const link = h('a', { href: URL.createObjectURL(await res.blob()), download: `${st.shop_name}-${st.period}.${format}` });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

function statementCard(st, redraw) {
  return h(
    'section',
    { class: 'card', 'aria-label': st.shop_name },
    h('span', { class: 'card-title-row' }, h('span', { class: 'card-title' }, st.shop_name), h('span', { class: `badge${st.paid_at ? '' : ' badge-warn'}` }, st.paid_at ? '已结清' : '未结清')),
    h('p', {}, `${st.period}：${st.totals.redemptions} 笔 · ${st.totals.points} 分 · ${yuan(st.totals.yuan_fen)} 元`),
    h(
      'div',
      { class: 'card-actions' },
      h('button', { type: 'button', class: 'btn btn-small btn-secondary', onclick: () => download(st, 'csv') }, 'CSV'),
      h('button', { type: 'button', class: 'btn btn-small btn-secondary', onclick: () => download(st, 'xlsx') }, 'Excel'),
      h('a', { class: 'btn btn-small btn-secondary', href: `/points/statements/${enc(st.shop_id)}/${st.period}`, 'data-link': true }, '打印'),
      st.payable && !st.paid_at
        ? h('button', { type: 'button', class: 'btn btn-small btn-primary', onclick: async () => {
            if (!window.confirm(`确认 ${st.shop_name} ${st.period} 的 ${yuan(st.totals.yuan_fen)} 元已付清？标记后该月关闭。`)) return;
            try {
              await post(`/api/v1/points/shops/${enc(st.shop_id)}/statements/${st.period}/paid`, {});
              toast('已标记付清');
              redraw();
            } catch (err) {
              toast(err.message, { kind: 'error' });
            }
          } }, '标记已付')
        : null,
    ),
  );
}

/** The printable statement: plain, one page, the browser's print dialog. */
export function statementPrintView({ shop, period, onLogout }) {
  const box = h('div', { class: 'stack statement-print' });
  const load = loadInto(box, () => get(`/api/v1/points/shops/${enc(shop)}/statements/${enc(period)}`), (st) => [
    h('h2', {}, `${st.shop_name} 积分超市月结单`),
    h('p', {}, `结算月份 ${st.period} · ${st.paid_at ? `已于 ${formatDateTime(st.paid_at)} 结清` : '未结清'}`),
    h('table', { class: 'statement-table' },
      h('thead', {}, h('tr', {}, ['村/社区代码', '兑换笔数', '积分', '金额（元）'].map((t) => h('th', {}, t)))),
      h('tbody', {}, st.rows.map((r) => h('tr', {}, h('td', {}, r.village), h('td', {}, String(r.redemptions)), h('td', {}, String(r.points)), h('td', {}, yuan(r.yuan_fen))))),
      h('tfoot', {}, h('tr', {}, h('th', {}, '合计'), h('th', {}, String(st.totals.redemptions)), h('th', {}, String(st.totals.points)), h('th', {}, yuan(st.totals.yuan_fen))))),
    h('p', { class: 'row-meta' }, '村集体（盖章）：________　　超市（签字）：________'),
    h('button', { type: 'button', class: 'btn btn-primary no-print', onclick: () => window.print() }, '打印'),
  ]);
  const framed = shell({ title: '月结单', back: '/points/admin', content: box, onLogout });
  return { el: framed.el, dispose: () => (load.stop(), framed.dispose()) };
}

function rankingsSection(box, village) {
  const period = h('input', { value: thisMonth().slice(0, 4), 'aria-label': '期间', placeholder: '2026、2026Q4 或 2026-11' });
  const by = h('select', { 'aria-label': '排名对象' }, h('option', { value: 'worker' }, '按人员'), h('option', { value: 'grid' }, '按网格'));
  const list = h('div', { class: 'stack' });
  let stop = null;
  const draw = () => {
    stop?.();
    stop = loadInto(list, () => get(`/api/v1/points/rankings?code=${village}&period=${enc(period.value.trim())}&by=${by.value}`), (r) =>
      r.rows.length
        ? h('ol', { class: 'rows card', 'aria-label': '积分排名' }, r.rows.map((row) => h('li', { class: 'row row-line' }, h('span', {}, `${row.rank}. ${row.name || row.id}`), h('strong', {}, `${row.points} 分`))))
        : empty('该期间还没有积分。'),
    ).stop;
  };
  period.onchange = draw;
  by.onchange = draw;
  box.replaceChildren(h('div', { class: 'card row-line' }, period, by), list);
  draw();
  return () => stop?.();
}
