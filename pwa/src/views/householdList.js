// 住户列表: search a grid's household files (or all in the user's scopes) by building or name,
// filter by tag, page through the results.
import { get } from '../api.js';
import { h } from '../dom.js';
import { TAGS, addressLabel, empty, failure, formatDay, loading, rememberLabel, tagChips } from '../grid.js';
import { shell } from './shell.js';

const PAGE = 20;
const enc = encodeURIComponent;

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
      tagChips(item.tags, item.tags_zh),
      h('span', { class: 'row-meta' }, item.last_visit_at ? `上次走访 ${formatDay(item.last_visit_at)}` : '暂无走访记录'),
    ),
  );
}
