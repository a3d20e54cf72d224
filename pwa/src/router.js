// History-API routing for a handful of screens. The gateway (and the service worker) answer
// every client-side path with index.html.
const routes = [];
let current = null;
let outlet = null;
let guard = () => null;

/**
 * route('/sync', () => view) — a view is {el, dispose?}. A path may hold `:name` parts
 * ('/households/:id'); the view maker gets them decoded: make({ id }).
 */
export function route(path, make) {
  const names = [];
  const source = path.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return '([^/]+)';
  });
  routes.push({ path, make, names, pattern: names.length ? new RegExp(`^${source}$`) : null });
}

function match(pathname) {
  for (const r of routes) {
    if (r.path === pathname) return { r, params: {} };
    const found = r.pattern?.exec(pathname);
    if (found) {
      try {
        return { r, params: Object.fromEntries(r.names.map((name, i) => [name, decodeURIComponent(found[i + 1])])) };
      } catch {
        // a malformed %-escape: fall through to the catch-all
      }
    }
  }
  return { r: routes.find((r) => r.path === '*'), params: {} };
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
    // 返回 goes back in history when we came from inside the app (so a search is kept),
    // else to the link's own address (a screen opened directly).
    if (link.hasAttribute('data-back') && history.state?.depth > 0) history.back();
    else navigate(link.getAttribute('href'));
  });
  render(false);
}

export function navigate(path, { replace = false } = {}) {
  if (path !== location.pathname + location.search) {
    const depth = history.state?.depth || 0;
    if (replace) history.replaceState({ depth }, '', path);
    else history.pushState({ depth: depth + 1 }, '', path);
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
  const { r, params } = match(location.pathname);
  current?.dispose?.();
  current = r.make(params);
  outlet.replaceChildren(current.el);
  if (moveFocus) {
    // Tell screen-reader users the screen changed: focus its heading.
    current.el.querySelector('h1')?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
}
