// make bench-hub: the hub's first paint in Debian's headless Chromium against a
// cluster of many instances (ci/dev/test-hub.sh bench starts `diego bench
// scale` with 10,000 simulated instances and the hub on it). Prints, per view,
// the median of 5 cold loads: first contentful paint, and the first view drawn
// with its data (the UI's 'hub-first-view' mark). A figure, not a test.
import { HUB, api, launch, until } from './lib.mjs';

const want = Number(process.env.HUB_BENCH_INSTANCES || 10000);
await until(`${want} running instances in the hub`, async () => (await api('/api/overview')).instances.running >= want, 900000);
const o = await api('/api/overview');
const browser = await launch();
const views = ['cells', 'apps', 'tasks', 'timeline'];
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`hub ${HUB()}: ${o.cells.total} cells, ${o.apps} apps, ${o.instances.running} running instances`);
for (const v of views) {
  const fcp = [], ready = [], load = [];
  for (let i = 0; i < 5; i++) {
    const ctx = await browser.newContext(); // cold: no cache
    const page = await ctx.newPage();
    const t0 = Date.now();
    await page.goto(`${HUB()}/#/${v}`);
    await page.waitForSelector('body[data-ready]', { timeout: 60000 });
    load.push(Date.now() - t0);
    const m = await page.evaluate(() => ({
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
      view: performance.getEntriesByName('hub-first-view')[0]?.startTime,
    }));
    fcp.push(m.fcp); ready.push(m.view);
    await ctx.close();
  }
  console.log(`${v.padEnd(9)} first contentful paint ${median(fcp).toFixed(0)} ms, first view with data ${median(ready).toFixed(0)} ms (median of 5; max ${Math.max(...ready).toFixed(0)} ms)`);
}
await browser.close();
