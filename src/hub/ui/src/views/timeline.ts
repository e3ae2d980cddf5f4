// The event timeline: instances started, crashed, evacuated, cells lost,
// tasks and operator actions, newest first, filterable, live.
import { h, replace, time } from '../dom';
import { get, qs, type Page, type TimelineItem } from '../api';
import { errorBox, swap } from '../ui';
import { navigate, type Mounted, type Route } from '../main';

const KINDS = ['', 'instance_started', 'instance_crashed', 'instance_evacuated', 'instance_removed', 'cell_lost',
  'cell_appeared', 'task_completed', 'task_failed', 'app_scaled', 'action'];
const LIMIT = 200;

export function timelineList(items: TimelineItem[]): HTMLElement {
  if (items.length === 0) return h('p', { class: 'muted' }, 'No events.');
  return h('ol', { class: 'timeline' }, items.map((e) => h('li', { class: 'ev ev-' + e.kind, 'data-kind': e.kind },
    time(e.time), ' ',
    h('span', { class: 'badge kind' }, e.kind.replace(/_/g, ' ')), ' ',
    e.process_guid && h('a', { href: '#/apps/' + encodeURIComponent(e.process_guid) }, e.process_guid + (e.index !== undefined && e.index !== null ? '/' + e.index : '')), ' ',
    e.cell_id && h('span', { class: 'muted' }, 'on ' + e.cell_id), ' ',
    e.task_guid && h('code', null, e.task_guid), ' ',
    h('span', { class: 'msg' }, e.message))));
}

export function timelineView(main: HTMLElement, r: Route): Mounted {
  const f = { kind: r.params.get('kind') || '', process_guid: r.params.get('process_guid') || '',
    cell_id: r.params.get('cell_id') || '', q: r.params.get('q') || '' };
  const kSel = h('select', { id: 'tl-kind' }, KINDS.map((k) => h('option', { value: k }, k ? k.replace(/_/g, ' ') : 'any'))) as HTMLSelectElement;
  kSel.value = f.kind;
  const pIn = h('input', { id: 'tl-app', type: 'text', value: f.process_guid, placeholder: 'any' }) as HTMLInputElement;
  const cIn = h('input', { id: 'tl-cell', type: 'text', value: f.cell_id, placeholder: 'any' }) as HTMLInputElement;
  const qIn = h('input', { id: 'tl-q', type: 'search', value: f.q, placeholder: 'words in the message' }) as HTMLInputElement;
  const list = h('div', { 'aria-live': 'off' }, h('p', { class: 'muted' }, 'Loading events…'));
  let items: TimelineItem[] = [];
  replace(main,
    h('h1', null, 'Event timeline'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e: Event) => { e.preventDefault();
      navigate('timeline', { kind: kSel.value, process_guid: pIn.value.trim(), cell_id: cIn.value.trim(), q: qIn.value.trim() }); } },
      h('label', { for: 'tl-kind' }, 'Kind '), kSel,
      h('label', { for: 'tl-app' }, 'App '), pIn,
      h('label', { for: 'tl-cell' }, 'Cell '), cIn,
      h('label', { for: 'tl-q' }, 'Text '), qIn,
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      (f.kind || f.process_guid || f.cell_id || f.q) && h('a', { href: '#/timeline', class: 'button secondary' }, 'Clear')),
    list);

  const matches = (e: TimelineItem) => (!f.kind || e.kind === f.kind) && (!f.process_guid || e.process_guid === f.process_guid) &&
    (!f.cell_id || e.cell_id === f.cell_id) && (!f.q || (e.message || '').toLowerCase().includes(f.q.toLowerCase()));

  async function refresh(): Promise<void> {
    try {
      const res = await get<Page<TimelineItem>>(`/api/events${qs({ ...f, limit: LIMIT })}`);
      items = res.items || [];
    } catch (e) { swap(list, errorBox(e)); return; }
    swap(list, timelineList(items));
  }
  return {
    watches: [], refresh,
    onTimeline(e) {
      if (!matches(e)) return;
      items = [e, ...items].slice(0, LIMIT);
      swap(list, timelineList(items));
    },
  };
}
