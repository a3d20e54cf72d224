// What the case screens share: the labels of contracts/vocabulary.json (one list for server and
// app), the state chip, photo compression before upload, photos fetched with the login, and
// the steps a person can take (the server says which: `case.actions`).
import { getBlob } from '../../api.js';
import { h } from '../../dom.js';
import vocabulary from '../../../../contracts/vocabulary.json';

export const STATES = vocabulary.case_states;
export const ACTIONS = vocabulary.case_actions;
export const SOURCES = vocabulary.case_sources;
export const LEVELS = vocabulary.case_levels;
export const GROUPS = vocabulary.case_groups;
export const STEPS = vocabulary.case_steps;
export const MAX_SIDE = 1600; // the long side a photo is sent at (the server caps it too)
export const enc = encodeURIComponent;

const dayTime = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  month: 'numeric',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

export function when(value) {
  return value ? dayTime.format(new Date(value)) : '';
}

/** A coloured chip for the state ("处置中"), with 督办 / 临期 beside it when flagged. */
export function stateChip(item) {
  return h(
    'span',
    { class: 'chips' },
    h('span', { class: `chip case-state case-${item.state}` }, item.state_zh || STATES[item.state] || item.state),
    item.supervised ? h('span', { class: 'chip case-flag' }, '督办') : null,
    item.alert === 'soon' ? h('span', { class: 'chip case-soon' }, '临期') : null,
  );
}

/** One line of a case list, linking to its detail. */
export function caseRow(item) {
  return h(
    'li',
    { class: 'row case-row', dataset: { id: item.id } },
    h(
      'a',
      { href: `/cases/${enc(item.id)}`, 'data-link': true, class: 'card-link' },
      h('span', { class: 'row-line' }, h('span', { class: 'row-title' }, item.title), stateChip(item)),
      h(
        'span',
        { class: 'row-meta' },
        [item.number, item.grid_name, item.deadline ? `时限 ${when(item.deadline)}` : when(item.reported_at)]
          .filter(Boolean)
          .join(' · '),
      ),
    ),
  );
}

/**
 * A photo the user picked, made small before it is queued: long side ≤ 1,600 px, JPEG, drawn
 * upright (EXIF orientation applied), so nothing of the camera's metadata leaves the phone
 * either. Falls back to the file itself where the browser cannot decode it.
 */
export async function compress(file) {
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close?.();
    return await new Promise((resolve, reject) =>
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('toBlob'))), 'image/jpeg', 0.85),
    );
  } catch {
    return file;
  }
}

/** A file input for photos (camera first on phones) and the row of previews it fills. */
export function photoPicker({ max = 9, label = '照片' } = {}) {
  const picked = [];
  const previews = h('div', { class: 'case-photos', 'aria-live': 'polite' });
  const count = h('span', { class: 'row-meta' }, `可选，最多 ${max} 张，上传前自动压缩`);
  const input = h('input', { type: 'file', accept: 'image/*', multiple: true, id: 'case-photo-input', class: 'case-file' });
  input.addEventListener('change', async () => {
    for (const file of [...input.files].slice(0, max - picked.length)) {
      const blob = await compress(file);
      picked.push(blob);
      const url = URL.createObjectURL(blob);
      previews.append(h('img', { src: url, alt: `待上传照片 ${picked.length}`, class: 'case-thumb' }));
    }
    count.textContent = `已选 ${picked.length} 张`;
    input.value = '';
  });
  const el = h(
    'div',
    { class: 'field' },
    h('label', { for: 'case-photo-input' }, label),
    input,
    count,
    previews,
  );
  return { el, photos: () => [...picked] };
}

/** The case's photos as thumbnails, fetched with the login (they are not public). */
export function photoStrip(ids = []) {
  if (!ids.length) return null;
  const strip = h('div', { class: 'case-photos' });
  for (const id of ids) {
    const img = h('img', { alt: '事件照片', class: 'case-thumb' });
    strip.append(img);
    getBlob(`/api/v1/case-photos/${enc(id)}?size=thumb`).then(
      (blob) => (img.src = URL.createObjectURL(blob)),
      () => img.replaceWith(h('span', { class: 'row-meta' }, '照片暂不可看')),
    );
  }
  return strip;
}
