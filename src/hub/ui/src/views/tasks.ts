// Tasks: state, cell, result or failure, age; cancel a task.
import { h, replace, age } from '../dom';
import { get, qs, type Page, type Task } from '../api';
import { action, errorBox, pager, stateBadge, swap } from '../ui';
import { navigate, type Mounted, type Route } from '../main';

const PER_PAGE = 50;
const STATES = ['', 'PENDING', 'RUNNING', 'COMPLETED', 'RESOLVING'];

export function tasksView(main: HTMLElement, r: Route): Mounted {
  const state = r.params.get('state') || '', domain = r.params.get('domain') || '';
  const page = Number(r.params.get('page')) || 1;
  const sSel = h('select', { id: 'tasks-state' }, STATES.map((s) => h('option', { value: s }, s || 'any'))) as HTMLSelectElement;
  sSel.value = state;
  const dIn = h('input', { id: 'tasks-domain', type: 'text', value: domain, placeholder: 'any' }) as HTMLInputElement;
  const list = h('div', null, h('p', { class: 'muted' }, 'Loading tasks…'));
  replace(main,
    h('h1', null, 'Tasks'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e: Event) => { e.preventDefault(); navigate('tasks', { state: sSel.value, domain: dIn.value.trim() }); } },
      h('label', { for: 'tasks-state' }, 'State '), sSel,
      h('label', { for: 'tasks-domain' }, 'Domain '), dIn,
      h('button', { type: 'submit', class: 'primary' }, 'Apply')),
    list);

  async function refresh(): Promise<void> {
    let res: Page<Task>;
    try { res = await get(`/api/tasks${qs({ state, domain, page, per_page: PER_PAGE })}`); } catch (e) { swap(list, errorBox(e)); return; }
    const items = res.items || [];
    const now = Date.now();
    swap(list, items.length === 0 ? h('p', { class: 'muted' }, 'No tasks.') :
      h('div', { class: 'table-wrap' }, h('table', { class: 'tasks' },
        h('thead', null, h('tr', null, ['Task', 'Domain', 'State', 'Cell', 'Result or failure', 'Age', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, items.map((t) => h('tr', { class: t.failed ? 'row-bad' : '', 'data-task': t.task_guid },
          h('th', { scope: 'row' }, h('code', null, t.task_guid)),
          h('td', null, t.domain),
          h('td', null, stateBadge(t.state), t.failed && h('span', { class: 'badge state-crashed' }, 'failed')),
          h('td', null, t.cell_id || '–'),
          h('td', { class: 'result' }, t.failed ? t.failure_reason : (t.result || '')),
          h('td', null, h('span', { title: t.created_at }, age(t.created_at, now))),
          h('td', null, (t.state === 'PENDING' || t.state === 'RUNNING') && h('button', { type: 'button', class: 'danger small',
            'data-key': 'cancel-' + t.task_guid, 'aria-label': `Cancel task ${t.task_guid}`,
            onclick: () => action({ title: `Cancel task ${t.task_guid}`, confirmLabel: 'Cancel the task', danger: true,
              body: h('p', null, 'The task stops and completes as failed ("task was cancelled").') },
              `/api/tasks/${encodeURIComponent(t.task_guid)}/cancel`).then((ok) => { if (ok) void refresh(); }) }, 'Cancel'))))))),
      pager(res.page || page, PER_PAGE, res.total || 0, (p) => navigate('tasks', { state, domain, page: p }), 'tasks'));
  }
  return { watches: ['tasks'], refresh };
}
