// Small inline SVG charts: no chart library.
import { h, s } from './dom';
import type { Res, Zone } from './api';

function pct(r: Res | undefined): number {
  if (!r || !r.total) return 0;
  return Math.max(0, Math.min(100, (r.used / r.total) * 100));
}

/** bar is a used/free meter with its figures as text (not colour alone). */
export function bar(label: string, r: Res | undefined, fmt: (n: number) => string = String): HTMLElement {
  const p = pct(r);
  const used = r ? r.used : 0, total = r ? r.total : 0;
  const text = `${label}: ${fmt(used)} used of ${fmt(total)}, ${fmt(Math.max(0, total - used))} free`;
  return h('div', { class: 'bar' + (p >= 90 ? ' hot' : ''), role: 'meter', 'aria-label': label,
    'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': used, 'aria-valuetext': text, title: text },
    h('span', { class: 'bar-fill', style: `width:${p.toFixed(1)}%` }),
    h('span', { class: 'bar-text' }, `${fmt(used)} / ${fmt(total)}`));
}

const KINDS: [keyof Zone, string, string][] = [
  ['memory_mb', 'memory', '#1f5fa8'], ['disk_mb', 'disk', '#7a4fb0'], ['containers', 'containers', '#1b7f5a'],
];

/** zoneChart: used percentage of memory, disk and containers per zone. */
export function zoneChart(zones: Zone[]): Element {
  const rowH = 18, gap = 14, labelW = 70, valueW = 130, w = 560;
  const height = zones.length * (rowH * 3 + gap);
  const svg = s('svg', { viewBox: `0 0 ${w} ${height}`, width: '100%', role: 'img', class: 'chart',
    'aria-label': 'Capacity used per zone: ' + zones.map((z) =>
      `${z.zone} memory ${pct(z.memory_mb).toFixed(0)}%, disk ${pct(z.disk_mb).toFixed(0)}%, containers ${pct(z.containers).toFixed(0)}%`).join('; ') });
  let y = 4;
  for (const z of zones) {
    svg.appendChild(s('text', { x: 0, y: y + rowH * 1.5 + 4, class: 'chart-label' }, z.zone));
    KINDS.forEach(([k, name, colour], i) => {
      const p = pct(z[k] as Res);
      const bw = ((w - labelW - valueW) * p) / 100;
      svg.appendChild(s('rect', { x: labelW, y: y + i * rowH, width: w - labelW - valueW, height: rowH - 4, class: 'chart-track' }));
      svg.appendChild(s('rect', { x: labelW, y: y + i * rowH, width: bw, height: rowH - 4, fill: colour }));
      svg.appendChild(s('text', { x: w - valueW + 6, y: y + i * rowH + rowH - 7, class: 'chart-value' }, `${name} ${p.toFixed(0)}%`));
    });
    y += rowH * 3 + gap;
  }
  return svg;
}

export interface Sample { t: number; desired: number; running: number; crashed: number }

/** lineChart: desired, running and crashed instances over time (samples the page took). */
export function lineChart(samples: Sample[]): Element {
  const w = 520, hgt = 120, padL = 40, padB = 18;
  const series: [keyof Sample, string, string][] = [
    ['desired', 'desired', '#555'], ['running', 'running', '#1b7f5a'], ['crashed', 'crashed', '#b3261e'],
  ];
  const last = samples[samples.length - 1];
  const svg = s('svg', { viewBox: `0 0 ${w} ${hgt}`, width: '100%', role: 'img', class: 'chart',
    'aria-label': last ? `Instances over time; now ${last.running} running, ${last.crashed} crashed of ${last.desired} desired` : 'Instances over time: no samples yet' });
  if (samples.length === 0) return svg;
  const t0 = samples[0].t, t1 = Math.max(last.t, t0 + 1);
  const max = Math.max(1, ...samples.map((x) => Math.max(x.desired, x.running, x.crashed)));
  const X = (t: number) => padL + ((t - t0) / (t1 - t0)) * (w - padL - 8);
  const Y = (v: number) => 6 + (1 - v / max) * (hgt - padB - 6);
  svg.appendChild(s('line', { x1: padL, y1: Y(0), x2: w - 8, y2: Y(0), class: 'chart-axis' }));
  svg.appendChild(s('text', { x: padL - 4, y: Y(max) + 8, class: 'chart-value', 'text-anchor': 'end' }, String(max)));
  svg.appendChild(s('text', { x: padL - 4, y: Y(0), class: 'chart-value', 'text-anchor': 'end' }, '0'));
  for (const [k, , colour] of series) {
    let d = '';
    samples.forEach((p, i) => { // steps: a value holds until the next sample
      const x = X(p.t), y = Y(p[k] as number);
      d += i === 0 ? `M${x},${y}` : `H${x}V${y}`;
    });
    d += `H${X(t1)}`;
    svg.appendChild(s('path', { d, fill: 'none', stroke: colour, 'stroke-width': 2 }));
  }
  const legend = s('g', null);
  series.forEach(([, name, colour], i) => {
    legend.appendChild(s('rect', { x: padL + i * 90, y: hgt - 12, width: 10, height: 10, fill: colour }));
    legend.appendChild(s('text', { x: padL + 14 + i * 90, y: hgt - 3, class: 'chart-value' }, name));
  });
  svg.appendChild(legend);
  return svg;
}
