// The service worker: the app shell from the precache (so the app opens with no network), API
// reads network-first with a 3-second timeout and a cached fallback, and Background Sync handed
// to an open page, which holds the access token and runs the outbox.
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { NetworkFirst } from 'workbox-strategies';
import { CacheableResponsePlugin } from 'workbox-cacheable-response';
import { ExpirationPlugin } from 'workbox-expiration';

const API_CACHE = 'lianxin-api';
const SYNC_TAG = 'lianxin-outbox';

self.skipWaiting();
clientsClaim();

precacheAndRoute(__PRECACHE_MANIFEST__); // compiled in by vite.config.js
cleanupOutdatedCaches();

// Client-side routes (/, /login, /sync, …) all open the precached shell.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('/index.html'), {
    denylist: [/^\/api\//, /^\/open311\//, /^\/(healthz|readyz)$/, /^\/apidocs/, /^\/openapi/],
  }),
);

// Reads: fresh when the network answers within 3 s, else the last copy. Never the auth
// endpoints (tokens must not sit in a cache) and never the live event stream.
registerRoute(
  ({ url, request }) =>
    request.method === 'GET' &&
    url.origin === self.location.origin &&
    url.pathname.startsWith('/api/') &&
    !url.pathname.startsWith('/api/v1/auth/') &&
    !url.pathname.startsWith('/api/v1/stream') &&
    !(request.headers.get('Accept') || '').includes('text/event-stream'),
  new NetworkFirst({
    cacheName: API_CACHE,
    networkTimeoutSeconds: 3,
    plugins: [
      new CacheableResponsePlugin({ statuses: [200] }),
      new ExpirationPlugin({ maxEntries: 200, maxAgeSeconds: 7 * 24 * 3600 }),
    ],
  }),
);

self.addEventListener('message', (event) => {
  // On logout the page asks us to drop cached API answers: they belong to the user who left.
  if (event.data?.type === 'clear-api-cache') event.waitUntil(caches.delete(API_CACHE));
});

self.addEventListener('sync', (event) => {
  if (event.tag === SYNC_TAG) event.waitUntil(askPageToReplay());
});

/**
 * Ask one open page to replay the outbox and wait for its answer. Rejecting makes the browser
 * retry the sync later with its own back-off; with no page open there is nothing to do until
 * the app starts again (it replays at start-up).
 */
async function askPageToReplay() {
  const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  if (!pages.length) return;
  const answer = await new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve({ ok: false, retry: false }), 60000);
    channel.port1.onmessage = (message) => {
      clearTimeout(timer);
      resolve(message.data || {});
    };
    pages[0].postMessage({ type: 'outbox-replay' }, [channel.port2]);
  });
  if (!answer.ok && answer.retry) throw new Error('outbox replay failed; retry later');
}

// Web Push (an extra: where the browser's push service is unreachable nothing depends on it).
// The payload is the message's title, body and where the app opens it.
self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data?.text() };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || '网格连心', {
      body: data.body || '',
      tag: data.id,
      icon: '/icons/icon-192.png',
      data: { link: data.link || '/messages' },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const link = event.notification.data?.link || '/messages';
  event.waitUntil(self.clients.openWindow(link));
});
