// The home screens, one per kind of user. Features that later issues build show as 即将上线.
import { h } from '../dom.js';
import { get } from '../api.js';
import { HOMES, homesFor } from '../roles.js';
import { currentUser } from '../session.js';
import { formatLongDate } from '../time.js';
import { shell, tile } from './shell.js';

const SYNC_TILE = { title: '同步状态', mark: '同', hint: '查看待发送记录', href: '/sync' };

const TILES = {
  workbench: [
    { title: '我的网格', mark: '格', hint: '本期走访进度', href: '/grids', id: 'my-grids' },
    { title: '入户走访', mark: '访', hint: '查找住户，登记走访', href: '/households' },
    { title: '网格长视图', mark: '长', hint: '在岗情况与逾期走访', href: '/duty-board', roles: ['grid_leader', 'instructor'] },
    { title: '事件办理', mark: '事', hint: '派给我的、我报的、督办', href: '/cases', id: 'cases' },
    { title: '工作日志', mark: '志', hint: '' },
    { title: '我的积分', mark: '分', hint: '余额、明细、兑换码', href: '/points' },
    { title: '人工奖扣', mark: '奖', hint: '为网格员加分或扣分', href: '/points/manual', roles: ['grid_leader'] },
    { title: '积分审批', mark: '批', hint: '超额奖扣，由另一人审批', href: '/points/approvals', roles: ['grid_leader'] },
    { title: '年度考核', mark: '考', hint: '按服务类别统计积分', href: '/points/assessment', roles: ['grid_leader', 'instructor'] },
    { title: '消息中心', mark: '信', hint: '派单、积分与公告', href: '/messages' },
    { title: '发布通知', mark: '通', hint: '通知辖区居民或岗位人员', href: '/notices', roles: ['grid_leader'] },
    SYNC_TILE,
  ],
  cashier: [
    { title: '扫码兑换', mark: '扫', hint: '扫码或输入兑换码', href: '/till' },
    { title: '兑换记录', mark: '录', hint: '今日兑换与退货', href: '/till/today' },
    { title: '对账结算', mark: '账', hint: '' },
    SYNC_TILE,
  ],
  resident: [
    { title: '我要报事', mark: '报', hint: '拍照上报，跟踪办理', href: '/cases/new' },
    { title: '我报的事', mark: '跟', hint: '办理进度与评价', href: '/cases?view=reported' },
    { title: '晒单', mark: '晒', hint: '社区办结公示', href: '/board' },
    { title: '社区公告', mark: '告', hint: '通知与公示', href: '/messages?kind=announcement' },
    { title: '我的网格员', mark: '格', hint: '' },
    SYNC_TILE,
  ],
  admin: [
    { title: '事件概况', mark: '事', hint: '数据、督办与晒单', href: '/case-overview' },
    { title: '事件办理', mark: '办', hint: '核查、改派、升级', href: '/cases' },
    { title: '网格概况', mark: '格', hint: '' },
    { title: '人员管理', mark: '人', hint: '' },
    { title: '积分管理', mark: '分', hint: '资金、规则、结算、排名', href: '/points/admin' },
    { title: '积分审批', mark: '批', hint: '人工奖扣的审批', href: '/points/approvals', roles: ['community_admin', 'town_admin', 'county_admin', 'operator'] },
    { title: '年度考核', mark: '考', hint: '按服务类别统计积分', href: '/points/assessment', roles: ['community_admin', 'town_admin', 'county_admin', 'operator'] },
    {
      title: '发布通知',
      mark: '通',
      hint: '公告、回执与未读名单',
      href: '/notices',
      roles: ['community_admin', 'town_admin', 'county_admin', 'operator'],
    },
    SYNC_TILE,
  ],
};

const INTRO = {
  workbench: '今天的走访、事件和积分都从这里开始。',
  cashier: '为网格员兑换积分商品。',
  resident: '有事找网格，随时报事、查看公告。',
  admin: '辖区网格、事件与积分的整体情况。',
};

export const HOME_PATHS = {
  workbench: '/workbench',
  cashier: '/cashier',
  resident: '/resident',
  admin: '/admin',
};

/** key: which home; null for the user's first one. */
export function homeView(key, { onLogout }) {
  const user = currentUser();
  const homes = homesFor(user);
  const home = key && homes.includes(key) ? key : homes[0];
  if (!home) {
    return shell({
      title: '网格连心',
      onLogout,
      content: h('p', { class: 'note note-warn' }, '您的账号还没有分配角色，请联系社区管理员。'),
    });
  }
  const others = homes.filter((other) => other !== home);
  const content = [
    h(
      'section',
      { class: 'greeting', 'aria-label': '今日' },
      h('p', { class: 'greeting-date' }, formatLongDate()),
      h('p', { class: 'greeting-text' }, `${user.display_name || user.username}，您好。${INTRO[home]}`),
    ),
    h(
      'nav',
      { class: 'tiles', 'aria-label': HOMES[home].title },
      TILES[home].filter((t) => !t.roles || t.roles.some((r) => user.roles?.includes(r))).map(tile),
    ),
    others.length
      ? h(
          'nav',
          { class: 'switcher', 'aria-label': '切换' },
          h('h2', {}, '切换到'),
          others.map((other) =>
            h('a', { class: 'btn btn-secondary', href: HOME_PATHS[other], 'data-link': true }, HOMES[other].title),
          ),
        )
      : null,
  ];
  const framed = shell({ title: HOMES[home].title, content, onLogout });
  if (home === 'workbench') showProgress(framed.el.querySelector('[data-tile=my-grids] .tile-hint'));
  return framed;
}

/** The 我的网格 tile shows this period's coverage of the worker's first grid. */
async function showProgress(hint) {
  try {
    const grids = await get('/api/v1/me/grids');
    const cov = grids?.[0]?.coverage;
    if (hint && cov) hint.textContent = `已走访 ${cov.visited}/${cov.households} 户`;
  } catch {
    // offline with nothing cached, or no posts: the plain hint stays
  }
}
