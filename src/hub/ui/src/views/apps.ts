// Apps (desired LRPs): desired vs running vs crashed, filter and pages; one
// app's page with its instances, routes, events, logs tail and health.
import { h, replace, fmtInt, fmtMB, age } from '../dom';
import { get, qs, APIError, type AppRow, type Instance, type Page, type TimelineItem } from '../api';
import { lineChart } from '../charts';
import { action, errorBox, pager, stateBadge, swap } from '../ui';
import { navigate, samples, type Mounted, type Route } from '../main';
import { timelineList } from './timeline';

const PER_PAGE = 50;

function health(a: AppRow): HTMLElement {
  if (a.crashed > 0) return h('span', { class: 'badge state-crashed' }, 'crashing');
  if (a.running < a.instances) return h('span', { class: 'badge state-starting' }, 'degraded');
  return h('span', { class: 'badge state-running' }, 'healthy');
}

export function appsView(main: HTMLElement, r: Route): Mounted {
  const p = r.params;
  const page = Number(p.get('page')) || 1;
  const q = p.get('q') || '', domain = p.get('domain') || '';
  const qIn = h('input', { id: 'apps-q', type: 'search', value: q, placeholder: 'process guid or route' }) as HTMLInputElement;
  const dIn = h('input', { id: 'apps-domain', type: 'text', value: domain, placeholder: 'any' }) as HTMLInputElement;
  const chart = h('div');
  const list = h('div', null, h('p', { class: 'muted' }, 'Loading apps…'));
  replace(main,
    h('h1', null, 'Apps'),
    h('section', { 'aria-labelledby': 'inst-h' }, h('h2', { id: 'inst-h' }, 'Instances over time'), chart),
    h('form', { class: 'filters', role: 'search', onsubmit: (e: Event) => { e.preventDefault(); navigate('apps', { q: qIn.value.trim(), domain: dIn.value.trim() }); } },
      h('label', { for: 'apps-q' }, 'Filter '), qIn,
      h('label', { for: 'apps-domain' }, 'Domain '), dIn,
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      (q || domain) && h('a', { href: '#/apps', class: 'button secondary' }, 'Clear')),
    h('section', { 'aria-labelledby': 'apps-h' }, h('h2', { id: 'apps-h', class: 'sr-only' }, 'App list'), list));

  async function refresh(): Promise<void> {
    swap(chart, lineChart(samples), h('p', { class: 'muted small' }, `${samples.length} sample${samples.length === 1 ? '' : 's'} since this page opened (one per update from the hub).`));
    let res: Page<AppRow>;
    try { res = await get(`/api/apps${qs({ q, domain, page, per_page: PER_PAGE })}`); } catch (e) { swap(list, errorBox(e)); return; }
    const items = res.items || [];
    swap(list, items.length === 0 ? h('p', { class: 'muted' }, q || domain ? 'No app matches the filter.' : 'No apps are desired.') :
      h('div', { class: 'table-wrap' }, h('table', { class: 'apps' },
        h('thead', null, h('tr', null, ['App', 'Domain', 'Health', 'Desired', 'Running', 'Crashed', 'Starting', 'Unclaimed', 'Routes', 'Memory']
          .map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, items.map((a) => h('tr', { class: a.crashed ? 'row-bad' : a.running < a.instances ? 'row-warn' : '', 'data-app': a.process_guid },
          h('th', { scope: 'row' }, h('a', { href: '#/apps/' + encodeURIComponent(a.process_guid) }, a.process_guid)),
          h('td', null, a.domain),
          h('td', null, health(a)),
          h('td', { class: 'num', 'data-col': 'desired' }, fmtInt(a.instances)),
          h('td', { class: 'num', 'data-col': 'running' }, fmtInt(a.running)),
          h('td', { class: 'num', 'data-col': 'crashed' }, fmtInt(a.crashed)),
          h('td', { class: 'num' }, fmtInt(a.starting)),
          h('td', { class: 'num' }, fmtInt(a.unclaimed)),
          h('td', null, (a.routes || []).join(', ') || h('span', { class: 'muted' }, 'none')),
          h('td', { class: 'num' }, fmtMB(a.memory_mb))))))),
      pager(res.page || page, PER_PAGE, res.total || 0, (pg) => navigate('apps', { q, domain, page: pg }), 'apps'));
  }
  return { watches: ['apps'], refresh };
}

export function appView(main: HTMLElement, r: Route): Mounted {
  const guid = r.args[0];
  const base = '/api/apps/' + encodeURIComponent(guid);
  const head = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const inst = h('div');
  const events = h('div');
  const logIdx = h('select', { id: 'log-index' }) as HTMLSelectElement;
  const logs = h('pre', { class: 'logs', tabindex: 0, 'aria-label': 'Log lines' });
  const logNote = h('p', { class: 'muted small', role: 'status' });
  let eventItems: TimelineItem[] = [];
  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/apps' }, '‹ Apps')),
    h('h1', null, 'App ', h('code', null, guid)),
    head,
    h('section', { 'aria-labelledby': 'inst-h' }, h('h2', { id: 'inst-h' }, 'Instances'), inst),
    h('section', { 'aria-labelledby': 'logs-h' }, h('h2', { id: 'logs-h' }, 'Logs (tail)'),
      h('form', { class: 'filters', onsubmit: (e: Event) => { e.preventDefault(); loadLogs(); } },
        h('label', { for: 'log-index' }, 'Instance '), logIdx,
        h('button', { type: 'submit', class: 'secondary' }, 'Show the last 200 lines')),
      logNote, logs),
    h('section', { 'aria-labelledby': 'ev-h' }, h('h2', { id: 'ev-h' }, 'Recent events'), events));

  async function loadLogs(): Promise<void> {
    const index = logIdx.value || '0';
    try {
      const res = await get<{ lines: string[] }>(`${base}/logs${qs({ index, lines: 200 })}`);
      logs.textContent = (res.lines || []).join('\n') || '(no output yet)';
      logNote.textContent = `Instance ${index}: ${res.lines?.length || 0} lines.`;
      logs.scrollTop = logs.scrollHeight;
    } catch (e) {
      logs.textContent = '';
      logNote.textContent = `No logs: ${(e as Error).message}`;
    }
  }

  let first = true;
  async function refresh(): Promise<void> {
    let res: { app: AppRow; instances: Instance[]; events: TimelineItem[] };
    try { res = await get(base); } catch (e) {
      swap(head, (e instanceof APIError && e.status === 404) ? h('p', { class: 'error', role: 'alert' }, `No app ${guid}: it is not desired (any more).`) : errorBox(e));
      return;
    }
    const a = res.app, list = res.instances || [];
    swap(head, h('div', { class: 'app-head' },
      h('dl', { class: 'facts' },
        h('dt', null, 'Health'), h('dd', null, health(a)),
        h('dt', null, 'Domain'), h('dd', null, a.domain),
        h('dt', null, 'Desired'), h('dd', { id: 'app-desired' }, fmtInt(a.instances)),
        h('dt', null, 'Running'), h('dd', { id: 'app-running' }, fmtInt(a.running)),
        h('dt', null, 'Crashed'), h('dd', null, fmtInt(a.crashed)),
        h('dt', null, 'Memory / disk'), h('dd', null, `${fmtMB(a.memory_mb)} / ${fmtMB(a.disk_mb)} each`),
        h('dt', null, 'Routes'), h('dd', null, (a.routes || []).length ? h('ul', { class: 'tags' }, (a.routes || []).map((x) => h('li', { class: 'tag' }, x))) : 'none')),
      h('button', { type: 'button', class: 'primary', id: 'scale', 'data-key': 'scale',
        onclick: () => action({ title: `Scale ${guid}`, confirmLabel: 'Scale', body: h('p', null, `Now ${a.instances} desired, ${a.running} running.`),
          number: { label: 'Instances', value: a.instances, min: 0, max: 10000 } },
          `${base}/scale`, (n) => ({ instances: n })).then((ok) => { if (ok) void refresh(); }) }, 'Scale…')));
    swap(inst, list.length === 0 ? h('p', { class: 'muted' }, 'No instances.') :
      h('div', { class: 'table-wrap' }, h('table', { class: 'instances' },
        h('thead', null, h('tr', null, ['Index', 'State', 'Cell', 'Address', 'Ports', 'Crashes', 'Crash reason', 'Since', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, list.map((i) => h('tr', { class: i.state === 'CRASHED' ? 'row-bad' : i.evacuating ? 'row-warn' : '', 'data-index': i.index, 'data-state': i.state, 'data-cell': i.cell_id },
          h('th', { scope: 'row' }, String(i.index)),
          h('td', null, stateBadge(i.state), i.evacuating && h('span', { class: 'badge state-evacuating' }, 'evacuating')),
          h('td', null, i.cell_id ? h('a', { href: '#/cells' }, i.cell_id) : h('span', { class: 'muted' }, i.placement_error || 'unplaced')),
          h('td', null, i.address || '–'),
          h('td', null, (i.ports || []).map((p) => `${p.container_port}→${p.host_port}`).join(', ') || '–'),
          h('td', { class: 'num' }, fmtInt(i.crash_count)),
          h('td', null, i.crash_reason || i.placement_error || ''),
          h('td', null, i.since ? h('span', { title: i.since }, age(i.since) + ' ago') : '–'),
          h('td', null, h('button', { type: 'button', class: 'danger small', 'data-key': `retire-${i.index}-${i.instance_guid}`,
            'aria-label': `Retire instance ${i.index}`,
            onclick: () => action({ title: `Retire instance ${i.index} of ${guid}`, confirmLabel: 'Retire', danger: true,
              body: h('p', null, `Instance ${i.index} on ${i.cell_id || 'no cell'} stops; the BBS starts a replacement while the app still wants ${a.instances}.`) },
              `${base}/instances/${i.index}/retire`).then((ok) => { if (ok) void refresh(); }) }, 'Retire'))))))));
    const indices = [...new Set(list.map((i) => i.index))].sort((x, y) => x - y);
    if (logIdx.options.length !== indices.length) {
      const keep = logIdx.value;
      replace(logIdx, indices.map((i) => h('option', { value: i }, String(i))));
      if (keep) logIdx.value = keep;
    }
    eventItems = res.events || [];
    swap(events, timelineList(eventItems.slice(0, 50)));
    if (first) { first = false; if (indices.length) loadLogs(); }
  }

  return {
    watches: ['apps'], refresh,
    onTimeline(item) {
      if (item.process_guid !== guid) return;
      eventItems = [item, ...eventItems].slice(0, 50);
      swap(events, timelineList(eventItems));
    },
  };
}

