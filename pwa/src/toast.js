// Short messages at the bottom of the screen, read out by screen readers.
import { h } from './dom.js';

let region = null;

export function toast(message, { kind = 'info', ms = 5000 } = {}) {
  if (!region) {
    region = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(region);
  }
  const item = h('div', { class: `toast toast-${kind}` }, message);
  region.append(item);
  setTimeout(() => item.remove(), ms);
}
