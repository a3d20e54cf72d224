// The write outbox: every write the user makes is stored in IndexedDB first and sent from here,
// in order, when the network allows — on `online`, at start-up, when Background Sync fires
// (the service worker asks an open page to replay, since only the page holds the access token),
// and on a backing-off timer after failures. An entry leaves the outbox only when the server
// confirms it: 2xx, or 409 `idempotency_conflict` (the server already holds a different write
// under this client id; the user is told). The client id goes out as the Idempotency-Key header
// and as `client_id` in the body, so a write whose answer was lost is never applied twice.
import { request, ApiError, NetworkError, SessionExpired } from './api.js';
import { db } from './db.js';
import { currentUser } from './session.js';

export const SYNC_TAG = 'lianxin-outbox';
const DONE_KEEP = 30;
const BASE_DELAY_MS = 2000;
const MAX_DELAY_MS = 5 * 60 * 1000;

const listeners = new Set();
const channel = 'BroadcastChannel' in window ? new BroadcastChannel('lianxin-outbox') : null;
if (channel) channel.onmessage = (event) => emit(event.data, false);

const state = {
  running: false,
  blocked: null, // 'login' when the server refused our session
  failures: 0, // consecutive failed attempts, drives the back-off
  nextRetryAt: null,
  lastSyncAt: null,
  lastError: null,
  lastTrigger: null,
};
let retryTimer = null;
let running = null;
let again = false;

/** A snapshot of the replay state, for the sync screen. */
export function status() {
  return { ...state };
}

/**
 * Queue a write. `label` is what the user sees in the list (e.g. "走访记录 · 3号楼201").
 * `photos`: image Blobs that go with it; each is uploaded once, in its own request
 * (POST /api/v1/case-photos, with a client id of its own), before the write, which then
 * carries their ids in `body.photos`. Returns the stored entry; sending starts at once if the
 * network is there.
 */
export async function enqueue({ method = 'POST', url, body = {}, label = '', photos = [] }) {
  const user = currentUser();
  if (!user) throw new Error('outbox: nobody is logged in');
  const entry = {
    client_id: newClientId(),
    user_id: user.id,
    method,
    url,
    body,
    label,
    created_at: new Date().toISOString(),
    state: 'pending', // or 'rejected': the server refused it for good, the user decides
    attempts: 0,
    last_error: null,
    photos: photos.map((blob) => ({ client_id: newClientId(), blob, id: null })),
  };
  const database = await db();
  entry.seq = await database.add('outbox', entry);
  emit({ type: 'change' });
  requestBackgroundSync();
  replay('enqueue');
  return entry;
}

/** This user's waiting entries, oldest first (pending and rejected). */
export async function list() {
  const user = currentUser();
  if (!user) return [];
  const all = await (await db()).getAll('outbox');
  return all.filter((entry) => entry.user_id === user.id);
}

/** How many of this user's writes are waiting to be sent (rejected ones not counted). */
export async function count() {
  return (await list()).filter((entry) => entry.state === 'pending').length;
}

/** What the server recently confirmed for this user, newest first. */
export async function recent() {
  const user = currentUser();
  if (!user) return [];
  const all = await (await db()).getAll('outbox_done');
  return all.filter((entry) => entry.user_id === user.id).reverse();
}

/** Put a rejected entry back in the queue. */
export async function retry(seq) {
  const database = await db();
  const entry = await database.get('outbox', seq);
  if (!entry) return;
  await database.put('outbox', { ...entry, state: 'pending', attempts: 0, last_error: null });
  emit({ type: 'change' });
  replay('manual');
}

/** The user gives up on an entry the server will not take. */
export async function discard(seq) {
  const database = await db();
  const entry = await database.get('outbox', seq);
  if (!entry) return;
  await finish(entry, { outcome: 'discarded', message: entry.last_error });
}

/**
 * Called with {type: 'change'}, {type: 'conflict', entry, message} or, when the server
 * refused an entry for good, {type: 'rejected', entry, error}. Returns unsubscribe.
 */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Send what is waiting. One replay at a time in this tab (callers share the running one, and a
 * call that arrives meanwhile makes it go round once more) and across tabs (a Web Lock).
 * Resolves with {ok, reason?}: reason is 'network', 'login' or 'no_session'.
 */
export function replay(trigger = 'manual') {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    let result;
    do {
      again = false;
      result = await exclusive(() => drain(trigger));
    } while (again && result.ok);
    return result;
  })().finally(() => {
    running = null;
  });
  return running;
}

/** Wire the triggers. Call once, after the session is known. */
export function startOutbox() {
  window.addEventListener('online', () => {
    state.failures = 0;
    replay('online');
  });
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.addEventListener('message', (event) => {
      if (event.data?.type !== 'outbox-replay') return;
      const port = event.ports[0];
      // Background Sync fires at once while the phone is online, also right after a server
      // failure: a retry already timed must not be cut short (the back-off protects a server
      // that is struggling). The service worker keeps the sync for later instead.
      if (state.nextRetryAt && Date.now() < state.nextRetryAt) {
        port?.postMessage({ ok: false, retry: true });
        return;
      }
      replay('sync').then(
        (result) => port?.postMessage({ ok: result.ok, retry: result.reason === 'network' }),
        () => port?.postMessage({ ok: false, retry: true }),
      );
    });
    navigator.serviceWorker.startMessages();
  }
  replay('startup');
}

function exclusive(task) {
  return navigator.locks ? navigator.locks.request('lianxin-outbox', task) : task();
}

async function drain(trigger) {
  const user = currentUser();
  if (!user) return { ok: false, reason: 'no_session' };
  clearTimeout(retryTimer);
  state.nextRetryAt = null;
  state.running = true;
  state.lastTrigger = trigger;
  emit({ type: 'change' }, false);
  try {
    for (;;) {
      // Known offline: do not spend an attempt; the `online` event or Background Sync wakes us.
      if (!navigator.onLine) return { ok: false, reason: 'network' };
      const entry = await nextPending(user.id);
      if (!entry) break;
      const stop = await deliver(entry);
      if (stop) return stop;
    }
    state.failures = 0;
    state.blocked = null;
    state.lastError = null;
    state.lastSyncAt = Date.now();
    return { ok: true };
  } finally {
    state.running = false;
    emit({ type: 'change' }, false);
  }
}

async function nextPending(userId) {
  const database = await db();
  let cursor = await database.transaction('outbox').store.openCursor();
  while (cursor) {
    if (cursor.value.user_id === userId && cursor.value.state === 'pending') return cursor.value;
    cursor = await cursor.continue();
  }
  return null;
}

/** Send one entry. Returns nothing to go on with the next, or {ok:false, reason} to stop. */
async function deliver(entry) {
  try {
    const uploaded = await uploadPhotos(entry);
    const body = { ...entry.body, client_id: entry.client_id };
    if (uploaded.length) body.photos = [...(entry.body.photos || []), ...uploaded];
    const data = await request(entry.method, entry.url, {
      body,
      headers: { 'Idempotency-Key': entry.client_id },
    });
    await finish(entry, {
      outcome: 'sent',
      replay: Boolean(data?.replay),
      received_at: data?.received_at ?? null,
    });
    return null;
  } catch (err) {
    if (err instanceof SessionExpired) {
      state.blocked = 'login';
      state.lastError = err.message;
      return { ok: false, reason: 'login' };
    }
    if (err instanceof NetworkError) {
      await failed(entry, err.message);
      return { ok: false, reason: 'network' };
    }
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 409 && err.code === 'idempotency_conflict') {
      await finish(entry, { outcome: 'conflict', message: err.message });
      emit({ type: 'conflict', entry, message: err.message });
      return null;
    }
    if (err.status === 408 || err.status === 429 || err.status >= 500) {
      await failed(entry, err.message, err.retryAfter);
      return { ok: false, reason: 'network' };
    }
    // Any other 4xx will never succeed as it stands: park it for the user, keep the order moving.
    const database = await db();
    await database.put('outbox', {
      ...entry,
      state: 'rejected',
      attempts: entry.attempts + 1,
      last_error: err.message,
    });
    emit({ type: 'change' });
    emit({ type: 'rejected', entry, error: err }, false);
    return null;
  }
}

/**
 * Upload the entry's photos that the server does not have yet, remembering each id as it
 * comes back, so a retry after a failure never sends a photo twice. Their ids, in order.
 */
async function uploadPhotos(entry) {
  const photos = entry.photos || [];
  for (const photo of photos) {
    if (photo.id) continue;
    const answer = await request('POST', '/api/v1/case-photos', {
      body: photo.blob,
      headers: { 'Idempotency-Key': photo.client_id },
    });
    photo.id = answer.id;
    await (await db()).put('outbox', entry);
  }
  return photos.map((photo) => photo.id);
}

/** The server has the entry (or refused it for good as a conflict): move it to the done list. */
async function finish(entry, result) {
  const database = await db();
  const tx = database.transaction(['outbox', 'outbox_done'], 'readwrite');
  const done = tx.objectStore('outbox_done');
  await tx.objectStore('outbox').delete(entry.seq);
  await done.add({
    client_id: entry.client_id,
    user_id: entry.user_id,
    label: entry.label,
    url: entry.url,
    created_at: entry.created_at,
    finished_at: new Date().toISOString(),
    replay: false,
    received_at: null,
    message: null,
    ...result,
  });
  const keys = await done.getAllKeys();
  for (const key of keys.slice(0, Math.max(0, keys.length - DONE_KEEP))) await done.delete(key);
  await tx.done;
  emit({ type: 'change' });
}

async function failed(entry, message, retryAfterSeconds = 0) {
  const database = await db();
  await database.put('outbox', { ...entry, attempts: entry.attempts + 1, last_error: message });
  state.failures += 1;
  state.lastError = message;
  scheduleRetry(retryAfterSeconds);
  requestBackgroundSync();
}

function scheduleRetry(retryAfterSeconds) {
  clearTimeout(retryTimer);
  state.nextRetryAt = null;
  if (!navigator.onLine && !retryAfterSeconds) return; // the `online` event will wake us
  const backoff = Math.min(BASE_DELAY_MS * 2 ** (state.failures - 1), MAX_DELAY_MS);
  const delay = retryAfterSeconds ? retryAfterSeconds * 1000 : backoff * (0.8 + Math.random() * 0.4);
  state.nextRetryAt = Date.now() + delay;
  retryTimer = setTimeout(() => replay('retry'), delay);
}

async function requestBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    await registration?.sync?.register(SYNC_TAG);
  } catch {
    // No Background Sync here (or not allowed): `online` and start-up replays still run.
  }
}

function emit(event, broadcast = true) {
  for (const listener of listeners) listener(event);
  if (broadcast && channel && event.type === 'change') channel.postMessage({ type: 'change' });
}

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Plain-http deployments are not a secure context and have no randomUUID: build a v4 UUID.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
