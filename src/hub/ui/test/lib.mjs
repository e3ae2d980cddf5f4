// Shared helpers of the browser tests: the cluster (bin/diego on
// DIEGO_TARGET), Debian's headless Chromium through playwright-core, and
// waiting on conditions (never fixed sleeps).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with make test-hub (ci/dev/test-hub.sh)`);
  return v;
};

export const HUB = () => env('HUB_URL');
export const target = () => JSON.parse(readFileSync(env('DIEGO_TARGET'), 'utf8'));

/** diego runs bin/diego against the cluster and returns its stdout. */
export function diego(...args) {
  return execFileSync(path.join(env('DIEGO_BIN'), 'diego'), args, { encoding: 'utf8', timeout: 120000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** jsonLines parses a command's JSON output (one object, an array, or one per line). */
export function jsonLines(out) {
  const s = out.trim();
  if (!s) return [];
  try { const v = JSON.parse(s); return Array.isArray(v) ? v : [v]; } catch { /* one per line */ }
  return s.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** run starts a command in the background; the promise resolves with its output. */
export function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}\n${out}`))));
  });
}

/** until polls fn (every 250 ms) until it returns a truthy value, or fails after ms. */
export async function until(what, fn, ms = 90000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try { const v = await fn(); if (v) return v; last = v; } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000}s waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function api(p) {
  const r = await fetch(HUB() + p);
  if (!r.ok) throw new Error(`GET ${p}: ${r.status} ${await r.text()}`);
  return r.json();
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** newPage opens a page that records the page's own errors. */
export async function newPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push('console: ' + m.text()); });
  return page;
}

export async function shot(page, name, fullPage = true) {
  const dir = process.env.HUB_SHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, name + '.png'), fullPage });
}

/** view opens #/path and waits until the view has drawn its data. */
export async function view(page, hash) {
  await page.goto(HUB() + '/#/' + hash);
  await page.waitForSelector('body[data-ready]', { timeout: 30000 });
  await page.waitForFunction(() => !document.getElementById('main').hasAttribute('aria-busy'), null, { timeout: 30000 });
}
