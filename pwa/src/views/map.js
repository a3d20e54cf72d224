// 网格地图: the grid's boundary and its children drawn as an inline SVG from
// GET /grids/<code>/geojson — no map tiles (nothing to download on a weak network). Lon/lat
// are projected equirectangularly, longitude scaled by cos(latitude). Children are coloured by
// this period's visit coverage as it arrives; tapping one opens it.
import { get } from '../api.js';
import { h } from '../dom.js';
import { empty, loadInto } from '../grid.js';
import { navigate } from '../router.js';
import { shell } from './shell.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 1000;
const PAD = 24;
const enc = encodeURIComponent;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== null && value !== undefined) el.setAttribute(key, value);
  el.append(...children);
  return el;
}

/** Every outer and inner ring of a Polygon or MultiPolygon. */
function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return geometry.coordinates;
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}

/** Coverage share 0..1 → a fill from pale red (none) through amber to green (all). */
function coverageColour(share) {
  if (share >= 0.9) return '#c8e6c9';
  if (share >= 0.5) return '#fff1b8';
  if (share > 0) return '#ffe0b2';
  return '#fde2e1';
}

export function mapView({ code, onLogout }) {
  const box = h('div', { class: 'stack' });
  const load = loadInto(box, () => get(`/api/v1/grids/${enc(code)}/geojson`), draw);
  let alive = true;

  function draw(collection) {
    const features = (collection?.features || []).filter((f) => rings(f.geometry).length);
    if (!features.length) return empty('这个网格还没有绘制边界。');
    const self = features.find((f) => f.properties?.role === 'self');
    const children = features.filter((f) => f.properties?.role === 'child');

    // Projection: x = lon·cos(lat0), y = −lat, fitted into WIDTH with padding.
    const all = features.flatMap((f) => rings(f.geometry).flat());
    const lats = all.map((p) => p[1]);
    const lons = all.map((p) => p[0]);
    const lat0 = ((Math.min(...lats) + Math.max(...lats)) / 2) * (Math.PI / 180);
    const k = Math.cos(lat0);
    const minX = Math.min(...lons) * k;
    const maxX = Math.max(...lons) * k;
    const minY = -Math.max(...lats);
    const maxY = -Math.min(...lats);
    const scale = (WIDTH - 2 * PAD) / Math.max(maxX - minX, maxY - minY, 1e-9);
    const height = Math.max(Math.round((maxY - minY) * scale + 2 * PAD), 200);
    const offsetX = (WIDTH - (maxX - minX) * scale) / 2;
    const offsetY = (height - (maxY - minY) * scale) / 2;
    const project = ([lon, lat]) => [offsetX + (lon * k - minX) * scale, offsetY + (-lat - minY) * scale];
    const pathOf = (geometry) =>
      rings(geometry)
        .map((ring) => `M${ring.map((p) => project(p).map((v) => v.toFixed(1)).join(',')).join('L')}Z`)
        .join('');
    const centre = (geometry) => {
      const ring = rings(geometry)[0].slice(0, -1).map(project);
      return [ring.reduce((a, p) => a + p[0], 0) / ring.length, ring.reduce((a, p) => a + p[1], 0) / ring.length];
    };
    const widthOf = (geometry) => {
      const xs = rings(geometry)[0].map((p) => project(p)[0]);
      return Math.max(...xs) - Math.min(...xs);
    };

    const fontSize = 52;
    const svg = s('svg', {
      class: 'grid-map',
      viewBox: `0 0 ${WIDTH} ${height}`,
      role: 'img',
      'aria-label': `${self?.properties?.name || code}的网格地图，${children.length} 个下级网格`,
    });
    if (self) svg.append(s('path', { class: 'map-self', d: pathOf(self.geometry) }));
    const shapes = new Map();
    for (const child of children) {
      const { code: childCode, name } = child.properties;
      const [cx, cy] = centre(child.geometry);
      const size = Math.max(24, Math.min(fontSize, (widthOf(child.geometry) / Math.max(String(name).length, 2)) * 0.95));
      const path = s('path', { class: 'map-child', d: pathOf(child.geometry), 'data-code': childCode });
      const open = () => navigate(`/grids/${enc(childCode)}`);
      const group = s(
        'a',
        { class: 'map-link', href: `/grids/${enc(childCode)}`, 'aria-label': `${name}（${childCode}）` },
        s('title', {}, `${name} ${childCode}`),
        path,
        s('text', { x: cx.toFixed(1), y: cy.toFixed(1), 'font-size': size.toFixed(1), class: 'map-label' }, name),
      );
      group.addEventListener('click', (event) => {
        event.preventDefault();
        open();
      });
      shapes.set(childCode, path);
      svg.append(group);
    }
    if (!children.length && self) {
      const [cx, cy] = centre(self.geometry);
      svg.append(s('text', { x: cx.toFixed(1), y: cy.toFixed(1), 'font-size': fontSize, class: 'map-label' }, self.properties.name));
    }
    colourByCoverage(shapes);

    const legend = h(
      'p',
      { class: 'map-legend', 'aria-label': '图例：本期走访覆盖' },
      [
        ['#fde2e1', '未走访'],
        ['#ffe0b2', '<50%'],
        ['#fff1b8', '50–90%'],
        ['#c8e6c9', '≥90%'],
      ].map(([colour, text]) => h('span', {}, h('i', { style: `background:${colour}` }), text)),
    );
    return [
      h(
        'div',
        { class: 'card map-card' },
        h('p', { class: 'map-title' }, h('strong', {}, self?.properties?.name || code), h('span', { class: 'card-sub' }, children.length ? `${children.length} 个下级网格，点击进入` : '没有下级网格')),
        svg,
        children.length ? legend : null,
      ),
      h(
        'p',
        { class: 'card-actions' },
        h('a', { class: 'btn btn-secondary', href: `/grids/${enc(code)}`, 'data-link': true }, '本网格住户'),
      ),
    ];
  }

  /** Colour each child by its visit coverage, one request per child, as answers come. */
  function colourByCoverage(shapes) {
    for (const [childCode, path] of shapes) {
      get(`/api/v1/grids/${enc(childCode)}/visit-coverage`).then(
        (cov) => {
          if (!alive) return;
          path.style.fill = coverageColour(cov.share ?? 0);
          path.dataset.share = String(cov.share ?? 0);
          path.parentNode.querySelector('title').textContent += ` · 已走访 ${cov.visited}/${cov.households} 户`;
        },
        () => {}, // outlined only: coverage is a bonus
      );
    }
  }

  const framed = shell({ title: '网格地图', back: `/grids/${enc(code)}`, content: box, onLogout });
  return {
    el: framed.el,
    dispose() {
      alive = false;
      load.stop();
      framed.dispose();
    },
  };
}
