// Role codes from the identity service, their Chinese names, and which home each one gets.
import vocabulary from '../../contracts/vocabulary.json';

export const ROLE_LABELS = vocabulary.roles; // contracts/vocabulary.json

export const HOMES = {
  workbench: { title: '网格工作台', roles: ['grid_worker', 'grid_leader', 'instructor'] },
  cashier: { title: '积分兑换', roles: ['merchant_staff'] },
  admin: {
    title: '管理概览',
    roles: ['community_admin', 'town_admin', 'county_admin', 'department_staff', 'operator'],
  },
  resident: { title: '居民服务', roles: ['resident'] },
};

// Someone with several roles lands on the first home that fits, in this order: the phone app
// is first of all a field tool, so field work wins over the cashier desk and the office.
const HOME_ORDER = ['workbench', 'cashier', 'admin', 'resident'];

/** The homes this user may open, best first. */
export function homesFor(user) {
  const roles = new Set(user?.roles || []);
  return HOME_ORDER.filter((key) => HOMES[key].roles.some((role) => roles.has(role)));
}

/** "网格员、网格长" — the user's roles in Chinese, in the order given. */
export function roleLabel(user) {
  const labels = (user?.roles || []).map((role) => ROLE_LABELS[role] || role);
  return labels.length ? labels.join('、') : '未分配角色';
}
