// 发布通知 (/notices/new): a leader or admin writes a notice (公示公告) to an area they hold —
// its residents (and staff), the holders of staff posts there, or the households with a tag
// (the staff who serve them carry it to the door). How many people it reaches is the
// server's answer (a preview of the same rule the sending job uses), asked again as the
// audience changes. Publishing needs the network (it starts a job; it is never queued).
import { ApiError, post } from '../api.js';
import { h } from '../dom.js';
import { POSTS, TAGS } from '../grid.js';
import { ROLE_LABELS } from '../roles.js';
import { navigate } from '../router.js';
import { currentUser } from '../session.js';
import { shell } from './shell.js';
import './notify.css';

const TITLE_MAX = 60;
const BODY_MAX = 2000;
const AUDIENCE_ROLES = ['resident', 'grid_worker', 'grid_leader', 'instructor'];
const URGENT_ROLES = ['town_admin', 'county_admin', 'operator'];

function checkboxes(name, labels, checked) {
  return Object.entries(labels).map(([code, label]) =>
    h('label', { class: 'pref-channel' }, h('input', { type: 'checkbox', name, value: code, checked: checked.includes(code) }), label),
  );
}

export function publishNoticeView({ onLogout }) {
  const user = currentUser();
  const scopes = user?.scopes || [];
  const title = h('input', { id: 'notice-title', name: 'title', maxlength: TITLE_MAX, required: true, autocomplete: 'off' });
  const body = h('textarea', { id: 'notice-body', name: 'body', rows: 6, maxlength: BODY_MAX, required: true });
  const counter = h('span', { class: 'hint-top' }, `0/${BODY_MAX}`);
  const code = h('input', { id: 'notice-code', name: 'code', value: scopes[0] || '', list: 'notice-scopes', required: true, inputmode: 'numeric' });
  const kind = h(
    'select',
    { id: 'notice-kind', name: 'kind' },
    h('option', { value: 'grid' }, '辖区内的人员'),
    h('option', { value: 'posts' }, '网格岗位人员'),
    h('option', { value: 'tag' }, '特殊人群家庭（由网格员转告）'),
  );
  const roles = h('div', { class: 'choice', dataset: { for: 'grid' } }, checkboxes('roles', Object.fromEntries(AUDIENCE_ROLES.map((r) => [r, ROLE_LABELS[r]])), ['resident']));
  const posts = h('div', { class: 'choice', dataset: { for: 'posts' }, hidden: true }, checkboxes('posts', POSTS, ['full_time_worker']));
  const tag = h('select', { name: 'tag', 'aria-label': '人群' }, Object.entries(TAGS).map(([c, label]) => h('option', { value: c }, label)));
  const tags = h('div', { class: 'choice', dataset: { for: 'tag' }, hidden: true }, tag);
  const urgent = URGENT_ROLES.some((r) => user?.roles?.includes(r))
    ? h('label', { class: 'pref-channel' }, h('input', { type: 'checkbox', name: 'urgent' }), '紧急通知（战时指令：免打扰时段也提醒，并可短信通知）')
    : null;
  const reach = h('p', { class: 'reach', role: 'status', 'data-testid': 'reach' }, '正在计算通知人数…');
  const message = h('p', { class: 'form-message', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, '发布通知');

  const form = h(
    'form',
    { class: 'stack card', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'notice-title' }, '标题'), title),
    h('div', { class: 'field' }, h('label', { for: 'notice-body' }, '正文'), body, counter),
    h('div', { class: 'field' }, h('label', { for: 'notice-kind' }, '通知对象'), kind, roles, posts, tags),
    h('div', { class: 'field' }, h('label', { for: 'notice-code' }, '范围（网格或区划编码）'), code, h('datalist', { id: 'notice-scopes' }, scopes.map((s) => h('option', { value: s })))),
    urgent,
    reach,
    message,
    submit,
  );

  function audience() {
    const picked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
    const out = { kind: kind.value, code: code.value.trim() };
    if (kind.value === 'grid') out.roles = picked('roles');
    if (kind.value === 'posts') out.posts = picked('posts');
    if (kind.value === 'tag') out.tag = tag.value;
    return out;
  }

  let asked = 0;
  let timer = null;
  function preview() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++asked;
      reach.textContent = '正在计算通知人数…';
      try {
        const answer = await post('/api/v1/notify/announcements/preview', { audience: audience() });
        if (mine !== asked) return;
        const parts = Object.entries(answer.by_role).map(([label, n]) => `${label} ${n}`);
        const households = answer.households !== null && answer.households !== undefined ? `，涉及 ${answer.households} 户` : '';
        reach.textContent = `将通知 ${answer.people} 人${parts.length ? `（${parts.join('，')}）` : ''}${households}：${answer.audience_zh}`;
      } catch (err) {
        if (mine === asked) reach.textContent = err instanceof ApiError ? `无法预览：${err.message}` : '联网后才能预览和发布';
      }
    }, 250);
  }

  kind.addEventListener('change', () => {
    for (const box of form.querySelectorAll('.choice')) box.hidden = box.dataset.for !== kind.value;
    preview();
  });
  form.addEventListener('change', (event) => event.target !== kind && preview());
  code.addEventListener('input', preview);
  body.addEventListener('input', () => {
    counter.textContent = `${body.value.length}/${BODY_MAX}`;
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    if (!title.value.trim() || !body.value.trim()) {
      message.textContent = '请填写标题和正文';
      return;
    }
    submit.disabled = true;
    submit.textContent = '正在发布…';
    try {
      const job = await post(
        '/api/v1/notify/announcements',
        { title: title.value, body: body.value, audience: audience(), urgent: Boolean(form.elements.urgent?.checked) },
        { headers: { 'Idempotency-Key': crypto.randomUUID() } },
      );
      navigate(`/notices/${job.id}`, { replace: true });
    } catch (err) {
      message.textContent = err instanceof ApiError ? detailed(err) : '联网后才能发布通知';
      submit.disabled = false;
      submit.textContent = '发布通知';
    }
  });

  preview();
  return shell({ title: '发布通知', back: '/notices', content: [form], onLogout });
}

function detailed(err) {
  const details = err.details && typeof err.details === 'object' ? Object.values(err.details).flat().join('；') : '';
  return details && err.status === 400 ? `${err.message}：${details}` : err.message;
}
