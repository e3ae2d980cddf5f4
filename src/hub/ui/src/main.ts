// Diego Hub's UI: hash routing between the views, the live stream from
// /api/stream (views refetch when the hub says their data changed), and the
// summary bar. No polling loop is faster than 5 s.
import './style.css';
import { h, replace, fmtInt } from './dom';
import { get, type TimelineItem } from './api';
import type { Sample } from './charts';
import { cellsView } from './views/cells';
import { appsView, appView } from './views/apps';
import { tasksView } from './views/tasks';
import { systemView } from './views/system';
import { rotationView } from './views/rotation';
import { timelineView } from './views/timeline';

/** A mounted view: refresh refetches its data; watches names the `changed` kinds it shows. */
export interface Mounted {
  watches: string[];
  refresh(): Promise<void>;
  onTimeline?(item: TimelineItem): void;
}
export interface Route { name: string; args: string[]; params: URLSearchParams }
export type ViewFn = (main: HTMLElement, r: Route) => Mounted;

const views: Record<string, ViewFn> = {
  cells: cellsView, apps: appsView, app: appView, tasks: tasksView,
  system: systemView, rotation: rotationView, timeline: timelineView,
};

/** samples of the instance counts, for the instances-over-time chart. */
export const samples: Sample[] = [];

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let name = parts[0] || 'cells';
  let args = parts.slice(1);
  if (name === 'apps' && args.length > 0) name = 'app';
  if (!views[name]) { name = 'cells'; args = []; }
  return { name, args, params: new URLSearchParams(query || '') };
}

/** navigate sets the hash (a new history entry) for a view and its query. */
export function navigate(path: string, params?: Record<string, string | number | undefined>): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== '' && v !== null) q.set(k, String(v));
  const s = q.toString();
  location.hash = '#/' + path + (s ? '?' + s : '');
}

const main = document.getElementById('main')!;
let current: Mounted | null = null;
let currentRoute = '';
let routed = false;

async function route(): Promise<void> {
  const r = parseHash(location.hash);
  const key = r.name + '/' + r.args.join('/');
  const sameView = key === currentRoute;
  currentRoute = key;
  document.querySelectorAll<HTMLAnchorElement>('nav a[data-view]').forEach((a) => {
    const on = a.dataset.view === r.name || (r.name === 'app' && a.dataset.view === 'apps');
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
  if (sameView && current && document.activeElement && main.contains(document.activeElement)) {
    // only the query changed (a filter or a page): remount without stealing focus
    const focusedId = (document.activeElement as HTMLElement).id;
    current = views[r.name](main, r);
    await refresh(current);
    if (focusedId) document.getElementById(focusedId)?.focus();
    return;
  }
  replace(main);
  current = views[r.name](main, r);
  const heading = main.querySelector('h1');
  document.title = (heading?.textContent || 'Diego Hub') + ' · Diego Hub';
  if (routed) main.focus({ preventScroll: true }); // a view change moves focus to it; the first load leaves it at the top
  routed = true;
  await refresh(current);
  if (!document.body.dataset.ready) {
    document.body.dataset.ready = '1';
    performance.mark('hub-first-view');
  }
}

async function refresh(m: Mounted): Promise<void> {
  main.setAttribute('aria-busy', 'true');
  try { await m.refresh(); } finally { main.removeAttribute('aria-busy'); }
}

// --- the summary bar -------------------------------------------------------
const overviewEl = document.getElementById('overview')!;
async function overview(): Promise<void> {
  try {
    const o = await get<any>('/api/overview');
    const i = o.instances || {};
    samples.push({ t: Date.now(), desired: i.desired || 0, running: i.running || 0, crashed: i.crashed || 0 });
    if (samples.length > 720) samples.splice(0, samples.length - 720);
    const stat = (label: string, value: number, cls = '', href = '') =>
      h(href ? 'a' : 'div', { class: 'stat ' + cls, href: href || null },
        h('span', { class: 'stat-value' }, fmtInt(value)), h('span', { class: 'stat-label' }, label));
    const c = o.cells || {}, t = o.tasks || {};
    replace(overviewEl, h('ul', { class: 'stats' },
      h('li', null, stat('cells', c.total, '', '#/cells')),
      h('li', null, stat('missing', c.missing, c.missing ? 'bad' : '', '#/cells')),
      h('li', null, stat('evacuating', c.evacuating, c.evacuating ? 'warn' : '', '#/cells')),
      h('li', null, stat('apps', o.apps, '', '#/apps')),
      h('li', null, stat('desired', i.desired)),
      h('li', null, stat('running', i.running, i.running < i.desired ? 'warn' : 'good')),
      h('li', null, stat('crashed', i.crashed, i.crashed ? 'bad' : '')),
      h('li', null, stat('unclaimed', i.unclaimed, i.unclaimed ? 'warn' : '')),
      h('li', null, stat('tasks running', t.running, '', '#/tasks?state=RUNNING')),
      h('li', null, stat('tasks pending', t.pending, '', '#/tasks?state=PENDING'))));
  } catch (e) {
    replace(overviewEl, h('p', { class: 'error', role: 'alert' }, 'Cannot reach the hub: ' + (e as Error).message));
  }
}

// --- live updates ------------------------------------------------------------
const liveEl = document.getElementById('live')!;
const pending = new Set<string>();
let flushTimer = 0;
let lastFlush = 0;
const MIN_GAP = 2000; // coalesce bursts of BBS events into one refetch per 2 s

function schedule(what: string[]): void {
  what.forEach((w) => pending.add(w));
  if (flushTimer) return;
  flushTimer = window.setTimeout(flush, Math.max(0, lastFlush + MIN_GAP - Date.now()));
}

async function flush(): Promise<void> {
  flushTimer = 0;
  lastFlush = Date.now();
  const what = [...pending];
  pending.clear();
  overview();
  if (current && current.watches.some((w) => what.includes(w))) await current.refresh().catch(() => {});
}

let lastEvent = Date.now();
function connect(): void {
  const es = new EventSource('/api/stream');
  es.onopen = () => { liveEl.textContent = '● live'; liveEl.className = 'live on'; };
  es.onerror = () => { liveEl.textContent = '○ reconnecting…'; liveEl.className = 'live off'; };
  es.addEventListener('changed', (ev) => {
    lastEvent = Date.now();
    try { schedule(JSON.parse((ev as MessageEvent).data).what || []); } catch { /* ignore a bad frame */ }
  });
  es.addEventListener('timeline', (ev) => {
    lastEvent = Date.now();
    try { current?.onTimeline?.(JSON.parse((ev as MessageEvent).data)); } catch { /* ignore */ }
  });
}

// A safety net, not a poll loop: if the stream said nothing for 30 s, refetch.
window.setInterval(() => {
  if (Date.now() - lastEvent > 30000) { lastEvent = Date.now(); schedule(['cells', 'apps', 'tasks', 'system', 'rotation']); }
}, 10000);

window.addEventListener('hashchange', () => { route(); });
if (!location.hash) history.replaceState(null, '', '#/cells');
overview();
route();
connect();
