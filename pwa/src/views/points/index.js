// The points mall's screens, registered in one place: the worker's (我的积分, 兑换码, 积分超市),
// the cashier's till and the village operator's (积分管理, printable statements). Each group
// is its own chunk, fetched when first opened (and precached for offline use), so the app's
// first download does not grow with screens most users never open.
import './points.css';

/** Which home may open a points path ('workbench', 'cashier', 'admin'), or null. */
export function pointsHomeFor(path) {
  if (/^\/till(\/|$)/.test(path)) return 'cashier';
  if (/^\/points\/(admin|statements)(\/|$)/.test(path)) return 'admin';
  if (/^\/points(\/|$)/.test(path)) return 'workbench';
  return null;
}

/** A view whose module loads on demand: an empty frame first, the screen when it arrives. */
export function lazy(load, name, onLogout) {
  return (params) => {
    const holder = document.createElement('div');
    holder.className = 'screen';
    let view = null;
    let gone = false;
    load().then((module) => {
      if (gone) return;
      view = module[name]({ ...params, onLogout });
      holder.replaceWith(view.el);
      view.el.querySelector('h1')?.focus({ preventScroll: true });
    });
    return {
      el: holder,
      dispose() {
        gone = true;
        view?.dispose?.();
      },
    };
  };
}

export function registerPointsRoutes(route, onLogout) {
  const worker = () => import('./worker.js');
  const till = () => import('./till.js');
  const operator = () => import('./operator.js');
  route('/points', lazy(worker, 'myPointsView', onLogout));
  route('/points/code', lazy(worker, 'codeView', onLogout));
  route('/points/shops', lazy(worker, 'shopsView', onLogout));
  route('/till', lazy(till, 'tillView', onLogout));
  route('/till/today', lazy(till, 'tillTodayView', onLogout));
  route('/points/admin', lazy(operator, 'pointsAdminView', onLogout));
  route('/points/statements/:shop/:period', lazy(operator, 'statementPrintView', onLogout));
}
