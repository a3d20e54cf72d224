// Who is logged in. The access token lives in memory (and this tab's sessionStorage, so a reload
// keeps it); the refresh token and the user's profile live in localStorage, so the app can show
// who is logged in with no network and a new tab can get a fresh access token.
const ACCESS = 'lianxin.access_token';
const REFRESH = 'lianxin.refresh_token';
const USER = 'lianxin.user';
const LAST_USERNAME = 'lianxin.last_username';

let access = sessionStorage.getItem(ACCESS);
const listeners = new Set();

export function accessToken() {
  return access;
}

export function refreshToken() {
  return localStorage.getItem(REFRESH);
}

export function currentUser() {
  try {
    return JSON.parse(localStorage.getItem(USER) || 'null');
  } catch {
    return null;
  }
}

export function lastUsername() {
  return localStorage.getItem(LAST_USERNAME) || '';
}

/** Store the answer of /auth/login or /auth/refresh. */
export function saveTokens(payload) {
  access = payload.access_token;
  sessionStorage.setItem(ACCESS, access);
  localStorage.setItem(REFRESH, payload.refresh_token);
  if (payload.user) saveUser(payload.user);
}

export function saveUser(user) {
  const before = localStorage.getItem(USER);
  const after = JSON.stringify(user);
  localStorage.setItem(USER, after);
  localStorage.setItem(LAST_USERNAME, user.username || '');
  if (before !== after) emit('user');
}

/**
 * Forget the session. `reason` is shown on the login screen ('expired') or not ('logout').
 * The outbox keeps its entries: they carry the user id and go out after the same user logs in again.
 */
export function endSession(reason = 'logout') {
  access = null;
  sessionStorage.removeItem(ACCESS);
  localStorage.removeItem(REFRESH);
  localStorage.removeItem(USER);
  emit(reason);
}

/** Called with 'user', 'logout' or 'expired'. Returns an unsubscribe function. */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(what) {
  for (const listener of listeners) listener(what);
}

// Another tab logged out or logged in as someone else: follow it.
window.addEventListener('storage', (event) => {
  if (event.key === REFRESH && !event.newValue && access) {
    access = null;
    sessionStorage.removeItem(ACCESS);
    emit('logout');
  } else if (event.key === USER && event.newValue) {
    emit('user');
  }
});
