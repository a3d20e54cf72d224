// History-API routing for a handful of screens. The gateway (and the service worker) answer
// every client-side path with index.html.
const routes = [];
let current = null;
let outlet = null;
let guard = () => null;

/** route('/sync', () => view) — a view is {el, dispose?}. */
export function route(path, make) {
  routes.push({ path, make });
}

/** guard(path) returns a path to redirect to, or null. */
export function setGuard(fn) {
  guard = fn;
}

export function startRouter(element) {
  outlet = element;
  window.addEventListener('popstate', () => render(false));
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-link]');
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    navigate(link.getAttribute('href'));
  });
  render(false);
}

export function navigate(path, { replace = false } = {}) {
  if (path !== location.pathname + location.search) {
    history[replace ? 'replaceState' : 'pushState'](null, '', path);
  }
  render(true);
}

/** Draw the current path again (e.g. after the user's profile changed). */
export function refresh() {
  render(false);
}

function render(moveFocus) {
  const redirect = guard(location.pathname);
  if (redirect && redirect !== location.pathname) {
    history.replaceState(null, '', redirect);
  }
  const match = routes.find((r) => r.path === location.pathname) || routes.find((r) => r.path === '*');
  current?.dispose?.();
  current = match.make();
  outlet.replaceChildren(current.el);
  if (moveFocus) {
    // Tell screen-reader users the screen changed: focus its heading.
    current.el.querySelector('h1')?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
}
