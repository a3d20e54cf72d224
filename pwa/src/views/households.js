// 住户列表 (search a grid's household files), 住户档案 (one file: address, members, housing,
// tags, last visits) and 走访登记 (log a visit through the outbox, offline or not).
import { get } from '../api.js';
import { h } from '../dom.js';
import {
  FINDINGS,
  RELATIONS,
  TAGS,
  TENURES,
  VISIT_KINDS,
  addressLabel,
  empty,
  failure,
  formatDay,
  knownLabel,
  loadInto,
  loading,
  rememberLabel,
  tagChips,
} from '../grid.js';
import { navigate } from '../router.js';
import * as outbox from '../outbox.js';
import { currentUser } from '../session.js';
import { formatDateTime } from '../time.js';
import { toast } from '../toast.js';
import { shell } from './shell.js';

const PAGE = 20;
const VISITS_URL = '/api/v1/visits';
const enc = encodeURIComponent;
// Who may log visits (POST /api/v1/visits); instructors and admins only read the files.
const mayVisit = () => (currentUser()?.roles || []).some((r) => r === 'grid_worker' || r === 'grid_leader');

// --- 住户列表 -------------------------------------------------------------------------------
/** code: the grid (and everything under it); without it, every household in the user's scope. */
export function householdsView({ code = null, onLogout }) {
  const params = new URLSearchParams(location.search);
  const state = {
    field: params.has('name') ? 'name' : 'building',
    text: params.get('name') || params.get('building') || '',
    tag: params.get('tag') || '',
  };
  const heading = h('div', { class: 'grid-heading' });
  if (code) {
    heading.append(loading('正在加载网格…'));
    get(`/api/v1/grids/${enc(code)}`).then(
      (grid) =>
        heading.replaceChildren(
          h('div', { class: 'grid-heading-text' }, h('strong', {}, grid.name), h('span', { class: 'card-sub' }, chainText(grid))),
          h('a', { class: 'btn btn-secondary btn-small', href: `/grids/${enc(code)}/map`, 'data-link': true }, '地图'),
        ),
      () => heading.replaceChildren(h('strong', {}, code)),
    );
  } else {
    heading.append(h('strong', {}, '我负责的全部住户'));
  }

  const fieldSelect = h(
    'select',
    { class: 'search-field', 'aria-label': '搜索方式' },
    h('option', { value: 'building', selected: state.field === 'building' }, '楼栋'),
    h('option', { value: 'name', selected: state.field === 'name' }, '姓名'),
  );
  const input = h('input', {
    type: 'search',
    class: 'search-input',
    value: state.text,
    'aria-label': '搜索内容',
    enterkeyhint: 'search',
    maxlength: 30,
  });
  const placeholder = () => {
    input.placeholder = fieldSelect.value === 'name' ? '户主或成员姓名' : '楼栋号，如 1';
    input.inputMode = fieldSelect.value === 'name' ? 'text' : 'search';
  };
  placeholder();
  fieldSelect.addEventListener('change', placeholder);
  const form = h(
    'form',
    { class: 'search', role: 'search', onsubmit: (e) => (e.preventDefault(), search()) },
    fieldSelect,
    input,
    h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, '搜索'),
  );
  const chips = h(
    'div',
    { class: 'chip-filter', role: 'group', 'aria-label': '按标签筛选' },
    [['', '全部'], ...Object.entries(TAGS)].map(([tag, label]) =>
      h(
        'button',
        { type: 'button', class: 'chip-toggle', 'aria-pressed': String(state.tag === tag), dataset: { tag }, onclick: () => pickTag(tag) },
        label,
      ),
    ),
  );
  const list = h('ul', { class: 'rows card', 'aria-label': '住户' });
  const status = h('div');
  const more = h('button', { type: 'button', class: 'btn btn-secondary btn-block', hidden: true, onclick: () => page(nextOffset) }, '加载更多');
  let nextOffset = 0;
  let token = 0;

  function pickTag(tag) {
    state.tag = tag;
    for (const chip of chips.children) chip.setAttribute('aria-pressed', String(chip.dataset.tag === tag));
    search();
  }

  function search() {
    state.field = fieldSelect.value;
    state.text = input.value.trim();
    const query = new URLSearchParams();
    if (state.text) query.set(state.field, state.text);
    if (state.tag) query.set('tag', state.tag);
    const qs = query.toString();
    history.replaceState(history.state, '', location.pathname + (qs ? `?${qs}` : ''));
    list.replaceChildren();
    page(0);
  }

  async function page(offset) {
    const mine = ++token;
    const query = new URLSearchParams({ limit: PAGE, offset });
    if (code) query.set('grid_code', code);
    if (state.text) query.set(state.field, state.text);
    if (state.tag) query.set('tag', state.tag);
    more.hidden = true;
    status.replaceChildren(loading(offset ? '正在加载更多…' : '正在搜索…'));
    try {
      const result = await get(`/api/v1/households?${query}`);
      if (mine !== token) return;
      status.replaceChildren();
      list.append(...result.items.map(householdRow));
      nextOffset = result.next_offset;
      more.hidden = nextOffset === null || nextOffset === undefined;
      list.hidden = !list.children.length;
      if (!list.children.length) status.replaceChildren(empty(state.text || state.tag ? '没有找到符合条件的住户' : '还没有住户档案'));
    } catch (err) {
      if (mine === token) status.replaceChildren(failure(err, () => page(offset)));
    }
  }

  search();
  const content = [heading, h('div', { class: 'search-box' }, form, chips), list, status, more];
  const framed = shell({ title: '住户列表', back: code ? '/grids' : '/', content, onLogout });
  return { el: framed.el, dispose: () => ((token += 1), framed.dispose()) };
}

function chainText(grid) {
  const chain = (grid.chain || []).map((link) => link.name);
  if (chain[chain.length - 1] !== grid.name) chain.push(grid.name);
  return chain.length > 1 ? chain.join(' › ') : `网格编码 ${grid.code}`;
}

function householdRow(item) {
  rememberLabel(item.id, item.label);
  return h(
    'li',
    { dataset: { id: item.id } },
    h(
      'a',
      { class: 'row', href: `/households/${enc(item.id)}`, 'data-link': true },
      h(
        'span',
        { class: 'row-line' },
        h('span', { class: 'row-title' }, item.label || addressLabel(item.address)),
        h('span', { class: 'row-head' }, item.head ? `${item.head} 等 ${item.members} 人` : `${item.members} 人`),
      ),
      tagChips(item.tags),
      h('span', { class: 'row-meta' }, item.last_visit_at ? `上次走访 ${formatDay(item.last_visit_at)}` : '暂无走访记录'),
    ),
  );
}

// --- 住户档案 -------------------------------------------------------------------------------
export function householdView({ id, onLogout }) {
  const box = h('div', { class: 'stack' });
  const visitsBox = h('div');
  const pendingList = h('ul', { class: 'rows', 'aria-label': '待发送的走访' });
  let pendingCount = -1;
  let stopVisits = null;
  const lastVisit = h('p', { class: 'row-meta' });
  const pendingNote = h('a', { class: 'badge badge-warn pending-note', href: '/sync', 'data-link': true, hidden: true });

  const load = loadInto(box, () => get(`/api/v1/households/${enc(id)}`), (file) => {
    rememberLabel(file.id, addressLabel(file.address));
    stopVisits = loadVisits();
    return [
      addressCard(file, lastVisit, pendingNote),
      membersCard(file),
      housingCard(file),
      h('section', { class: 'card', 'aria-labelledby': 'visits-title' }, h('h2', { id: 'visits-title' }, '走访记录'), pendingList, visitsBox),
    ];
  });

  function loadVisits() {
    return loadInto(visitsBox, () => get(`${VISITS_URL}?household_id=${enc(id)}&limit=5`), (visits) => {
      if (visits[0]) lastVisit.textContent = `上次走访 ${formatDay(visits[0].occurred_at)}`;
      if (!visits.length) return empty('还没有走访记录');
      return h('ul', { class: 'rows', 'aria-label': '最近走访' }, visits.map(visitItem));
    });
  }

  async function showPending() {
    const entries = (await outbox.list()).filter((e) => e.url === VISITS_URL && e.body?.household_id === id);
    pendingList.replaceChildren(...entries.map(pendingItem));
    pendingList.hidden = !entries.length;
    const waiting = entries.filter((e) => e.state === 'pending').length;
    pendingNote.hidden = !entries.length;
    pendingNote.textContent = waiting ? `${waiting} 条走访待发送` : `${entries.length} 条走访发送失败`;
    pendingNote.classList.toggle('badge-danger', !waiting);
    // One of ours left the outbox: the server has it now, so list the visits again.
    if (pendingCount > entries.length && stopVisits) stopVisits = loadVisits();
    pendingCount = entries.length;
  }

  showPending();
  const stopOutbox = outbox.subscribe(showPending);
  const framed = shell({ title: '住户档案', back: '/grids', content: box, onLogout });
  return {
    el: framed.el,
    dispose() {
      load.stop();
      stopVisits?.stop();
      stopOutbox();
      framed.dispose();
    },
  };
}

function addressCard(file, lastVisit, pendingNote) {
  const { building, unit, room } = file.address || {};
  return h(
    'section',
    { class: 'card household-head', 'aria-label': '地址' },
    h('p', { class: 'household-address' }, addressLabel(file.address)),
    h(
      'dl',
      { class: 'facts' },
      fact('楼栋', building ? `${building}幢` : '—'),
      fact('单元', unit ? `${unit}单元` : '—'),
      fact('房号', room ? `${room}室` : '—'),
    ),
    tagChips(file.tags) || h('p', { class: 'row-meta' }, '无特殊标签'),
    Object.assign(lastVisit, { textContent: file.last_visit_at ? `上次走访 ${formatDay(file.last_visit_at)}` : '暂无走访记录' }),
    pendingNote,
    mayVisit()
      ? h('a', { class: 'btn btn-primary btn-block', href: `/households/${enc(file.id)}/visit`, 'data-link': true }, '走访登记')
      : null,
  );
}

function fact(label, value) {
  return h('div', { class: 'fact-item' }, h('dt', {}, label), h('dd', {}, value));
}

function membersCard(file) {
  const members = [...(file.members || [])].sort((a, b) => (a.relation === 'head' ? -1 : b.relation === 'head' ? 1 : 0));
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'members-title' },
    h('h2', { id: 'members-title' }, `家庭成员（${members.length}）`),
    h(
      'ul',
      { class: 'rows', 'aria-label': '家庭成员' },
      members.map((m) =>
        h(
          'li',
          { class: 'member' },
          h(
            'span',
            { class: 'row-line' },
            h('span', { class: 'row-title' }, m.name),
            h('span', { class: 'badge' }, RELATIONS[m.relation] || '其他'),
            h('span', { class: 'row-meta' }, [m.gender === 'M' ? '男' : m.gender === 'F' ? '女' : '', m.birth_date ? `${m.birth_date.slice(0, 4)}年生` : ''].filter(Boolean).join(' · ')),
          ),
          m.phone ? h('span', { class: 'member-id' }, '电话 ', h('span', { class: 'member-phone' }, m.phone)) : null,
          m.id_number ? h('span', { class: 'member-id' }, '身份证 ', h('span', { class: 'member-idno' }, m.id_number)) : null,
        ),
      ),
    ),
  );
}

function housingCard(file) {
  const housing = file.housing || {};
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'housing-title' },
    h('h2', { id: 'housing-title' }, '住房情况'),
    h(
      'dl',
      { class: 'facts facts-wide' },
      fact('产权', TENURES[housing.tenure] || '未填'),
      housing.landlord ? fact('房东', housing.landlord) : null,
      housing.landlord_phone ? fact('房东电话', housing.landlord_phone) : null,
    ),
    file.note ? h('p', { class: 'household-note' }, file.note) : null,
  );
}

function findingsText(findings = {}) {
  return Object.entries(FINDINGS)
    .filter(([key]) => findings[key]?.length)
    .map(([key, label]) => h('span', { class: 'finding' }, h('b', {}, `${label}：`), findings[key].join('；')));
}

function visitItem(visit) {
  return h(
    'li',
    { class: 'visit', dataset: { id: visit.id } },
    h('span', { class: 'row-line' }, h('span', { class: 'row-title' }, VISIT_KINDS[visit.kind] || visit.kind), h('span', { class: 'row-meta' }, formatDateTime(visit.occurred_at))),
    findingsText(visit.findings),
    visit.note ? h('span', { class: 'row-meta' }, visit.note) : null,
  );
}

function pendingItem(entry) {
  const rejected = entry.state === 'rejected';
  return h(
    'li',
    { class: 'visit visit-pending', dataset: { clientId: entry.client_id } },
    h(
      'span',
      { class: 'row-line' },
      h('span', { class: 'row-title' }, VISIT_KINDS[entry.body.kind] || '走访'),
      h('a', { class: `badge ${rejected ? 'badge-danger' : 'badge-warn'}`, href: '/sync', 'data-link': true }, rejected ? '发送失败' : '待发送'),
    ),
    h('span', { class: 'row-meta' }, `记录于 ${formatDateTime(entry.created_at)}`),
    findingsText(entry.body.findings),
    rejected && entry.last_error ? h('span', { class: 'entry-error' }, entry.last_error) : null,
  );
}

// --- 走访登记 -------------------------------------------------------------------------------
export function visitView({ id, onLogout }) {
  if (!mayVisit()) {
    const note = h('p', { class: 'note note-warn' }, '走访登记由网格员、网格长填写，您的账号可以查看住户档案。');
    return shell({ title: '走访登记', back: `/households/${enc(id)}`, content: note, onLogout });
  }
  const label = h('p', { class: 'household-address' }, knownLabel(id) || '住户');
  get(`/api/v1/households/${enc(id)}`).then(
    (file) => (label.textContent = addressLabel(file.address)),
    () => {},
  );
  const kinds = h(
    'fieldset',
    { class: 'segmented' },
    h('legend', {}, '走访类型'),
    Object.entries(VISIT_KINDS).map(([value, text], i) =>
      h('label', {}, h('input', { type: 'radio', name: 'kind', value, checked: i === 0 }), h('span', {}, text)),
    ),
  );
  const areas = Object.fromEntries(
    Object.keys(FINDINGS).map((key) => [key, h('textarea', { id: `finding-${key}`, rows: 2, maxlength: 500, placeholder: '没有可不填；多条请分行' })]),
  );
  const note = h('textarea', { id: 'visit-note', rows: 2, maxlength: 2000, placeholder: '其他情况（选填）' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, '保存走访记录');
  const form = h(
    'form',
    { class: 'visit-form', onsubmit: save },
    h('section', { class: 'card', 'aria-label': '住户' }, h('span', { class: 'row-meta' }, '走访住户'), label),
    h('section', { class: 'card' }, kinds),
    h(
      'section',
      { class: 'card fields' },
      h('h2', {}, '走访发现'),
      Object.entries(FINDINGS).map(([key, text]) => h('div', { class: 'field' }, h('label', { for: `finding-${key}` }, text), areas[key])),
      h('div', { class: 'field' }, h('label', { for: 'visit-note' }, '备注'), note),
    ),
    h('p', { class: 'hint-top' }, '没有网络也能保存，联网后自动发送。'),
    submit,
  );

  async function save(event) {
    event.preventDefault();
    submit.disabled = true;
    const findings = {};
    for (const [key, area] of Object.entries(areas)) {
      const lines = area.value.split('\n').map((line) => line.trim()).filter(Boolean);
      if (lines.length) findings[key] = lines;
    }
    const body = {
      household_id: id,
      kind: form.querySelector('input[name=kind]:checked')?.value || 'routine',
      occurred_at: new Date().toISOString(),
      findings,
    };
    if (note.value.trim()) body.note = note.value.trim();
    try {
      await outbox.enqueue({ method: 'POST', url: VISITS_URL, body, label: `走访记录 · ${label.textContent}` });
      toast(navigator.onLine ? '走访记录已保存，正在发送' : '走访记录已保存，联网后自动发送');
      // Back to the file we came from (it shows the visit as 待发送), not a second copy of it.
      if (history.state?.depth > 0) history.back();
      else navigate(`/households/${enc(id)}`, { replace: true });
    } catch (err) {
      submit.disabled = false;
      toast(`保存失败：${err.message}`, { kind: 'error' });
    }
  }

  const framed = shell({ title: '走访登记', back: `/households/${enc(id)}`, content: form, onLogout });
  return framed;
}
