// The grid leader's points screens: 人工奖扣 (award or deduct points for a worker of one's
// grids, with a reason, through the outbox like every field write), 积分审批 (manual requests
// above the village's threshold, approved or rejected by a second person, online only) and
// 年度考核 (points by duty category per worker for a year). The server decides who may do
// what and when a request needs approval; these screens only show its answers.
import { ApiError, get, post } from '../../api.js';
import { h, replaceChildren } from '../../dom.js';
import { empty, loadInto } from '../../grid.js';
import { isOnline, onNetworkChange } from '../../network.js';
import * as outbox from '../../outbox.js';
import { currentUser } from '../../session.js';
import { formatDateTime } from '../../time.js';
import { toast } from '../../toast.js';
import { shell } from '../shell.js';
import { CATEGORIES, enc, field } from './common.js';

export const MANUAL_URL = '/api/v1/points/manual';
const VILLAGE_KEY = 'lianxin-points-village';
const STATES = { awaiting_approval: '待审批', approved: '处理中', applied: '已生效', rejected: '已驳回' };

/** The codes a user works on: their grid or village scopes (12 digits and more); a town or
 * county admin types a village instead (kept for the session, shared with 积分管理). */
function myCodes(user) {
  const codes = (user?.scopes || []).filter((s) => /^\d{12}/.test(s));
  if (codes.length) return codes;
  const typed = sessionStorage.getItem(VILLAGE_KEY) || '';
  return /^\d{12}$/.test(typed) ? [typed] : [];
}

const villagesOf = (codes) => [...new Set(codes.map((c) => c.slice(0, 12)))];

/** For users without a village or grid scope: a field to name the village, else null. */
function villagePicker(user, onPick) {
  if ((user?.scopes || []).some((s) => /^\d{12}/.test(s))) return null;
  const input = h('input', { id: 'pv', value: sessionStorage.getItem(VILLAGE_KEY) || '', inputmode: 'numeric', maxlength: 12, placeholder: '12 位村/社区代码' });
  return h(
    'form',
    {
      class: 'card input-with-action',
      onsubmit: (e) => {
        e.preventDefault();
        const v = input.value.trim();
        if (!/^\d{12}$/.test(v)) return toast('请输入 12 位村/社区代码', { kind: 'error' });
        sessionStorage.setItem(VILLAGE_KEY, v);
        onPick();
      },
    },
    h('label', { class: 'sr-only', for: 'pv' }, '村/社区'),
    input,
    h('button', { class: 'btn btn-secondary' }, '切换'),
  );
}

/** Grid codes for scope codes: a grid stays itself, a village becomes its level-1 grids. */
async function gridsOf(codes) {
  const found = await Promise.all(codes.map(async (c) => (c.includes('-') ? [c] : (await get(`/api/v1/grids?prefix=${enc(c)}&level=1`)).map((g) => g.code))));
  return [...new Set(found.flat())];
}

/** Staff posted on the given grids (or villages) and everything under them, one entry per
 * person: [{user_id, name, grid_code, post_zh}]. */
async function staffOf(codes) {
  const grids = await gridsOf(codes);
  const lists = await Promise.all(grids.map((c) => get(`/api/v1/grids/${enc(c)}/posts?subtree=true`)));
  const people = new Map();
  for (const p of lists.flat()) {
    if (!p.user_id || people.has(p.user_id)) continue;
    people.set(p.user_id, { user_id: p.user_id, name: p.display_name || p.username || p.user_id, grid_code: p.grid_code, post_zh: p.post_zh || '' });
  }
  return [...people.values()].sort((a, b) => a.name.localeCompare(b.name, 'zh-CN'));
}

/** Names of people by id, from the staff roll (an empty map when it cannot be read). */
async function namesOf(codes) {
  try {
    return new Map((await staffOf(codes)).map((p) => [p.user_id, p.name]));
  } catch {
    return new Map();
  }
}

const signed = (r) => `${r.direction === 'deduct' ? '-' : '+'}${r.points} 分`;

function stateBadge(state) {
  const warn = state === 'awaiting_approval' ? ' badge-warn' : state === 'rejected' ? ' badge-danger' : '';
  return h('span', { class: `badge${warn}`, 'data-testid': 'manual-state' }, STATES[state] || state);
}

// --- 人工奖扣 -------------------------------------------------------------------------------
export function manualView({ onLogout }) {
  const user = currentUser();
  const content = h('div', { class: 'stack' });
  const mine = h('section', { class: 'card', 'aria-labelledby': 'mine-title' });
  let load = null;
  let again = null;

  function draw() {
    load?.stop();
    const codes = myCodes(user);
    if (!codes.length) return content.replaceChildren(empty('请先输入 12 位村/社区代码。'));
    const formBox = h('div', { class: 'stack' });
    content.replaceChildren(formBox, mine);
    load = loadInto(formBox, () => staffOf(codes), (staff) => form(staff.filter((p) => p.user_id !== user.id)));
    showMine(codes);
  }

  function form(staff) {
    if (!staff.length) return empty('您的网格下还没有可以奖扣积分的人员。');
    const who = h('select', { id: 'manual-worker', required: true }, h('option', { value: '' }, '请选择人员'), staff.map((p, i) => h('option', { value: String(i) }, `${p.name}${p.post_zh ? ` · ${p.post_zh}` : ''}`)));
    const direction = h(
      'fieldset',
      { class: 'segmented segmented-two' },
      h('legend', {}, '奖励还是扣减'),
      [
        ['award', '加分（奖励）'],
        ['deduct', '扣分（扣减）'],
      ].map(([value, text], i) => h('label', {}, h('input', { type: 'radio', name: 'direction', value, checked: i === 0 }), h('span', {}, text))),
    );
    const points = h('input', { id: 'manual-points', type: 'number', min: 1, max: 10000, step: 1, inputmode: 'numeric', required: true, placeholder: '整数，1–10000' });
    const category = h('select', { id: 'manual-category' }, h('option', { value: '' }, '不计入类别'), Object.entries(CATEGORIES).filter(([k]) => k !== 'manual').map(([k, t]) => h('option', { value: k }, t)));
    const reason = h('textarea', { id: 'manual-reason', rows: 3, maxlength: 200, required: true, placeholder: '例如：防汛值守两晚' });
    const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, '提交');

    async function save(e) {
      e.preventDefault();
      const fail = (text) => {
        message.textContent = text;
        message.hidden = false;
      };
      const person = staff[Number(who.value)];
      const n = Number(points.value);
      if (!who.value || !person) return fail('请选择人员');
      if (!Number.isInteger(n) || n < 1 || n > 10000) return fail('积分请填 1 到 10000 之间的整数');
      if (!reason.value.trim()) return fail('请写明奖扣理由');
      message.hidden = true;
      const dir = direction.querySelector('input:checked')?.value || 'award';
      const body = { user_id: person.user_id, grid_code: person.grid_code, points: n, direction: dir, reason: reason.value.trim() };
      if (category.value) body.category = category.value;
      submit.disabled = true;
      try {
        await outbox.enqueue({ method: 'POST', url: MANUAL_URL, body, label: `人工${dir === 'deduct' ? '扣减' : '奖励'} · ${person.name} ${dir === 'deduct' ? '-' : '+'}${n} 分` });
        toast(isOnline() ? '已提交，正在发送；超过本村审批额度的需另一人审批后生效' : '已保存，联网后自动发送');
        points.value = '';
        reason.value = '';
        who.value = '';
      } catch (err) {
        fail(`保存失败：${err.message}`);
      } finally {
        submit.disabled = false;
      }
    }

    return h(
      'form',
      { class: 'card fields', onsubmit: save, novalidate: true, 'aria-label': '人工奖扣' },
      field('人员', who),
      direction,
      field('积分', points),
      field('服务类别', category, '计入年度考核的类别，可不选'),
      field('理由', reason),
      h('p', { class: 'hint-top' }, '超过本村审批额度的奖扣，需另一位网格长或社区管理员审批后生效。没有网络也能提交，联网后自动发送。'),
      message,
      submit,
    );
  }

  /** What this user asked for lately (from the server) and what still waits on this phone. */
  async function showMine(codes) {
    const waiting = (await outbox.list()).filter((e) => e.url === MANUAL_URL);
    let sent = [];
    let problem = null;
    try {
      const lists = await Promise.all(villagesOf(codes).map((v) => get(`/api/v1/points/villages/${v}/manual?limit=100`)));
      sent = lists.flat().filter((r) => r.requested_by === user.id).sort((a, b) => String(b.at).localeCompare(String(a.at))).slice(0, 20);
    } catch (err) {
      problem = err.message;
    }
    const names = sent.length ? await namesOf(codes) : new Map();
    replaceChildren(
      mine,
      h('h2', { id: 'mine-title' }, '我提交的奖扣'),
      waiting.map((e) => h('p', { class: 'row row-line' }, h('span', {}, e.label), h('span', { class: `badge${e.state === 'rejected' ? ' badge-danger' : ' badge-warn'}` }, e.state === 'rejected' ? '未被接受' : '待发送'))),
      problem ? h('p', { class: 'row-meta' }, problem) : null,
      sent.length
        ? h(
            'ul',
            { class: 'rows', 'aria-label': '我提交的奖扣' },
            sent.map((r) =>
              h(
                'li',
                { class: 'row' },
                h('span', { class: 'row-line' }, h('span', { class: 'row-title' }, `${names.get(r.user_id) || r.user_id} ${signed(r)}`), stateBadge(r.state)),
                h('span', { class: 'row-meta' }, `${r.reason} · ${formatDateTime(r.at)}${r.state === 'awaiting_approval' ? ` · 超过 ${r.threshold} 分，等待他人审批` : ''}${r.note ? ` · 审批意见：${r.note}` : ''}`),
              ),
            ),
          )
        : !waiting.length && !problem
          ? empty('还没有提交过奖扣。')
          : null,
    );
  }

  const stop = outbox.subscribe((event) => {
    if (event.type === 'rejected' && event.entry?.url === MANUAL_URL) toast(`“${event.entry.label}”未被接受：${event.error?.message || ''}`, { kind: 'error', ms: 10000 });
    if (event.type !== 'change' || !mine.isConnected) return;
    clearTimeout(again); // a send emits several changes: read the list once they settle
    again = setTimeout(() => showMine(myCodes(user)), 400);
  });
  const picker = villagePicker(user, draw);
  draw();
  const framed = shell({ title: '人工奖扣', back: '/', content: [picker, content], onLogout });
  return { el: framed.el, dispose: () => (stop(), clearTimeout(again), load?.stop(), framed.dispose()) };
}

// --- 积分审批 -------------------------------------------------------------------------------
/** The decision's refusal in words the approver can act on. */
function decisionError(err) {
  if (err instanceof ApiError && err.status === 403 && err.details?.approver) return '不能审批自己提交的申请，需由另一位网格长或社区管理员审批';
  if (err instanceof ApiError && err.code === 'conflict') return '该申请已由他人处理，列表已刷新';
  if (err instanceof ApiError && err.status === 404) return '该申请不存在或不在您的管辖范围内';
  return err.message || '操作失败，请稍后重试';
}

export function approvalsView({ onLogout }) {
  const user = currentUser();
  const box = h('div', { class: 'stack' });
  const offline = h('p', { class: 'note note-warn', role: 'status', hidden: isOnline() }, '当前离线：审批需要联网，联网后再操作。');
  let load = null;

  function draw() {
    load?.stop();
    const codes = myCodes(user);
    if (!codes.length) return box.replaceChildren(empty('请先输入 12 位村/社区代码。'));
    load = loadInto(
      box,
      async () => {
        const [lists, names] = await Promise.all([Promise.all(villagesOf(codes).map((v) => get(`/api/v1/points/villages/${v}/manual?state=awaiting_approval`))), namesOf(codes)]);
        return { found: lists.flat().sort((a, b) => String(a.at).localeCompare(String(b.at))), names };
      },
      ({ found, names }) => (found.length ? h('ul', { class: 'cards', 'aria-label': '待审批的奖扣' }, found.map((r) => card(r, names))) : empty('没有待审批的奖扣申请。')),
    );
  }

  function card(r, names) {
    const own = r.requested_by === user.id;
    const name = (id) => names.get(id) || id;
    const note = h('input', { maxlength: 200, placeholder: '审批意见（选填）', 'aria-label': '审批意见' });
    const error = h('p', { class: 'form-message', role: 'alert', hidden: true });
    const decide = async (approve, buttons) => {
      if (!isOnline()) return toast('当前离线：审批需要联网', { kind: 'error' });
      if (!approve && !note.value.trim() && !window.confirm('确定驳回这条申请吗？')) return;
      buttons.forEach((b) => (b.disabled = true));
      try {
        const done = await post(`/api/v1/points/manual/${enc(r.id)}/decision`, { approve, note: note.value.trim() || null });
        toast(done.state === 'applied' ? `已批准：${name(r.user_id)} ${signed(r)} 已生效` : '已驳回');
        draw();
      } catch (err) {
        error.textContent = decisionError(err);
        error.hidden = false;
        buttons.forEach((b) => (b.disabled = false));
        if (err instanceof ApiError && err.code === 'conflict') setTimeout(draw, 1500);
      }
    };
    const yes = h('button', { type: 'button', class: 'btn btn-primary btn-small', disabled: !isOnline() }, '批准');
    const no = h('button', { type: 'button', class: 'btn btn-danger btn-small', disabled: !isOnline() }, '驳回');
    yes.onclick = () => decide(true, [yes, no]);
    no.onclick = () => decide(false, [yes, no]);
    return h(
      'li',
      { class: 'card manual-card', 'data-testid': 'manual-request', dataset: { id: r.id } },
      h('span', { class: 'card-title-row' }, h('span', { class: 'card-title' }, `${name(r.user_id)} ${signed(r)}`), stateBadge(r.state)),
      h('p', {}, r.reason),
      h('span', { class: 'row-meta' }, `${r.category ? `${CATEGORIES[r.category] || r.category} · ` : ''}申请人 ${name(r.requested_by)} · ${formatDateTime(r.at)} · 超过本村审批额度 ${r.threshold} 分`),
      own
        ? h('p', { class: 'note note-info' }, '这是您本人提交的申请，不能自己审批，需由另一位网格长或社区管理员审批。')
        : [note, error, h('div', { class: 'card-actions' }, yes, no)],
    );
  }

  const stopNet = onNetworkChange((online) => {
    offline.hidden = online;
    for (const b of box.querySelectorAll('.manual-card button')) b.disabled = !online;
  });
  const picker = villagePicker(user, draw);
  draw();
  const framed = shell({ title: '积分审批', back: '/', content: [picker, offline, box], onLogout });
  return { el: framed.el, dispose: () => (stopNet(), load?.stop(), framed.dispose()) };
}

// --- 年度考核 -------------------------------------------------------------------------------
function thisYear() {
  return String(new Date(Date.now() + 8 * 3600 * 1000).getUTCFullYear());
}

export function assessmentView({ onLogout }) {
  const user = currentUser();
  const codeSelect = h('select', { id: 'assess-code', 'aria-label': '网格或村社' });
  const year = h('input', { id: 'assess-year', value: thisYear(), inputmode: 'numeric', maxlength: 4, 'aria-label': '年度' });
  const box = h('div', { class: 'stack' });
  let load = null;

  function fillCodes() {
    const codes = myCodes(user);
    const kept = codeSelect.value;
    codeSelect.replaceChildren(...codes.map((c) => h('option', { value: c }, c)));
    if (codes.includes(kept)) codeSelect.value = kept;
    codeSelect.hidden = codes.length < 2;
    return codes;
  }

  function draw() {
    load?.stop();
    const codes = fillCodes();
    if (!codes.length) return box.replaceChildren(empty('请先输入 12 位村/社区代码。'));
    if (!/^\d{4}$/.test(year.value.trim())) return box.replaceChildren(empty('请输入 4 位年份，例如 2026。'));
    const code = codeSelect.value || codes[0];
    load = loadInto(box, () => get(`/api/v1/points/assessment?code=${enc(code)}&year=${enc(year.value.trim())}`), (r) => assessment(r));
  }

  codeSelect.onchange = draw;
  year.onchange = draw;
  const picker = villagePicker(user, draw);
  const controls = h('div', { class: 'card row-line' }, h('label', { for: 'assess-year' }, '年度'), year, codeSelect);
  draw();
  const framed = shell({ title: '年度考核', back: '/', content: [picker, controls, box], onLogout });
  return { el: framed.el, dispose: () => (load?.stop(), framed.dispose()) };
}

function assessment(r) {
  if (!r.workers?.length) return empty(`${r.year} 年还没有积分记录。`);
  const labels = { ...r.categories, manual: CATEGORIES.manual };
  // the duty categories in their usual order (the answer's keys come sorted by name)
  const order = [...Object.keys(CATEGORIES).filter((k) => k in labels), ...Object.keys(labels).filter((k) => !(k in CATEGORIES))];
  const used = order.filter((k) => k !== 'manual' || r.workers.some((w) => w.by_category.manual));
  const totals = Object.fromEntries(used.map((k) => [k, r.workers.reduce((s, w) => s + (w.by_category[k] || 0), 0)]));
  const top = Math.max(1, ...Object.values(totals));
  const all = Object.values(totals).reduce((s, n) => s + n, 0);
  return [
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'assess-chart' },
      h('h2', { id: 'assess-chart' }, `${r.year} 年各类别积分`),
      h('p', { class: 'row-meta' }, `${r.workers.length} 人，共 ${all} 分`),
      h(
        'ul',
        { class: 'assess-bars' },
        used.map((k) =>
          h(
            'li',
            { class: 'assess-bar' },
            h('span', { class: 'assess-bar-label' }, labels[k]),
            h('span', { class: 'bar', role: 'img', 'aria-label': `${labels[k]} ${totals[k]} 分` }, h('span', { class: 'bar-fill', style: `width:${Math.max(0, Math.round((totals[k] / top) * 100))}%` })),
            h('strong', { class: 'assess-bar-value' }, String(totals[k])),
          ),
        ),
      ),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'assess-table-title' },
      h('h2', { id: 'assess-table-title' }, '按人员'),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'statement-table assess-table', 'aria-label': '年度考核积分' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '人员'), h('th', { scope: 'col' }, '合计'), used.map((k) => h('th', { scope: 'col' }, labels[k])))),
          h(
            'tbody',
            {},
            r.workers.map((w) => h('tr', {}, h('th', { scope: 'row' }, w.name || w.user_id), h('td', { 'data-testid': 'assess-total' }, String(w.total)), used.map((k) => h('td', {}, String(w.by_category[k] || 0))))),
          ),
        ),
      ),
    ),
  ];
}
