// Who is logged in. The access token lives in memory (and this tab's sessionStorage, so a reload
// keeps it). The refresh token is an HttpOnly cookie that only /api/v1/auth receives: no script
// on the page can read it, so this file never sees it. The user's profile lives in
// localStorage, so the app can show who is logged in with no network, and a new tab knows there
// is a session to renew.
import { deleteDB } from 'idb';

const ACCESS = 'lianxin.access_token';
const USER = 'lianxin.user';
const LAST_USERNAME = 'lianxin.last_username';
const LEGACY_REFRESH = 'lianxin.refresh_token'; // where older builds kept it: never again
// The app's own code (Workbox's precache) is the same for everyone and keeps the app opening
// offline; every other cache holds answers for the user who was logged in.
const SHELL_CACHE = /^workbox-precache/;

let access = sessionStorage.getItem(ACCESS);
const listeners = new Set();
localStorage.removeItem(LEGACY_REFRESH);

export function accessToken() {
  return access;
}

/** Is somebody logged in on this device (whether or not a token is at hand right now)? */
export function hasSession() {
  return currentUser() !== null;
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

/** Store the answer of /auth/login or /auth/refresh (the refresh token came as a cookie). */
export function saveTokens(payload) {
  access = payload.access_token;
  sessionStorage.setItem(ACCESS, access);
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
 * On expiry the outbox keeps its entries: they carry the user id and go out after the same user
 * logs in again. A deliberate logout forgets everything: see `forgetEverything`.
 */
export function endSession(reason = 'logout') {
  access = null;
  sessionStorage.removeItem(ACCESS);
  localStorage.removeItem(USER);
  emit(reason);
}

/**
 * Logout on a shared phone: nothing of the user may stay behind. Deletes every IndexedDB
 * database of the app (the outbox included), every cache but the app's own code, and local and
 * session storage.
 */
export async function forgetEverything() {
  access = null;
  const names = indexedDB.databases
    ? (await indexedDB.databases()).map((info) => info.name).filter(Boolean)
    : ['lianxin'];
  // A tab that does not let go of its connection must not hang the logout.
  const gone = Promise.all(names.map((name) => deleteDB(name).catch(() => {})));
  await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 3000))]);
  if (self.caches) {
    const keys = await caches.keys();
    await Promise.all(keys.filter((key) => !SHELL_CACHE.test(key)).map((key) => caches.delete(key)));
  }
  sessionStorage.clear();
  localStorage.clear();
}

/** Called with 'user', 'logout' or 'expired'. Returns an unsubscribe function. */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(what) {
  for (const listener of listeners) listener(what);
}

// Another tab logged out (its logout clears localStorage) or logged in as someone else: follow it.
window.addEventListener('storage', (event) => {
  if (event.storageArea !== localStorage || (event.key !== USER && event.key !== null)) return;
  if (localStorage.getItem(USER)) {
    if (event.key === USER) emit('user');
    return;
  }
  access = null;
  sessionStorage.removeItem(ACCESS);
  emit('logout');
});
