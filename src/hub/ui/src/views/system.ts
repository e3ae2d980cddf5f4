// The system: lock holders, presences, and each component's health and
// figures from its Prometheus metrics.
import { h, replace, fmtInt, time } from '../dom';
import { get } from '../api';
import { errorBox, swap } from '../ui';
import type { Mounted } from '../main';

const NAMES: Record<string, string> = {
  convergence_seconds_mean: 'Convergence pass (mean)',
  auction_round_seconds_mean: 'Auction round (mean)',
  convergence_seconds_p50: 'Convergence (p50)',
  auction_round_seconds_p50: 'Auction round (p50)',
  requests_per_second: 'Requests per second',
};

function metric(k: string, v: number): string {
  if (typeof v !== 'number') return String(v);
  if (k.endsWith('_seconds') || k.includes('_seconds_')) return v < 1 ? (v * 1000).toFixed(1) + ' ms' : v.toFixed(2) + ' s';
  return Number.isInteger(v) ? fmtInt(v) : v.toFixed(2);
}

export function systemView(main: HTMLElement): Mounted {
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  replace(main, h('h1', null, 'System'), body);
  async function refresh(): Promise<void> {
    let s: any;
    try { s = await get('/api/system'); } catch (e) { swap(body, errorBox(e)); return; }
    const locks: any[] = s.locks || [], comps: any[] = s.components || [];
    swap(body,
      h('p', null, 'Updated ', time(s.updated_at), ` · ${fmtInt(s.presences)} cell presences in Locket`),
      h('section', { 'aria-labelledby': 'locks-h' }, h('h2', { id: 'locks-h' }, 'Locks'),
        locks.length === 0 ? h('p', { class: 'warn-text' }, 'No lock is held: no BBS or auctioneer is active.') :
          h('table', { class: 'locks' },
            h('thead', null, h('tr', null, ['Lock', 'Holder', 'Type'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', null, locks.map((l) => h('tr', null, h('th', { scope: 'row' }, l.key), h('td', null, h('code', null, l.owner)), h('td', null, l.type)))))),
      h('section', { 'aria-labelledby': 'comp-h' }, h('h2', { id: 'comp-h' }, 'Components'),
        h('div', { class: 'zone-cards' }, comps.map((c) => h('article', { class: 'zone-card', 'aria-label': 'Component ' + c.name },
          h('h3', null, c.name, ' ', c.healthy ? h('span', { class: 'badge state-running' }, 'healthy') : h('span', { class: 'badge state-crashed' }, 'unhealthy')),
          c.error && h('p', { class: 'error' }, c.error),
          Object.keys(c.metrics || {}).length === 0 ? h('p', { class: 'muted' }, 'No metrics (no metrics URL configured).') :
            h('dl', { class: 'facts' }, Object.entries(c.metrics || {}).sort(([a], [b]) => (NAMES[b] ? 1 : 0) - (NAMES[a] ? 1 : 0) || a.localeCompare(b))
              .map(([k, v]) => [h('dt', null, NAMES[k] || k.replace(/_/g, ' ')), h('dd', null, metric(k, v as number))])))))));
  }
  return { watches: ['system'], refresh };
}
