// Online or not, as the browser sees it. Lie-fi (online but nothing gets through) shows up as
// failed sends in the outbox instead.
const listeners = new Set();

export function isOnline() {
  return navigator.onLine !== false;
}

export function onNetworkChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

for (const type of ['online', 'offline']) {
  window.addEventListener(type, () => {
    for (const listener of listeners) listener(isOnline());
  });
}
