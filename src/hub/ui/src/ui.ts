// Shared pieces: the confirm dialog, the toast, the pager, focus keeping.
import { h, replace, type Child } from './dom';
import { act } from './api';

export interface ConfirmOpts {
  title: string;
  body: Child;
  confirmLabel: string;
  danger?: boolean;
  number?: { label: string; value: number; min: number; max: number };
}

/** confirmDialog resolves to null when cancelled, else the number field's value (or 0). */
export function confirmDialog(o: ConfirmOpts): Promise<number | null> {
  return new Promise((resolve) => {
    const opener = document.activeElement as HTMLElement | null;
    let input: HTMLInputElement | null = null;
    const form = h('form', { method: 'dialog' },
      h('h2', { id: 'dlg-title' }, o.title),
      h('div', { class: 'dlg-body' }, o.body),
      o.number && h('p', null, h('label', { for: 'dlg-number' }, o.number.label + ' '),
        input = h('input', { id: 'dlg-number', name: 'number', type: 'number', required: true,
          min: o.number.min, max: o.number.max, value: o.number.value }) as HTMLInputElement),
      h('div', { class: 'dlg-buttons' },
        h('button', { type: 'button', value: 'cancel', class: 'secondary', onclick: () => dlg.close('cancel') }, 'Cancel'),
        h('button', { type: 'submit', value: 'ok', class: o.danger ? 'danger' : 'primary' }, o.confirmLabel)));
    const dlg = h('dialog', { 'aria-labelledby': 'dlg-title', class: 'dlg' }, form) as HTMLDialogElement;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (input && !input.reportValidity()) return;
      dlg.close('ok');
    });
    dlg.addEventListener('close', () => {
      const ok = dlg.returnValue === 'ok';
      dlg.remove();
      opener?.focus();
      resolve(ok ? (input ? Number(input.value) : 0) : null);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    (input ?? (form.querySelector('button.secondary') as HTMLElement)).focus();
  });
}

let toastTimer = 0;
export function toast(msg: string, error = false): void {
  const t = document.getElementById('toast')!;
  t.className = 'toast show' + (error ? ' error' : '');
  t.textContent = msg;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => { t.className = 'toast'; }, error ? 10000 : 5000);
}

/** action asks for confirmation, POSTs and reports; returns whether it ran. */
export async function action(o: ConfirmOpts, path: string, payload: (n: number) => Record<string, unknown> = () => ({})): Promise<boolean> {
  const n = await confirmDialog(o);
  if (n === null) return false;
  try {
    toast(await act(path, payload(n)));
    return true;
  } catch (e) {
    toast(`${o.title} failed: ${(e as Error).message}`, true);
    return false;
  }
}

/** pager renders previous/next links for a paginated list. */
export function pager(page: number, perPage: number, total: number, go: (p: number) => void, label: string): HTMLElement {
  const pages = Math.max(1, Math.ceil(total / perPage));
  const btn = (text: string, p: number, disabled: boolean) =>
    h('button', { type: 'button', class: 'secondary', disabled, onclick: () => go(p) }, text);
  return h('nav', { class: 'pager', 'aria-label': label + ' pages' },
    btn('‹ Previous', page - 1, page <= 1),
    h('span', null, `Page ${page} of ${pages} · ${total.toLocaleString('en-US')} ${label}`),
    btn('Next ›', page + 1, page >= pages));
}

/** swap replaces a region's content, keeping focus on the element with the same data-key. */
export function swap(region: Element, ...children: Child[]): void {
  const active = document.activeElement as HTMLElement | null;
  const key = active && region.contains(active) ? active.dataset.key : undefined;
  replace(region, ...children);
  if (key) (region.querySelector(`[data-key="${CSS.escape(key)}"]`) as HTMLElement | null)?.focus();
}

export function errorBox(e: unknown): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, (e as Error).message || String(e));
}

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: 'badge state-' + (state || 'unknown').toLowerCase() }, state || '–');
}
