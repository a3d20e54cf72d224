// What the grid screens share: Chinese names for the registry's codes, the coverage bar, tag
// chips, and loading/error/empty states.
import { NetworkError } from './api.js';
import { h } from './dom.js';
import { isOnline } from './network.js';
import { currentUser } from './session.js';
import vocabulary from '../../contracts/vocabulary.json';

// The labels are contracts/vocabulary.json, imported when the app is built: one list for the
// services, the gateway and this app.
export const TAGS = vocabulary.tags;
export const RELATIONS = vocabulary.relations;
export const TENURES = vocabulary.tenures;
export const VISIT_KINDS = vocabulary.visit_kinds;
export const FINDINGS = vocabulary.findings;
export const POSTS = vocabulary.posts;
export const GRID_LEVELS = vocabulary.grid_levels;
export const VISITS_URL = '/api/v1/visits';

/** Is the signed-in user in a role group ('visitors', 'grid_keepers', … of contracts)? Only
 * hides what the gateway would refuse (403); the gateway decides. */
export function may(group) {
  const allowed = vocabulary.role_groups[group] || [];
  return (currentUser()?.roles || []).some((role) => allowed.includes(role));
}

const day = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: 'numeric', day: 'numeric' });

/** "2025/3/5", or '' for nothing. */
export function formatDay(value) {
  return value ? day.format(new Date(value)) : '';
}

/** The household's address as one line: "1幢1单元101室". */
export function addressLabel(address = {}) {
  const { building, unit, room } = address;
  return `${building ? `${building}幢` : ''}${unit ? `${unit}单元` : ''}${room ? `${room}室` : ''}` || '地址未填';
}

/** Small chips for household tags, labelled as the service says (`tags_zh`). */
export function tagChips(tags = [], tagsZh = []) {
  if (!tags.length) return null;
  return h(
    'span',
    { class: 'chips' },
    tags.map((tag, i) => h('span', { class: `chip chip-${tag}` }, tagsZh[i] || TAGS[tag] || tag)),
  );
}

/** "2025年第3季度" / "2025年度" from the service's period label ("2025Q3" / "2025"). */
export function periodLabel(period = '') {
  const [year, quarter] = String(period).split('Q');
  return quarter ? `${year}年第${quarter}季度` : `${year}年度`;
}

/** The coverage of one duty period: a bar of visited/total, overdue, days left. */
export function coverageBlock(coverage, { compact = false } = {}) {
  if (!coverage) return null;
  const total = coverage.households || 0;
  const visited = coverage.visited || 0;
  const percent = total ? Math.round((visited / total) * 100) : 100;
  const quarter = String(coverage.period || '').includes('Q');
  return h(
    'div',
    { class: `coverage${compact ? ' coverage-compact' : ''}` },
    h(
      'div',
      { class: 'coverage-head' },
      h('span', { class: 'coverage-period' }, `${periodLabel(coverage.period)}走访`),
      h('span', { class: 'coverage-numbers' }, h('strong', {}, String(visited)), ` / ${total} 户 · ${percent}%`),
    ),
    h(
      'div',
      {
        class: 'bar',
        role: 'progressbar',
        'aria-label': `已走访 ${visited} 户，共 ${total} 户`,
        'aria-valuemin': 0,
        'aria-valuemax': total,
        'aria-valuenow': visited,
      },
      h('span', { class: 'bar-fill', style: `width:${percent}%` }),
    ),
    h(
      'div',
      { class: 'coverage-facts' },
      h('span', { class: coverage.overdue ? 'fact fact-warn' : 'fact' }, `逾期 ${coverage.overdue || 0} 户`),
      coverage.care_due
        ? h('span', { class: 'fact' }, `关爱 ${coverage.care_done || 0}/${coverage.care_due}`)
        : null,
      h('span', { class: 'fact' }, `${quarter ? '本季度' : '本年度'}还剩 ${coverage.days_left ?? '-'} 天`),
    ),
  );
}

export function loading(text = '正在加载…') {
  return h('p', { class: 'state state-loading', role: 'status' }, text);
}

export function empty(text) {
  return h('p', { class: 'state state-empty' }, text);
}

/** An error in Chinese (the API's `message`), with 重试 when it is worth trying again. */
export function failure(err, retry) {
  let message = err?.message || '加载失败，请稍后重试';
  if (err instanceof NetworkError && !isOnline()) message = '当前离线，本机还没有保存这部分内容，联网后再试';
  return h(
    'div',
    { class: 'state state-error', role: 'alert' },
    h('p', {}, message),
    retry ? h('button', { type: 'button', class: 'btn btn-secondary', onclick: retry }, '重试') : null,
  );
}

/**
 * Fill `box` with what `fetcher` answers, drawn by `draw`; a loading line meanwhile and an
 * error with 重试 on failure. Returns a function that loads again.
 */
export function loadInto(box, fetcher, draw) {
  let alive = true;
  async function run() {
    box.replaceChildren(loading());
    try {
      const data = await fetcher();
      if (alive) box.replaceChildren(...[].concat(draw(data)).filter(Boolean));
    } catch (err) {
      if (alive) box.replaceChildren(failure(err, run));
    }
  }
  run();
  run.stop = () => {
    alive = false;
  };
  return run;
}

/** Household labels seen in lists, so the visit form can name a household it has not loaded. */
const labels = new Map();
export function rememberLabel(id, label) {
  labels.set(id, label);
}
export function knownLabel(id) {
  return labels.get(id);
}
