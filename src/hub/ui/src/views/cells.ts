// Cells by zone: capacity used and free, placement tags, missing and
// evacuating cells highlighted; drain (evacuate) a cell.
import { h, replace, fmtInt, fmtMB } from '../dom';
import { get, qs, type Cell, type Page, type Zone } from '../api';
import { bar, zoneChart } from '../charts';
import { action, errorBox, pager, swap } from '../ui';
import { navigate, type Mounted, type Route } from '../main';

const PER_PAGE = 500;

export function cellsView(main: HTMLElement, r: Route): Mounted {
  const zone = r.params.get('zone') || '';
  const page = Number(r.params.get('page')) || 1;
  const zoneSel = h('select', { id: 'cells-zone', onchange: () => navigate('cells', { zone: zoneSel.value }) },
    h('option', { value: '' }, 'all zones')) as HTMLSelectElement;
  const summary = h('div', { class: 'zones' });
  const list = h('div', null, h('p', { class: 'muted' }, 'Loading cells…'));
  replace(main,
    h('h1', null, 'Cells'),
    h('form', { class: 'filters', onsubmit: (e: Event) => e.preventDefault() },
      h('label', { for: 'cells-zone' }, 'Zone '), zoneSel),
    h('section', { 'aria-labelledby': 'cap-h' }, h('h2', { id: 'cap-h' }, 'Capacity per zone'), summary),
    h('section', { 'aria-labelledby': 'cells-h' }, h('h2', { id: 'cells-h' }, 'Cells'), list));

  async function refresh(): Promise<void> {
    let res: Page<Cell> & { zones: Zone[] };
    try {
      res = await get(`/api/cells${qs({ zone, page, per_page: PER_PAGE })}`);
    } catch (e) { swap(list, errorBox(e)); return; }
    const zones = res.zones || [];
    if (zoneSel.options.length !== zones.length + 1) {
      replace(zoneSel, h('option', { value: '' }, 'all zones'),
        zones.map((z) => h('option', { value: z.zone }, z.zone)));
    }
    zoneSel.value = zone;
    swap(summary,
      zones.length ? zoneChart(zones) : h('p', { class: 'muted' }, 'No cells.'),
      h('div', { class: 'zone-cards' }, zones.map((z) => h('article', { class: 'zone-card', 'aria-label': 'Zone ' + z.zone },
        h('h3', null, z.zone, h('span', { class: 'muted' }, ` · ${fmtInt(z.cells)} cells`)),
        h('dl', null,
          h('dt', null, 'Memory'), h('dd', null, bar(`${z.zone} memory`, z.memory_mb, fmtMB)),
          h('dt', null, 'Disk'), h('dd', null, bar(`${z.zone} disk`, z.disk_mb, fmtMB)),
          h('dt', null, 'Containers'), h('dd', null, bar(`${z.zone} containers`, z.containers, fmtInt)))))));
    const items = res.items || [];
    const byZone = new Map<string, Cell[]>();
    items.forEach((c) => { const k = c.zone || '(no zone)'; byZone.set(k, [...(byZone.get(k) || []), c]); });
    swap(list,
      items.length === 0 && h('p', { class: 'muted' }, 'No cells.'),
      [...byZone.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([z, cells]) => h('div', { class: 'table-wrap' },
        h('table', { class: 'cells' },
          h('caption', null, `Zone ${z}`),
          h('thead', null, h('tr', null, ['Cell', 'Status', 'Memory', 'Disk', 'Containers', 'Instances', 'Placement tags', 'Actions']
            .map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, cells.sort((a, b) => a.cell_id.localeCompare(b.cell_id, 'en', { numeric: true })).map((c) => h('tr', { class: c.missing ? 'row-bad' : c.evacuating ? 'row-warn' : '', 'data-cell': c.cell_id },
            h('th', { scope: 'row' }, h('a', { href: `#/timeline?cell_id=${encodeURIComponent(c.cell_id)}`, title: 'Events of this cell' }, c.cell_id)),
            h('td', null, c.missing ? h('span', { class: 'badge state-missing' }, 'MISSING')
              : c.evacuating ? h('span', { class: 'badge state-evacuating' }, 'EVACUATING')
              : h('span', { class: 'badge state-ok' }, 'OK')),
            h('td', null, bar(`${c.cell_id} memory`, c.memory_mb, fmtMB)),
            h('td', null, bar(`${c.cell_id} disk`, c.disk_mb, fmtMB)),
            h('td', null, bar(`${c.cell_id} containers`, c.containers, fmtInt)),
            h('td', { class: 'num' }, fmtInt(c.instances)),
            h('td', null, tags(c)),
            h('td', null, c.missing ? '' : h('button', { type: 'button', class: 'danger small', 'data-key': 'drain-' + c.cell_id,
              disabled: c.evacuating, 'aria-label': `Drain cell ${c.cell_id}`,
              onclick: () => action({ title: `Drain cell ${c.cell_id}`, confirmLabel: 'Drain', danger: true,
                body: h('p', null, `The cell evacuates: its ${c.instances} instances start on other cells first, then it stops taking work.`) },
                `/api/cells/${encodeURIComponent(c.cell_id)}/drain`).then((ok) => { if (ok) void refresh(); }) }, 'Drain')))))))),
      res.total > PER_PAGE && pager(res.page, PER_PAGE, res.total, (p) => navigate('cells', { zone, page: p }), 'cells'));
  }
  return { watches: ['cells'], refresh };
}

function tags(c: Cell) {
  const req = c.placement_tags || [], opt = c.optional_placement_tags || [];
  if (!req.length && !opt.length) return h('span', { class: 'muted' }, 'none');
  return h('ul', { class: 'tags' },
    req.map((t) => h('li', { class: 'tag' }, t)),
    opt.map((t) => h('li', { class: 'tag optional', title: 'optional placement tag' }, t + ' (optional)')));
}
