// Live notifications while the app is open: the unread badge, toasts, and the inbox kept up
// to date, over Server-Sent Events from the gateway's stream app.
//
// The stream is read with fetch (not EventSource) so the access token goes in the
// Authorization header, never in a URL that logs keep. Each message's SSE id is its number in
// the user's mailbox; a reconnect sends the last one as Last-Event-ID and the server replays
// what was missed from the inbox, so a flaky connection misses nothing and repeats nothing.
// The server closes the stream when the token expires (we renew it and reconnect at once) or
// the session is revoked (renewal fails and the app asks for a login).
import { NetworkError, SessionExpired, get, post, refreshSession } from './api.js';
import { isOnline, onNetworkChange } from './network.js';
import { accessToken } from './session.js';
import { toast } from './toast.js';

const listeners = new Set();
let unread = 0;
let lastSeq = null;
let running = false;
let controller = null;
let wake = null;

/** What the app hears: {type: 'unread'|'message'|'read'|'digest'|'resync', …}. */
export function onLive(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function unreadCount() {
  return unread;
}

function emit(event) {
  for (const listener of listeners) listener(event);
}

function setUnread(value) {
  unread = Math.max(0, value | 0);
  emit({ type: 'unread', unread });
}

export async function markRead(ids) {
  const answer = await post('/api/v1/notify/messages/read', { ids });
  setUnread(answer.unread);
  return answer;
}

export async function markAllRead() {
  const answer = await post('/api/v1/notify/messages/read', { all: true });
  setUnread(answer.unread);
  return answer;
}

export function startLive() {
  if (running) return;
  running = true;
  loop();
}

export function stopLive() {
  running = false;
  lastSeq = null;
  unread = 0;
  controller?.abort();
  wake?.();
}

const sleep = (ms) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });

async function loop() {
  let delay = 1000;
  const stopNetwork = onNetworkChange((online) => online && wake?.());
  while (running) {
    if (!isOnline()) {
      await sleep(60000); // the `online` event wakes us
      continue;
    }
    try {
      // An access token known to have expired (a reloaded tab) is renewed first, through the
      // same single renewal every other call shares, rather than spent on a 401.
      if (!freshToken()) await refreshSession();
      if (!running) break;
      const summary = await get('/api/v1/notify/summary');
      if (!running) break; // logged out meanwhile: touch nothing of the session
      setUnread(summary.unread);
      if (lastSeq === null) lastSeq = summary.latest_seq;
      const ended = await follow(summary.stream_url);
      delay = 1000;
      if (!running) break;
      if (ended === 'token_expired' || ended === 'unauthorized') {
        await refreshSession();
        continue;
      }
    } catch (err) {
      if (err instanceof SessionExpired) break; // the app shows the login screen
      if (!(err instanceof NetworkError) && err?.name !== 'AbortError') console.warn('live', err);
    }
    if (!running) break;
    await sleep(delay + Math.random() * 500);
    delay = Math.min(delay * 2, 30000);
  }
  stopNetwork();
}

function freshToken() {
  const token = accessToken();
  try {
    const claims = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return claims.exp * 1000 > Date.now() + 5000;
  } catch {
    return false;
  }
}

/** Read one stream until it ends; why it ended ('token_expired', …) or null. */
async function follow(url) {
  controller = new AbortController();
  const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${accessToken()}` };
  if (lastSeq !== null) headers['Last-Event-ID'] = String(lastSeq);
  let response;
  try {
    response = await fetch(url, { headers, signal: controller.signal, cache: 'no-store' });
  } catch (err) {
    throw new NetworkError(err);
  }
  if (response.status === 401) return 'unauthorized';
  if (!response.ok || !response.body) throw new NetworkError(new Error(`stream ${response.status}`));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const ended = handle(parse(block));
      if (ended) {
        controller.abort();
        return ended;
      }
    }
  }
}

function parse(block) {
  const event = { event: 'message', data: '' };
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const at = line.indexOf(':');
    const field = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
    if (field === 'data') event.data += (event.data ? '\n' : '') + value;
    else event[field] = value;
  }
  return event;
}

function handle({ event, data, id }) {
  if (!data) return null;
  const body = JSON.parse(data);
  if (event === 'message') {
    if (id) lastSeq = Number(id);
    if (!body.read_at) setUnread(unread + 1);
    emit({ type: 'message', message: body });
    if (body.alert) toast(`${body.title}｜${body.body}`, { kind: body.critical ? 'error' : 'info', ms: 8000 });
  } else if (event === 'read') {
    setUnread(body.unread);
    emit({ type: 'read', ...body });
  } else if (event === 'digest') {
    toast(body.title, { ms: 8000 });
    emit({ type: 'digest', digest: body });
  } else if (event === 'resync') {
    lastSeq = body.latest_seq;
    emit({ type: 'resync' });
  } else if (event === 'bye') {
    return body.reason || 'bye';
  }
  return null;
}
