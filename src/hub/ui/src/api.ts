// The hub's JSON API (docs/hub-api.md): GETs, and the confirmed actions.

export class APIError extends Error {
  constructor(message: string, public status: number) { super(message); }
}

async function body(r: Response): Promise<any> {
  const text = await r.text();
  try { return JSON.parse(text); } catch { return { error: text || r.statusText }; }
}

export async function get<T = any>(path: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(path, { headers: { Accept: 'application/json' }, signal });
  const b = await body(r);
  if (!r.ok) throw new APIError(b.error || `${r.status} ${r.statusText}`, r.status);
  return b as T;
}

/** act POSTs a confirmed action; the header is the hub's CSRF guard. */
export async function act(path: string, payload: Record<string, unknown> = {}): Promise<string> {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Hub-Action': '1', Accept: 'application/json' },
    body: JSON.stringify({ ...payload, confirm: true }),
  });
  const b = await body(r);
  if (!r.ok || b.ok === false) throw new APIError(b.error || `${r.status} ${r.statusText}`, r.status);
  return b.message || 'done';
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? '?' + s : '';
}

export interface Page<T> { items: T[]; page: number; per_page: number; total: number }
export interface Res { total: number; used: number }
export interface Zone { zone: string; cells: number; memory_mb: Res; disk_mb: Res; containers: Res }
export interface Cell {
  cell_id: string; zone: string; rep_url: string; memory_mb: Res; disk_mb: Res; containers: Res;
  placement_tags: string[] | null; optional_placement_tags: string[] | null;
  evacuating: boolean; missing: boolean; instances: number;
}
export interface AppRow {
  process_guid: string; domain: string; instances: number; running: number; crashed: number;
  starting: number; unclaimed: number; routes: string[] | null; memory_mb: number; disk_mb: number;
}
export interface Instance {
  index: number; instance_guid: string; state: string; cell_id: string; address: string;
  ports: { container_port: number; host_port: number }[] | null; crash_count: number;
  crash_reason: string; since: string; placement_error: string; evacuating: boolean;
}
export interface TimelineItem {
  time: string; kind: string; process_guid?: string; index?: number; cell_id?: string;
  task_guid?: string; message: string;
}
export interface Task {
  task_guid: string; domain: string; state: string; cell_id: string; failed: boolean;
  failure_reason: string; result: string; created_at: string; updated_at: string;
}
