// A view whose module loads on demand: an empty frame first, the screen when it arrives (the
// points and case screens are chunks of their own, precached for offline use).
export function lazy(load, name, onLogout) {
  return (params) => {
    const holder = document.createElement('div');
    holder.className = 'screen';
    let view = null;
    let gone = false;
    load().then((module) => {
      if (gone) return;
      view = module[name]({ ...params, onLogout });
      holder.replaceWith(view.el);
      view.el.querySelector('h1')?.focus({ preventScroll: true });
    });
    return {
      el: holder,
      dispose() {
        gone = true;
        view?.dispose?.();
      },
    };
  };
}
