// Tiny DOM helpers: every text goes through textContent (never innerHTML),
// so nothing the API returns can inject markup.

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown> | null | undefined;

function append(parent: Node, c: Child): void {
  if (c === null || c === undefined || c === false) return;
  if (Array.isArray(c)) { c.forEach((x) => append(parent, x)); return; }
  parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
}

function setAttrs(e: Element, attrs: Attrs): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      e.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
    } else if (k === 'value' && 'value' in e) {
      (e as HTMLInputElement).value = String(v);
    } else {
      e.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

/** h builds an HTML element. */
export function h(tag: string, attrs?: Attrs, ...children: Child[]): HTMLElement {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';

/** s builds an SVG element. */
export function s(tag: string, attrs?: Attrs, ...children: Child[]): SVGElement {
  const e = document.createElementNS(SVG, tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

/** replace swaps a node's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export function fmtInt(n: number | undefined | null): string {
  return n === undefined || n === null ? '–' : Math.round(n).toLocaleString('en-US');
}

export function fmtMB(mb: number | undefined): string {
  if (mb === undefined || mb === null) return '–';
  if (mb >= 1024 * 1024) return (mb / 1024 / 1024).toFixed(1) + ' TB';
  if (mb >= 1024) return (mb / 1024).toFixed(1) + ' GB';
  return mb + ' MB';
}

/** age says how long ago an RFC 3339 time was ("3m", "2h", "5d"). */
export function age(t: string | undefined, now = Date.now()): string {
  if (!t) return '–';
  const ms = now - Date.parse(t);
  if (!isFinite(ms)) return '–';
  const sec = Math.max(0, Math.round(ms / 1000));
  if (sec < 60) return sec + 's';
  if (sec < 3600) return Math.floor(sec / 60) + 'm';
  if (sec < 86400) return Math.floor(sec / 3600) + 'h';
  return Math.floor(sec / 86400) + 'd';
}

export function time(t: string | undefined): HTMLElement {
  if (!t) return h('span', null, '–');
  const d = new Date(t);
  return h('time', { datetime: t, title: d.toISOString() }, d.toLocaleTimeString('en-GB'));
}
