// Start-up: draw from what this phone already knows (so the app opens offline), then check the
// session with the server in the background and start the outbox.
import './styles.css';
import { ApiError, NetworkError, SessionExpired, get, request } from './api.js';
import * as outbox from './outbox.js';
import { homesFor } from './roles.js';
import vocabulary from '../../contracts/vocabulary.json';
import { navigate, refresh, route, setGuard, startRouter } from './router.js';
import { clearApiCache, registerServiceWorker } from './service-worker-registration.js';
import {
  accessToken,
  currentUser,
  endSession,
  forgetEverything,
  lastUsername,
  onSessionChange,
  saveUser,
} from './session.js';
import { toast } from './toast.js';
import { HOME_PATHS, homeView } from './views/home.js';
import { loginView } from './views/login.js';
import { syncView } from './views/sync.js';
import { dutyBoardView } from './views/dutyBoard.js';
import { myGridsView } from './views/myGrids.js';
import { householdView } from './views/householdFile.js';
import { householdsView } from './views/householdList.js';
import { visitView } from './views/visitForm.js';
import { mapView } from './views/map.js';
import { pointsAllowed, registerPointsRoutes } from './views/points/index.js';
import { PUBLIC_PATHS, registerCaseRoutes } from './views/cases/index.js';
import { lazy } from './views/lazy.js';
import { startLive, stopLive } from './live.js';
import { inboxView } from './views/inbox.js';

let loginNotice = '';

const homeFor = (key) => () => homeView(key, { onLogout: logout });
route('/login', () =>
  loginView({
    notice: loginNotice,
    username: loginNotice ? lastUsername() : '',
    onLoggedIn: () => {
      loginNotice = '';
      navigate('/', { replace: true });
      outbox.replay('login');
      startLive();
    },
  }),
);
route('/', homeFor(null));
for (const [key, path] of Object.entries(HOME_PATHS)) route(path, homeFor(key));
route('/sync', () => syncView({ onLogout: logout }));
route('/grids', () => myGridsView({ onLogout: logout }));
route('/grids/:code', ({ code }) => householdsView({ code, onLogout: logout }));
route('/grids/:code/map', ({ code }) => mapView({ code, onLogout: logout }));
route('/households', () => householdsView({ onLogout: logout }));
route('/households/:id', ({ id }) => householdView({ id, onLogout: logout }));
route('/households/:id/visit', ({ id }) => visitView({ id, onLogout: logout }));
route('/duty-board', () => dutyBoardView({ onLogout: logout }));
registerPointsRoutes(route, logout);
registerCaseRoutes(route, logout);
route('/messages', () => inboxView({ onLogout: logout }));
// settings and the publisher's screens load when first opened (most users never open them)
route('/settings/notify', lazy(() => import('./views/notifySettings.js'), 'notifySettingsView', logout));
route('/notices', lazy(() => import('./views/notices.js'), 'noticesView', logout));
route('/notices/new', lazy(() => import('./views/publishNotice.js'), 'publishNoticeView', logout));
route('/notices/:id', lazy(() => import('./views/notices.js'), 'noticeView', logout));
route('*', homeFor(null));

setGuard((path) => {
  const user = currentUser();
  if (!user) return path === '/login' || PUBLIC_PATHS.test(path) ? null : '/login';
  if (path === '/login') return '/';
  const key = Object.keys(HOME_PATHS).find((k) => HOME_PATHS[k] === path);
  if (key && !homesFor(user).includes(key)) return '/';
  // The grid screens are field tools: workers, leaders and instructors (the workbench).
  if (/^\/(grids|households|duty-board)(\/|$)/.test(path) && !homesFor(user).includes('workbench')) return '/';
  // publishing notices: leaders and admins (the server checks roles and scope again)
  if (/^\/notices(\/|$)/.test(path) && !vocabulary.role_groups.notice_publishers.some((r) => user.roles?.includes(r))) return '/';
  if (!pointsAllowed(path, user, homesFor(user))) return '/';
  return null;
});

onSessionChange((what) => {
  if (what === 'expired' || what === 'logout') stopLive();
  if (what === 'expired') {
    clearApiCache(); // whoever logs in next may be someone else
    loginNotice = '登录已过期，请重新登录';
    navigate('/login', { replace: true });
  } else if (what === 'logout') {
    navigate('/login', { replace: true });
  } else if (what === 'user') {
    refresh();
  }
});

outbox.subscribe((event) => {
  if (event.type === 'conflict') {
    toast(`“${event.entry.label || '一条记录'}”未保存：${event.message}`, { kind: 'error', ms: 10000 });
  }
});

async function logout(button) {
  const waiting = await outbox.count();
  if (waiting && !window.confirm(`还有 ${waiting} 条记录待发送。退出登录会把它们从本机删除，确定退出吗？`)) {
    return;
  }
  stopLive(); // first: the ending session must not be renewed by the live connection
  if (button) {
    button.disabled = true;
    button.textContent = '正在退出…';
  }
  try {
    // The refresh cookie goes along by itself; the access token too when this tab has one.
    const token = accessToken();
    await request('POST', '/api/v1/auth/logout', {
      auth: false,
      timeout: 5000,
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
  } catch (err) {
    // Offline or already expired: forget the session here anyway. The server-side session
    // then lapses with its refresh token.
    if (!(err instanceof NetworkError) && !(err instanceof ApiError)) console.warn(err);
  }
  await clearApiCache();
  await forgetEverything(); // a shared phone keeps nothing of the user who left
  loginNotice = '';
  endSession('logout');
}

/** Refresh the profile from the server (roles may have changed); offline, keep what we have. */
async function checkSession() {
  if (!currentUser()) return;
  try {
    const data = await get('/api/v1/auth/me');
    if (data?.user) saveUser(data.user);
  } catch (err) {
    if (!(err instanceof NetworkError) && !(err instanceof SessionExpired)) console.warn(err);
  }
}

registerServiceWorker();
startRouter(document.getElementById('app'));
outbox.startOutbox();
checkSession();
if (currentUser()) startLive();
