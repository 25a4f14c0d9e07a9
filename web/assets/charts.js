// Small inline-SVG charts (no library).
import { h, s } from './dom.js';

const W = 560, H = 200, PAD = { l: 40, r: 10, t: 10, b: 28 };

function niceMax(v, floor) {
  v = Math.max(v, floor);
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function frame(max, labels, title) {
  const g = [];
  const ih = H - PAD.t - PAD.b;
  for (let i = 0; i <= 4; i++) {
    const y = PAD.t + ih - (ih * i) / 4;
    g.push(s('line', { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: 'axis', 'stroke-dasharray': i ? '2 3' : '' }));
    const v = (max * i) / 4;
    g.push(s('text', { x: PAD.l - 6, y: y + 4, 'text-anchor': 'end' }, Number.isInteger(v) ? v : v.toFixed(2)));
  }
  const step = Math.max(1, Math.ceil(labels.length / 8));
  const iw = W - PAD.l - PAD.r;
  labels.forEach((label, i) => {
    if (i % step) return;
    const x = PAD.l + (iw * (i + 0.5)) / labels.length;
    g.push(s('text', { x, y: H - 8, 'text-anchor': 'middle' }, label));
  });
  return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title }, s('title', {}, title), g);
}

/** Vertical bars: points [{label, value}]. */
export function barChart(title, points, color = '#2457d6', floor = 4) {
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)), floor);
  const svg = frame(max, points.map((p) => p.label), title);
  const iw = W - PAD.l - PAD.r, ih = H - PAD.t - PAD.b;
  const bw = iw / Math.max(1, points.length);
  points.forEach((p, i) => {
    const bh = (ih * p.value) / max;
    svg.append(s('rect', { x: PAD.l + i * bw + bw * 0.15, y: PAD.t + ih - bh, width: bw * 0.7, height: bh, fill: color, rx: 2 },
      s('title', {}, `${p.label}: ${p.value}`)));
  });
  return h('figure.chart', {}, h('figcaption', {}, h('h2', {}, title)), svg);
}

/** Line with dots: points [{label, value}]. */
export function lineChart(title, points, color = '#16794a', floor = 4) {
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)), floor);
  const svg = frame(max, points.map((p) => p.label), title);
  const iw = W - PAD.l - PAD.r, ih = H - PAD.t - PAD.b;
  const xy = points.map((p, i) => [PAD.l + (iw * (i + 0.5)) / points.length, PAD.t + ih - (ih * p.value) / max]);
  if (xy.length) svg.append(s('polyline', { points: xy.map((q) => q.join(',')).join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }));
  xy.forEach(([x, y], i) => svg.append(s('circle', { cx: x, cy: y, r: 3.5, fill: color }, s('title', {}, `${points[i].label}: ${points[i].value}`))));
  return h('figure.chart', {}, h('figcaption', {}, h('h2', {}, title)), svg);
}

/** Horizontal proportion bars: items [{label, value}]. */
export function shareChart(title, items) {
  const colors = ['#2457d6', '#16794a', '#a15c00', '#b42318', '#6b3fc9', '#0e7c86', '#5f6b7a'];
  const total = items.reduce((a, b) => a + b.value, 0) || 1;
  const rows = items.map((it, i) => {
    const w = (420 * it.value) / total;
    return s('g', { transform: `translate(0 ${i * 26})` },
      s('text', { x: 0, y: 15 }, it.label),
      s('rect', { x: 110, y: 3, width: Math.max(w, 1), height: 16, rx: 3, fill: colors[i % colors.length] }),
      s('text', { x: 116 + w, y: 15 }, `${it.value}`));
  });
  const svg = s('svg', { viewBox: `0 0 ${W} ${Math.max(26, items.length * 26)}`, role: 'img', 'aria-label': title }, s('title', {}, title), rows);
  return h('figure.chart', {}, h('figcaption', {}, h('h2', {}, title)), items.length ? svg : h('p.muted', {}, 'No calls yet.'));
}
