// What the points screens share: Chinese names, numbers in points and yuan, the worker's
// pack of redemption codes kept on this phone (so a code shows with no network).
import { h } from '../../dom.js';

export const CATEGORIES = {
  org_life: '组织生活参与',
  livelihood: '民生事项服务',
  opinions: '社情民意收集',
  disputes: '矛盾纠纷劝调',
  special_groups: '特殊人群帮教',
  policy_law: '政策法律宣传',
  manual: '人工奖励',
};

export const TRIGGERS = {
  visit_logged: '入户走访',
  case_registered: '上报事件被立案',
  case_handled: '事件办理反馈（办结后到账）',
  case_closed: '事件办结',
  case_closed_on_time: '事件按时办结',
  case_evaluated_good: '群众好评',
};

const KINDS = {
  award: '积分奖励',
  settle: '核实到账',
  reversal: '积分撤回',
  manual: '人工调整',
  redeem: '兑换商品',
  refund: '退货返还',
  expire: '积分过期',
};

export const enc = encodeURIComponent;

/** "12.30" from fen. */
export function yuan(fen) {
  const n = Number(fen) || 0;
  return `${n < 0 ? '-' : ''}${Math.floor(Math.abs(n) / 100)}.${String(Math.abs(n) % 100).padStart(2, '0')}`;
}

/** What moved a worker's points, in words. */
export function causeLabel(entry) {
  const c = entry.cause || {};
  if (c.trigger_zh) return c.category_zh ? `${c.trigger_zh} · ${c.category_zh}` : c.trigger_zh;
  if (c.kind === 'manual') return c.reason ? `人工调整：${c.reason}` : '人工调整';
  if (c.kind === 'reversal') return c.reason ? `撤回：${c.reason}` : '积分撤回';
  return KINDS[entry.kind] || entry.kind || '积分变动';
}

export function field(label, input, hint = null) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 8)}`;
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint' }, hint) : null);
}

/** "2026-11": this month in Beijing time. */
export function thisMonth(offset = 0) {
  const now = new Date(Date.now() + 8 * 3600 * 1000);
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

// --- the pack of redemption codes on this phone -------------------------------------------
const packKey = (user) => `lianxin-points-pack:${user.id}`;

/** This user's codes that have not expired, soonest to expire first. */
export function storedPack(user) {
  try {
    const pack = JSON.parse(localStorage.getItem(packKey(user)) || '[]');
    return pack.filter((t) => Date.parse(t.expires_at) > Date.now());
  } catch {
    return [];
  }
}

export function savePack(user, tokens) {
  localStorage.setItem(packKey(user), JSON.stringify(tokens));
}

export function forgetCode(user, token) {
  savePack(user, storedPack(user).filter((t) => t.token !== token));
}
