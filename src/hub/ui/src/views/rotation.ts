// Deployments and rotation: the encryption key labels, rows per label, and a
// key rotation's progress.
import { h, replace, fmtInt } from '../dom';
import { get } from '../api';
import { errorBox, swap } from '../ui';
import type { Mounted } from '../main';

export function rotationView(main: HTMLElement): Mounted {
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  replace(main, h('h1', null, 'Encryption keys and rotation'), body);
  async function refresh(): Promise<void> {
    let r: any;
    try { r = await get('/api/rotation'); } catch (e) { swap(body, errorBox(e)); return; }
    const keys: { label: string; rows: number }[] = r.keys || [];
    const total = keys.reduce((n, k) => n + (k.rows || 0), 0);
    const done = r.progress?.done || 0, all = r.progress?.total || 0;
    const pct = all ? Math.round((done / all) * 100) : 0;
    swap(body,
      r.error && h('p', { class: 'error', role: 'alert' }, 'The BBS encryption status could not be read: ' + r.error),
      r.last_error && h('p', { class: 'error' }, 'The last re-encryption failed: ' + r.last_error),
      h('dl', { class: 'facts' }, h('dt', null, 'Active key'), h('dd', { id: 'active-key' }, h('code', null, r.active_key || '–')),
        h('dt', null, 'Rotation'), h('dd', { id: 'rotation-state' }, r.in_progress ? 'in progress' : 'idle')),
      r.in_progress && h('section', { 'aria-labelledby': 'prog-h', class: 'progress-box' },
        h('h2', { id: 'prog-h' }, 'Re-encrypting'),
        h('label', { for: 'rotation-progress' }, `${fmtInt(done)} of ${fmtInt(all)} rows (${pct}%) `),
        h('progress', { id: 'rotation-progress', max: all || 1, value: done }, `${pct}%`)),
      h('section', { 'aria-labelledby': 'keys-h' }, h('h2', { id: 'keys-h' }, 'Rows per key label'),
        keys.length === 0 ? h('p', { class: 'muted' }, 'No keys reported.') :
          h('table', { class: 'keys' },
            h('thead', null, h('tr', null, ['Label', 'Rows', 'Share'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', null, keys.map((k) => h('tr', { 'data-label': k.label, class: k.label === r.active_key ? 'row-active' : '' },
              h('th', { scope: 'row' }, h('code', null, k.label), ' ', k.label === r.active_key && h('span', { class: 'badge state-running' }, 'active')),
              h('td', { class: 'num', 'data-col': 'rows' }, fmtInt(k.rows)),
              h('td', null, h('div', { class: 'bar', role: 'img', 'aria-label': `${total ? Math.round((k.rows / total) * 100) : 0}% of rows` },
                h('span', { class: 'bar-fill', style: `width:${total ? ((k.rows / total) * 100).toFixed(1) : 0}%` }),
                h('span', { class: 'bar-text' }, `${total ? Math.round((k.rows / total) * 100) : 0}%`)))))))));
  }
  return { watches: ['rotation'], refresh };
}
