// 网格长视图 (the leader's duty board: who is on duty per grid, absences, coverage, overdue
// households). On the board a leader marks a worker 缺岗 or 到岗: an online action (others rely
// on it at once), never queued. Who would take over is asked of the grid service (a dry run),
// not worked out here: the on-duty rule lives in one place.
import { get, put } from '../api.js';
import { h } from '../dom.js';
import { POSTS, addressLabel, coverageBlock, empty, formatDay, loadInto, may, rememberLabel } from '../grid.js';
import { isOnline, onNetworkChange } from '../network.js';
import { toast } from '../toast.js';
import { shell } from './shell.js';

export function dutyBoardView({ onLogout }) {
  const box = h('div', { class: 'stack' });
  const canAdjust = may('grid_keepers');
  let overdue = null;
  let busy = false;

  function draw(board, opened = null) {
    const grids = board?.grids || [];
    if (!grids.length) return empty('没有可查看的网格。');
    const [top, ...rest] = grids;
    if (overdue?.dataset.code !== board.code) {
      overdue = h('section', { class: 'card', 'aria-labelledby': 'overdue-title', dataset: { code: board.code } });
      loadOverdue(overdue, board.code);
    }
    const ctx = canAdjust ? { confirm } : null;
    const card = (g) => dutyCard(g, opened ? opened.has(g.code) : g === top, ctx);
    return [
      card(top),
      overdue,
      rest.length ? h('h2', { class: 'section-title' }, `下级网格（${rest.length}）`) : null,
      ...rest.map(card),
    ];
  }

  /** Draw the board again from the server, keeping the cards the user has open. */
  async function redraw() {
    const opened = new Set([...box.querySelectorAll('.duty-card[open]')].map((d) => d.dataset.code));
    const board = await boardOfMyGrid();
    box.replaceChildren(...[].concat(draw(board, opened)).filter(Boolean));
    syncOnline();
  }

  /** The confirmation under a post row: who takes over (the service's dry run), then the PUT
   * (online only). */
  function confirm(row, grid, post) {
    box.querySelector('.post-confirm')?.remove();
    const absent = !post.absent;
    const name = post.display_name || post.username || '该人员';
    const verb = absent ? '缺岗' : '到岗';
    const path = `/api/v1/grids/${encodeURIComponent(grid.code)}/posts/${encodeURIComponent(post.user_id)}`;
    const outcome = h('p', {}, `标记 ${name} ${verb}后，正在确认由谁接手…`);
    get(`${path}/absence-preview?absent=${absent}`).then(
      (duty) => (outcome.textContent = `标记 ${name} ${verb}后，${takeoverText(duty, grid)}`),
      (err) => (outcome.textContent = `标记 ${name} ${verb}后由谁接手暂时无法确认：${err.message || '请稍后重试'}`),
    );
    const error = h('p', { class: 'form-message', role: 'alert', hidden: true });
    const yes = h('button', { type: 'button', class: 'btn btn-primary btn-small post-toggle' }, `确认${verb}`);
    const no = h('button', { type: 'button', class: 'btn btn-secondary btn-small' }, '取消');
    const panel = h(
      'li',
      { class: 'post-confirm', role: 'group', 'aria-label': `确认标记${verb}` },
      outcome,
      error,
      h('span', { class: 'card-actions' }, no, yes),
    );
    no.onclick = () => (panel.remove(), row.querySelector('.post-toggle')?.focus());
    yes.onclick = async () => {
      if (busy || !isOnline()) return;
      busy = true;
      syncOnline();
      no.disabled = true;
      yes.textContent = '正在提交…';
      error.hidden = true;
      try {
        const duty = await put(`${path}/absence`, { absent });
        busy = false;
        toast(`已标记 ${name} ${verb}，${duty?.user_id ? `现由 ${duty.display_name || '—'} 处理` : '本网格暂无人在岗'}`);
        await redraw().catch(() => load());
        box.querySelector(`.duty-card[data-code="${grid.code}"] .post[data-user="${post.user_id}"] .post-toggle`)?.focus();
      } catch (err) {
        busy = false;
        error.textContent = err.message || '提交失败，请稍后重试';
        error.hidden = false;
        yes.textContent = `确认${verb}`;
        no.disabled = false;
        syncOnline();
      }
    };
    row.after(panel);
    syncOnline();
    yes.focus();
  }

  function syncOnline() {
    const online = isOnline();
    for (const button of box.querySelectorAll('.post-toggle')) button.disabled = !online || busy;
    for (const note of box.querySelectorAll('.offline-note')) note.hidden = online;
  }

  const load = loadInto(box, boardOfMyGrid, (board) => draw(board));
  const stopNetwork = onNetworkChange(syncOnline);
  const framed = shell({ title: '网格长视图', back: '/', content: box, onLogout });
  return { el: framed.el, dispose: () => (load.stop(), stopNetwork(), framed.dispose()) };
}

/** The board of the grid I lead (an instructor's scope is a whole village, not one grid). */
async function boardOfMyGrid() {
  const mine = await get('/api/v1/me/grids');
  const led = mine.find((g) => g.post === 'grid_leader' || g.post === 'instructor') || mine[0];
  return get(`/api/v1/duty-board${led ? `?code=${encodeURIComponent(led.code)}` : ''}`);
}

/** Who handles `grid` then, as the grid service answered the preview, said in Chinese. */
function takeoverText(duty, grid) {
  if (!duty?.user_id) return '本网格将无人在岗，请尽快安排人员';
  const who = `${duty.ab ? `${duty.ab}岗` : duty.post_zh || POSTS[duty.post] || ''} ${duty.display_name || duty.username || ''}`;
  if (duty.handled_at && duty.handled_at !== grid.code) return `由上级网格 ${who} 代管`;
  return duty.user_id === grid.on_duty?.user_id ? `仍由 ${who} 处理` : `由 ${who} 接手`;
}

function onDutyLine(grid) {
  const duty = grid.on_duty;
  if (!duty) return h('p', { class: 'duty-now duty-none' }, '当前无人在岗，请安排人员');
  const elsewhere = duty.handled_at && duty.handled_at !== grid.code;
  return h(
    'p',
    { class: 'duty-now' },
    h('span', { class: 'duty-label' }, '当前处理'),
    h('strong', {}, duty.display_name || duty.username || '—'),
    h('span', { class: 'duty-post' }, `${duty.post_zh || ''}${duty.ab ? ` ${duty.ab}岗` : ''}${elsewhere ? '（上级网格代管）' : ''}`),
  );
}

function postRow(grid, p, ctx) {
  const name = p.display_name || p.username || '—';
  const row = h(
    'li',
    { class: `post${p.absent ? ' post-absent' : ''}`, dataset: { user: p.user_id } },
    p.ab ? h('span', { class: `ab ab-${p.ab}` }, `${p.ab}岗`) : null,
    h('span', { class: 'post-name' }, name),
    h('span', { class: 'post-kind' }, p.post_zh),
    p.absent ? h('span', { class: 'badge badge-warn' }, '缺岗') : null,
  );
  if (ctx) {
    const verb = p.absent ? '到岗' : '缺岗';
    row.append(
      h(
        'button',
        {
          type: 'button',
          class: `btn btn-small post-toggle ${p.absent ? 'btn-secondary' : 'btn-quiet'}`,
          'aria-label': `标记 ${name} ${verb}`,
          onclick: () => ctx.confirm(row, grid, p),
        },
        verb,
      ),
    );
  }
  return row;
}

function dutyCard(grid, open, ctx) {
  const absent = grid.posts.filter((p) => p.absent).length;
  const summary = h(
    'summary',
    { class: 'duty-summary' },
    h(
      'span',
      { class: 'card-title-row' },
      h('span', { class: 'card-title' }, grid.name),
      absent ? h('span', { class: 'badge badge-warn' }, `缺岗 ${absent}`) : null,
      grid.coverage?.overdue ? h('span', { class: 'badge badge-danger' }, `逾期 ${grid.coverage.overdue}`) : null,
    ),
    onDutyLine(grid),
    coverageBlock(grid.coverage, { compact: true }),
  );
  const posts = grid.posts.length
    ? h(
        'ul',
        { class: 'posts', 'aria-label': `${grid.name}岗位` },
        [...grid.posts].sort((a, b) => rank(a) - rank(b)).map((p) => postRow(grid, p, ctx)),
      )
    : empty('本网格没有设岗位');
  return h(
    'details',
    { class: 'card duty-card', open, dataset: { code: grid.code } },
    summary,
    posts,
    ctx && grid.posts.length ? h('p', { class: 'note note-warn offline-note', hidden: isOnline() }, '联网后才能调整岗位') : null,
    h(
      'p',
      { class: 'card-actions' },
      h('a', { class: 'btn btn-secondary btn-small', href: `/grids/${encodeURIComponent(grid.code)}`, 'data-link': true }, '住户'),
      h('a', { class: 'btn btn-secondary btn-small', href: `/grids/${encodeURIComponent(grid.code)}/map`, 'data-link': true }, '地图'),
    ),
  );
}

const POST_ORDER = ['grid_leader', 'micro_grid_leader', 'full_time_worker', 'part_time_worker', 'hotline_worker', 'instructor'];
const rank = (p) => (p.ab === 'B' ? 20 : p.ab === 'A' ? 10 : 0) + POST_ORDER.indexOf(p.post);

const OVERDUE_SHOWN = 20;

function loadOverdue(section, code) {
  const body = h('div');
  section.append(h('h2', { id: 'overdue-title' }, '逾期未走访'), body);
  loadInto(body, () => get(`/api/v1/grids/${encodeURIComponent(code)}/visit-coverage`), (cov) => {
    const list = cov.overdue_households || [];
    if (!list.length) return empty('没有逾期未走访的住户。');
    const ul = h('ul', { class: 'rows', 'aria-label': '逾期未走访' });
    let shown = 0;
    const more = h('button', { type: 'button', class: 'btn btn-secondary btn-block', onclick: showMore }, '显示更多');
    function showMore() {
      for (const item of list.slice(shown, shown + OVERDUE_SHOWN)) {
        rememberLabel(item.id, item.label);
        ul.append(
          h(
            'li',
            {},
            h(
              'a',
              { class: 'row', href: `/households/${encodeURIComponent(item.id)}`, 'data-link': true },
              h('span', { class: 'row-title' }, item.label || addressLabel()),
              h('span', { class: 'row-meta' }, item.last_visit_at ? `上次走访 ${formatDay(item.last_visit_at)}` : '从未走访'),
            ),
          ),
        );
      }
      shown += OVERDUE_SHOWN;
      more.hidden = shown >= list.length;
    }
    showMore();
    return [h('p', { class: 'hint-top' }, `共 ${cov.overdue} 户，上一周期起未走访`), ul, more];
  });
}
