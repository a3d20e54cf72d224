// Register /sw.js (scope "/") once the page has loaded, so it never competes with first paint.
export function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return;
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => {
      console.warn('service worker registration failed', err);
    });
  });
}

/** Tell the service worker to forget cached API answers (on logout). */
export async function clearApiCache() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    registration?.active?.postMessage({ type: 'clear-api-cache' });
  } catch {
    // No service worker: nothing cached.
  }
}
