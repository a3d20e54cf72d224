// 我要报事 / 事件上报: category, what happened, photos (compressed on the phone), where (the
// phone's position, or a grid picked from the list). Saved to the outbox first, so it works
// with no network; photos go up once each, before the report that names them.
import { get } from '../../api.js';
import { h } from '../../dom.js';
import { loadInto } from '../../grid.js';
import * as outbox from '../../outbox.js';
import { navigate } from '../../router.js';
import { toast } from '../../toast.js';
import { shell } from '../shell.js';
import { GROUPS, photoPicker } from './common.js';

const CASES_URL = '/api/v1/cases';

export function reportView({ onLogout }) {
  const params = new URLSearchParams(location.search);
  const visit = params.get('visit');
  const box = h('div');
  const framed = shell({ title: visit ? '走访发现上报' : '我要报事', back: '/cases', content: box, onLogout });
  const reload = loadInto(
    box,
    async () => {
      const [meta, grids] = await Promise.all([
        get('/api/v1/cases/meta'),
        get('/api/v1/grids').catch(() => []),
      ]);
      return { meta, grids };
    },
    ({ meta, grids }) => form(meta, grids || [], visit),
  );
  const dispose = framed.dispose;
  framed.dispose = () => {
    reload.stop();
    dispose();
  };
  return framed;
}

function form(meta, grids, visit) {
  const byGroup = {};
  for (const c of meta.categories) (byGroup[c.group] ||= []).push(c);
  const category = h(
    'select',
    { id: 'case-category', required: true },
    h('option', { value: '' }, '请选择问题类别'),
    Object.entries(byGroup).map(([group, list]) =>
      h('optgroup', { label: GROUPS[group] || group }, list.map((c) => h('option', { value: c.code }, `${c.name}（${c.kind_zh}）`))),
    ),
  );
  const description = h('textarea', { id: 'case-description', rows: 4, maxlength: 2000, required: true, placeholder: '发生了什么？在哪里？' });
  const address = h('input', { id: 'case-address', maxlength: 200, placeholder: '如：3号楼2单元楼道（选填）' });
  const picker = photoPicker({ max: meta.photo_max_count || 9 });
  const position = h('p', { class: 'row-meta', id: 'case-position' }, visit ? '位置：走访的住户所在网格' : '尚未定位');
  let point = null;
  const locate = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-secondary',
      onclick: () => {
        if (!navigator.geolocation) {
          position.textContent = '此设备无法定位，请选择网格';
          return;
        }
        position.textContent = '正在定位…';
        navigator.geolocation.getCurrentPosition(
          (found) => {
            point = { lon: Number(found.coords.longitude.toFixed(6)), lat: Number(found.coords.latitude.toFixed(6)) };
            position.textContent = `已定位：${point.lon}, ${point.lat}`;
            gridSelect.value = '';
          },
          () => (position.textContent = '定位失败，请选择网格'),
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
        );
      },
    },
    '用手机定位',
  );
  const gridSelect = h(
    'select',
    { id: 'case-grid' },
    h('option', { value: '' }, grids.length ? '或选择所在网格' : '没有可选的网格'),
    grids.map((g) => h('option', { value: g.code }, `${'　'.repeat(Math.max(0, (g.level || 1) - 1))}${g.name}`)),
  );
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, '提交');
  const message = h('p', { class: 'form-message', role: 'alert' });
  const where = visit
    ? h('section', { class: 'card fields' }, h('h2', {}, '位置'), position)
    : h(
        'section',
        { class: 'card fields' },
        h('h2', {}, '位置'),
        h('div', { class: 'field' }, locate, position),
        h('div', { class: 'field' }, h('label', { for: 'case-grid' }, '所在网格'), gridSelect),
        h('div', { class: 'field' }, h('label', { for: 'case-address' }, '详细地点'), address),
      );
  const el = h(
    'form',
    { class: 'case-form', onsubmit: save },
    h(
      'section',
      { class: 'card fields' },
      h('div', { class: 'field' }, h('label', { for: 'case-category' }, '问题类别'), category),
      h('div', { class: 'field' }, h('label', { for: 'case-description' }, '问题描述'), description),
      picker.el,
    ),
    where,
    h('p', { class: 'hint-top' }, '没有网络也能提交，联网后自动发送，照片只上传一次。'),
    message,
    submit,
  );

  async function save(event) {
    event.preventDefault();
    message.textContent = '';
    const body = { category: category.value, description: description.value.trim() };
    if (visit) body.visit_id = visit;
    else if (point) body.location = point;
    else if (gridSelect.value) body.grid_code = gridSelect.value;
    else {
      message.textContent = '请用手机定位，或选择所在网格';
      return;
    }
    if (address.value.trim()) body.address = address.value.trim();
    if (!body.category || !body.description) {
      message.textContent = '请选择类别并填写问题描述';
      return;
    }
    submit.disabled = true;
    const name = meta.categories.find((c) => c.code === body.category)?.name || '事件';
    try {
      await outbox.enqueue({
        method: 'POST',
        url: CASES_URL,
        body,
        label: `上报事件 · ${name}`,
        photos: picker.photos(),
      });
      toast(navigator.onLine ? '已提交，正在发送' : '已保存，联网后自动发送');
      navigate('/cases', { replace: true });
    } catch (err) {
      submit.disabled = false;
      toast(`保存失败：${err.message}`, { kind: 'error' });
    }
  }
  return el;
}
