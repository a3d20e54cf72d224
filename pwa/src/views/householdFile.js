// 住户档案: one household file (address, members, housing, tags) with its last visits and the
// visits still waiting in the outbox.
import { get } from '../api.js';
import { h } from '../dom.js';
import {
  FINDINGS,
  RELATIONS,
  TENURES,
  VISITS_URL,
  VISIT_KINDS,
  addressLabel,
  empty,
  formatDay,
  loadInto,
  may,
  rememberLabel,
  tagChips,
} from '../grid.js';
import * as outbox from '../outbox.js';
import { formatDateTime } from '../time.js';
import { revealControl } from './revealId.js';
import { shell } from './shell.js';

const enc = encodeURIComponent;

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
    tagChips(file.tags, file.tags_zh) || h('p', { class: 'row-meta' }, '无特殊标签'),
    Object.assign(lastVisit, { textContent: file.last_visit_at ? `上次走访 ${formatDay(file.last_visit_at)}` : '暂无走访记录' }),
    pendingNote,
    may('visitors')
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
            h('span', { class: 'row-meta' }, [m.gender === 'M' ? '男' : m.gender === 'F' ? '女' : '', m.birth_year ? `${m.birth_year}年生` : ''].filter(Boolean).join(' · ')),
          ),
          m.phone ? h('span', { class: 'member-id' }, '电话 ', h('span', { class: 'member-phone' }, m.phone)) : null,
          m.id_number ? idNumber(file.id, m) : null,
        ),
      ),
    ),
  );
}

function idNumber(householdId, member) {
  const number = h('span', { class: 'member-idno' }, member.id_number);
  return h('span', { class: 'member-id' }, '身份证 ', number, revealControl(householdId, member, number));
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
    // a problem found on this visit becomes a case linked to the visit and household
    may('visitors')
      ? h('a', { class: 'btn btn-small btn-secondary', href: `/cases/new?visit=${enc(visit.id)}`, 'data-link': true }, '上报事件')
      : null,
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
