// The one way the app talks to the gateway: JSON in and out, Chinese error messages, the access
// token attached, and a single refresh when it has expired.
//
// Renewing the login needs the network; reading what this phone stored does not. So a read
// never waits for a renewal that cannot happen: with no access token and no network (a new tab
// or an app Android killed, opened offline) it goes out as it is and the service worker answers
// from its copy; the renewal happens once the network is back.
import { isOnline } from './network.js';
import { accessToken, endSession, hasSession, saveTokens } from './session.js';

const TIMEOUT_MS = 15000;

/** The gateway answered with an error; `message` is the zh-CN text to show. */
export class ApiError extends Error {
  constructor(status, body = {}, headers = null) {
    super(body.message || fallbackMessage(status));
    this.name = 'ApiError';
    this.status = status;
    this.code = body.error || `http_${status}`;
    this.details = body.details ?? null;
    const header = Number(headers?.get('Retry-After'));
    this.retryAfter = Number(body.details?.retry_after) || (Number.isFinite(header) ? header : 0);
  }
}

/** The refresh token is gone, spent or revoked: the user has to log in again. */
export class SessionExpired extends ApiError {
  constructor(status = 401, body = {}) {
    super(status, { ...body, message: '登录已过期，请重新登录' });
    this.name = 'SessionExpired';
  }
}

/** No answer at all: offline, DNS, timeout. Worth retrying later. */
export class NetworkError extends Error {
  constructor(cause) {
    super(navigator.onLine ? '网络连接失败，请稍后重试' : '当前离线，请连接网络后重试');
    this.name = 'NetworkError';
    this.cause = cause;
  }
}

function fallbackMessage(status) {
  if (status >= 500) return '服务器暂时无法处理，请稍后重试';
  if (status === 404) return '请求的内容不存在';
  if (status === 403) return '没有权限执行此操作';
  if (status === 401) return '请先登录';
  return '请求失败，请检查后重试';
}

async function send(method, url, { body, headers = {}, token, timeout = TIMEOUT_MS }) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  const finalHeaders = { Accept: 'application/json', ...headers };
  const raw = body instanceof Blob; // an image upload goes as it is
  if (body !== undefined) finalHeaders['Content-Type'] = raw ? body.type || 'application/octet-stream' : 'application/json';
  if (token) finalHeaders.Authorization = `Bearer ${token}`;
  try {
    return await fetch(url, {
      method,
      headers: finalHeaders,
      body: body === undefined || raw ? body : JSON.stringify(body),
      signal: controller.signal,
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (err) {
    throw new NetworkError(err);
  } finally {
    clearTimeout(timer);
  }
}

async function readJson(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { message: fallbackMessage(response.status) };
  }
}

async function unwrap(response, as = 'json') {
  if (response.ok && as === 'blob') return response.blob();
  const data = await readJson(response);
  if (response.ok) return data;
  throw new ApiError(response.status, data || {}, response.headers);
}

/**
 * A tokenless read that reached the server after all (the browser said offline, the network
 * was there) is refused as 401: answer it from the phone's copy instead, if there is one.
 */
async function stored(url, response) {
  if (response.status !== 401 || !('caches' in window)) return response;
  return (await caches.match(url)) || response;
}

let refreshing = null;

/**
 * Trade the refresh cookie for a new access token (and a new cookie). Single-flight inside this
 * tab (one promise shared by every caller) and across tabs (a Web Lock), because presenting a
 * spent refresh token makes the server revoke the whole session family. The browser sends the
 * cookie current when the request leaves, so a tab that waited uses the one the other tab just
 * received.
 */
export function refreshSession() {
  if (!refreshing) {
    const run = () => rotate();
    const locked = navigator.locks ? navigator.locks.request('lianxin-refresh', run) : run();
    refreshing = locked.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function rotate() {
  if (!hasSession()) throw expire();
  const response = await send('POST', '/api/v1/auth/refresh', {});
  if (response.ok) {
    saveTokens(await readJson(response));
    return;
  }
  const body = (await readJson(response)) || {};
  if (response.status === 401 || response.status === 403) throw expire(response.status, body);
  throw new ApiError(response.status, body, response.headers);
}

function expire(status = 401, body = {}) {
  endSession('expired');
  return new SessionExpired(status, body);
}

/**
 * Call the gateway. Resolves with the parsed JSON (null for 204); rejects with ApiError,
 * SessionExpired or NetworkError. `auth: false` for the login call itself.
 */
export async function request(method, url, { body, headers, auth = true, timeout, as = 'json' } = {}) {
  if (!auth) return unwrap(await send(method, url, { body, headers, timeout }));
  if (!accessToken()) {
    if (!hasSession()) throw new SessionExpired();
    const read = method === 'GET';
    if (!isOnline()) {
      // Offline with no token: a read asks the service worker's copy, a write waits.
      if (read) return unwrap(await stored(url, await send(method, url, { headers, timeout })), as);
      throw new NetworkError(new Error('offline'));
    }
    try {
      await refreshSession(); // a new tab: only the refresh cookie survives
    } catch (err) {
      if (!(read && err instanceof NetworkError)) throw err;
      const answer = await send(method, url, { headers, timeout });
      return unwrap(await stored(url, answer), as); // lie-fi: the copy, if any
    }
  }
  const used = accessToken();
  let response = await send(method, url, { body, headers, timeout, token: used });
  if (response.status === 401) {
    // Expired (the usual case) or otherwise unusable: refresh once and try again. If the
    // session itself was revoked the refresh fails too and the user is sent to log in.
    // Skip the refresh when another call already replaced the token we sent.
    if (accessToken() === used) await refreshSession();
    else if (refreshing) await refreshing;
    response = await send(method, url, { body, headers, timeout, token: accessToken() });
    if (response.status === 401) throw expire(401, (await readJson(response)) || {});
  }
  return unwrap(response, as);
}

export const get = (url, options) => request('GET', url, options);
export const post = (url, body, options) => request('POST', url, { ...options, body });
export const put = (url, body, options) => request('PUT', url, { ...options, body });
/** A file the API answers (a case photo), as a Blob. */
export const getBlob = (url, options) => request('GET', url, { ...options, as: 'blob' });
