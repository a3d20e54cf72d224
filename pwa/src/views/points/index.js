// The points mall's screens, registered in one place: the worker's (我的积分, 兑换码, 积分超市),
// the cashier's till, the grid leader's (人工奖扣, 积分审批, 年度考核; admins approve and
// assess too) and the village operator's (积分管理, printable statements). Each group
// is its own chunk, fetched when first opened (and precached for offline use), so the app's
// first download does not grow with screens most users never open.
import { lazy } from '../lazy.js';
import './points.css';

const ADMINS = ['community_admin', 'town_admin', 'county_admin', 'operator'];
// The leader's screens by role, as the gateway lets them act (it decides; this only hides).
const BY_ROLE = [
  [/^\/points\/(manual|approvals)(\/|$)/, ['grid_leader', ...ADMINS]],
  [/^\/points\/assessment(\/|$)/, ['grid_leader', 'instructor', ...ADMINS]],
];

/** May this user open a points path? (true for paths that are not the points mall's) */
export function pointsAllowed(path, user, homes) {
  const byRole = BY_ROLE.find(([pattern]) => pattern.test(path));
  if (byRole) return byRole[1].some((role) => user?.roles?.includes(role));
  const home = pointsHomeFor(path);
  return !home || homes.includes(home);
}

/** Which home may open a points path ('workbench', 'cashier', 'admin'), or null. */
export function pointsHomeFor(path) {
  if (/^\/till(\/|$)/.test(path)) return 'cashier';
  if (/^\/points\/(admin|statements)(\/|$)/.test(path)) return 'admin';
  if (/^\/points(\/|$)/.test(path)) return 'workbench';
  return null;
}

export function registerPointsRoutes(route, onLogout) {
  const worker = () => import('./worker.js');
  const till = () => import('./till.js');
  const operator = () => import('./operator.js');
  const leader = () => import('./leader.js');
  route('/points', lazy(worker, 'myPointsView', onLogout));
  route('/points/code', lazy(worker, 'codeView', onLogout));
  route('/points/shops', lazy(worker, 'shopsView', onLogout));
  route('/till', lazy(till, 'tillView', onLogout));
  route('/till/today', lazy(till, 'tillTodayView', onLogout));
  route('/points/manual', lazy(leader, 'manualView', onLogout));
  route('/points/approvals', lazy(leader, 'approvalsView', onLogout));
  route('/points/assessment', lazy(leader, 'assessmentView', onLogout));
  route('/points/admin', lazy(operator, 'pointsAdminView', onLogout));
  route('/points/statements/:shop/:period', lazy(operator, 'statementPrintView', onLogout));
}
