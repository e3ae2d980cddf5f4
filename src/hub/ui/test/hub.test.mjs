// Diego Hub in a real browser (Debian's headless Chromium) against diego up:
// every view renders, a scale action changes the instance count in the BBS,
// a real key rotation shows its progress part way and moves the rows to the
// new key, a killed cell shows as
// missing and its instances run elsewhere. Run by make test-hub.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { diego, jsonLines, target, until, api, launch, newPage, shot, view, run, env, HUB } from './lib.mjs';
import path from 'node:path';

const APP = 'hub-web';
const ROTATION_TASKS = 24; // rows for the rotation test to re-encrypt
let browser, page;

function running(guid) {
  return jsonLines(diego('actual-lrps', '--process-guid', guid)).filter((a) => a.state === 'RUNNING');
}

before(async () => {
  const bin = env('DIEGO_BIN');
  if (!jsonLines(diego('desired-lrps')).some((d) => d.process_guid === APP)) {
    diego('run', APP, '--instances', '3', '--port', '8080', '--route', APP + '.diego.local', '--timeout', '90s', '--', path.join(bin, 'sample-app'));
  }
  for (let i = 0; i < 12; i++) {
    const spec = { task_guid: `hub-task-${i}`, domain: 'hub-test', rootfs: 'preloaded:cflinuxfs4', result_file: '/r',
      action: { run: { path: '/bin/sh', args: ['-c', i % 4 === 3 ? 'exit 3' : `echo ${i * 7} > r`], user: 'vcap' } } };
    diego('create-task', JSON.stringify(spec));
  }
  await until('3 RUNNING instances of ' + APP, () => running(APP).length === 3);
  browser = await launch();
  page = await newPage(browser);
});

after(async () => { await browser?.close(); });

test('every view renders with the cluster\'s data', async () => {
  const t = target();
  await view(page, 'cells');
  await page.waitForFunction((n) => document.querySelectorAll('tr[data-cell]').length === n, t.cells.length, { timeout: 30000 });
  for (const c of t.cells) await page.locator(`tr[data-cell="${c.cell_id}"] .state-ok`).waitFor({ timeout: 60000 });
  // the zones' capacity comes with the hub's first poll of the cells (the page refetches on its change event)
  await page.locator('svg.chart[aria-label^="Capacity used per zone"]').waitFor({ timeout: 60000 });
  // and each cell's containers in use (an instance each) with the next poll of the reps
  await page.waitForFunction((n) => [...document.querySelectorAll('tr[data-cell] [role="meter"][aria-label$=" containers"]')]
    .filter((m) => Number(m.getAttribute('aria-valuenow')) >= 1).length === n, t.cells.length, { timeout: 60000 });
  await shot(page, 'cells');

  await view(page, 'apps');
  await page.locator(`tr[data-app="${APP}"] td[data-col="running"]`).filter({ hasText: '3' }).waitFor({ timeout: 60000 });
  await shot(page, 'apps');
  await page.getByLabel('Filter', { exact: true }).fill('no-such-app');
  await page.getByLabel('Filter', { exact: true }).press('Enter');
  await page.getByText('No app matches the filter.').waitFor({ timeout: 30000 });
  await page.getByLabel('Filter', { exact: true }).fill(APP);
  await page.getByLabel('Domain', { exact: true }).fill('diego');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator(`tr[data-app="${APP}"]`).waitFor({ timeout: 30000 });

  await view(page, 'apps/' + APP);
  await page.waitForFunction(() => document.querySelectorAll('tr[data-state="RUNNING"]').length === 3, null, { timeout: 60000 });
  await page.locator('pre.logs').filter({ hasText: /\S/ }).waitFor({ timeout: 30000 });
  await shot(page, 'app');

  await until('the 12 tasks to be done', async () => (await api('/api/tasks?domain=hub-test&state=COMPLETED')).total === 12, 120000);
  await view(page, 'tasks?domain=hub-test');
  await page.waitForFunction(() => document.querySelectorAll('tr[data-task]').length === 12, null, { timeout: 30000 });
  assert.equal(await page.locator('tr[data-task="hub-task-1"] td.result').innerText(), '7');
  assert.match(await page.locator('tr[data-task="hub-task-3"] td.result').innerText(), /\S/, 'a failed task shows its failure reason');
  await shot(page, 'tasks');

  await view(page, 'system');
  await page.locator('table.locks th', { hasText: 'bbs' }).waitFor({ timeout: 60000 });
  // the figures from the components' Prometheus endpoints (diego up gives the hub their URLs);
  // request rates come with the hub's second scrape
  for (const [comp, figure] of [['bbs', 'Convergence pass (mean)'], ['auctioneer', 'Auction round (mean)'], ['bbs', 'Requests per second'], ['locket', 'Requests per second']]) {
    await page.locator(`article[aria-label="Component ${comp}"] dt`, { hasText: figure }).waitFor({ timeout: 60000 });
  }
  assert.match(await page.locator('article[aria-label="Component auctioneer"] dd').first().innerText(), /^\d+(\.\d+)? (ms|s)$/);
  await shot(page, 'system');

  await view(page, 'rotation');
  await page.locator('#active-key code').filter({ hasText: /\S/ }).waitFor({ timeout: 60000 });
  await shot(page, 'rotation');

  await view(page, 'timeline');
  await page.locator('ol.timeline li').first().waitFor({ timeout: 60000 });
  await shot(page, 'timeline');
  assert.deepEqual(page.errors, [], 'no errors in the page');
});

test('the keyboard reaches the views and the dialog', async () => {
  await view(page, 'cells');
  await page.reload();
  await page.waitForSelector('body[data-ready]');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), '#/cells');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash === '#/apps');
  // a drain dialog, cancelled with Escape: nothing happens
  await view(page, 'cells');
  await page.getByRole('button', { name: /^Drain cell/ }).first().click();
  await page.getByRole('dialog').waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  assert.equal((await api('/api/overview')).cells.evacuating, 0);
});

test('scaling an app in the UI changes its instances in the BBS', async () => {
  await view(page, 'apps/' + APP);
  await page.getByRole('button', { name: 'Scale…' }).click();
  const input = page.getByRole('spinbutton', { name: 'Instances' });
  await input.fill('5');
  await shot(page, 'scale-dialog', false);
  await page.getByRole('dialog').getByRole('button', { name: 'Scale', exact: true }).click();
  await page.locator('#app-desired').filter({ hasText: /^5$/ }).waitFor({ timeout: 30000 });
  await page.waitForFunction(() => document.querySelectorAll('tr[data-state="RUNNING"]').length === 5, null, { timeout: 90000 });
  const d = jsonLines(diego('desired-lrp', APP))[0];
  assert.equal(d.instances, 5, 'the BBS desires 5');
  await until('5 RUNNING in the BBS', () => running(APP).length === 5);
  const ev = await api(`/api/events?kind=action&process_guid=${APP}`);
  assert.ok(ev.items.length > 0, 'the action is on the timeline');
});

test('retiring an instance in the UI replaces it', async () => {
  await view(page, 'apps/' + APP);
  const button = page.locator('tr[data-index="0"] button', { hasText: 'Retire' });
  const key = await button.getAttribute('data-key');
  await button.click();
  await page.getByRole('dialog').getByRole('button', { name: 'Retire', exact: true }).click();
  await page.waitForFunction((k) => !document.querySelector(`[data-key="${k}"]`) &&
    document.querySelector('tr[data-index="0"][data-state="RUNNING"]'), key, { timeout: 180000 });
  await until('5 RUNNING in the BBS after the retire', () => running(APP).length === 5, 180000);
});

test('cancelling a task in the UI fails it', async () => {
  diego('create-task', JSON.stringify({ task_guid: 'hub-long', domain: 'hub-cancel', rootfs: 'preloaded:cflinuxfs4',
    action: { run: { path: '/bin/sh', args: ['-c', 'sleep 600'], user: 'vcap' } } }));
  await view(page, 'tasks?domain=hub-cancel');
  const button = page.getByRole('button', { name: 'Cancel task hub-long' });
  await button.waitFor({ timeout: 60000 });
  await button.click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel the task' }).click();
  await page.locator('tr[data-task="hub-long"] .badge', { hasText: 'failed' }).waitFor({ timeout: 60000 });
  assert.match(await page.locator('tr[data-task="hub-long"] td.result').innerText(), /cancel/i);
  await shot(page, 'tasks-cancelled');
});

test('a key rotation shows its progress and moves the rows to the new key', async () => {
  // make test-hub paces the BBS's re-encryption (diego up --reencrypt-batch-size 2
  // --reencrypt-batch-pause 1.5s): with these rows too (completed tasks stay 2 min)
  // the rotation lasts several of the hub's 5 s polls of the BBS, so the page,
  // with nothing faked, shows it part way.
  for (let i = 0; i < ROTATION_TASKS; i++) {
    diego('create-task', JSON.stringify({ task_guid: `hub-rot-${i}`, domain: 'hub-rotation', rootfs: 'preloaded:cflinuxfs4',
      action: { run: { path: '/bin/sh', args: ['-c', 'true'], user: 'vcap' } } }));
  }
  await until(`the ${ROTATION_TASKS} rotation tasks to be done`,
    async () => (await api('/api/tasks?domain=hub-rotation&state=COMPLETED')).total === ROTATION_TASKS, 120000);
  const before = await api('/api/rotation');
  assert.ok(before.active_key, 'an active key: ' + JSON.stringify(before));
  assert.equal(before.in_progress, false, 'no rotation runs yet');
  await view(page, 'rotation');
  const t = target();
  const dir = env('DIEGO_DIR');
  const rotation = run(path.join(env('DIEGO_BIN'), 'diego'), ['rotate-encryption-key', '--target', env('DIEGO_TARGET'),
    '--bbs-admin-url', t.bbs_url, '--admin-cert', path.join(dir, 'certs/admin.crt'), '--admin-key', path.join(dir, 'certs/admin.key'),
    '--ca-cert', path.join(dir, 'certs/ca.crt'), '--vault-addr', env('VAULT_ADDR'), '--vault-token', env('VAULT_TOKEN')]);
  // the page follows the hub: the progress bar part way while it re-encrypts, and
  // moving on with later polls...
  const ended = rotation.then((out) => { throw new Error('the rotation ended before the page showed it part way twice:\n' + out); });
  ended.catch(() => {});
  const partWay = async (above) => {
    const shown = page.waitForFunction((above) => {
      // one render: the bar, its label and the state together
      const bar = document.getElementById('rotation-progress');
      return bar && bar.value > above && bar.value < bar.max &&
        [bar.value, bar.max, document.querySelector('.progress-box').innerText, document.getElementById('rotation-state').innerText];
    }, above, { timeout: 120000 });
    shown.catch(() => {});
    return (await Promise.race([shown, ended])).jsonValue();
  };
  const [first, total] = await partWay(0);
  // a quarter of the way or more, for the screenshot: some 8 s into a 30 s rotation
  const [value, max, text, state] = await partWay(Math.max(first, Math.floor(total / 4)));
  assert.match(text, new RegExp(`${value} of ${max} rows \\(${Math.round((value / max) * 100)}%\\)`));
  assert.equal(state, 'in progress');
  await page.getByRole('progressbar').waitFor();
  await shot(page, 'rotation-progress');
  // ...then the new key with every row
  const out = await rotation;
  const label = JSON.parse(out.trim().split('\n').pop()).active_label;
  assert.ok(label && label !== before.active_key, 'a new key: ' + out);
  await page.locator('#active-key code').filter({ hasText: label }).waitFor({ timeout: 60000 });
  await page.locator('#rotation-state').filter({ hasText: 'idle' }).waitFor({ timeout: 60000 });
  const rows = Number((await page.locator(`tr[data-label="${label}"] td[data-col="rows"]`).innerText()).replace(/,/g, ''));
  assert.ok(rows >= ROTATION_TASKS, `rows under ${label}: ${rows}, at least the ${ROTATION_TASKS} rotation tasks`);
  assert.equal(await page.locator(`tr[data-label="${before.active_key}"]`).count(), 0, 'the old key is gone');
  await shot(page, 'rotation-done');
  console.log(`rotation: the page showed ${first}, then ${value} of ${max} rows part way; ${rows} rows under ${label} after`);
});

test('a killed cell shows as missing and its instances run elsewhere', async () => {
  const t = target();
  const on = running(APP);
  const counts = new Map();
  on.forEach((a) => counts.set(a.cell_id, (counts.get(a.cell_id) || 0) + 1));
  const victim = t.cells.filter((c) => counts.get(c.cell_id)).sort((a, b) => counts.get(b.cell_id) - counts.get(a.cell_id))[0];
  assert.ok(victim, 'a cell runs instances');
  process.kill(victim.pid, 'SIGKILL');
  await view(page, 'cells');
  await page.locator(`tr[data-cell="${victim.cell_id}"] .state-missing`).waitFor({ timeout: 120000 });
  await shot(page, 'cells-missing');
  await view(page, 'apps/' + APP);
  await page.waitForFunction((cell) => {
    const rows = [...document.querySelectorAll('tr[data-state="RUNNING"]')];
    return rows.length === 5 && rows.every((r) => r.getAttribute('data-cell') !== cell);
  }, victim.cell_id, { timeout: 120000 });
  await until('5 RUNNING off ' + victim.cell_id + ' in the BBS', () => {
    const now = running(APP);
    return now.length === 5 && now.every((a) => a.cell_id !== victim.cell_id);
  });
  await shot(page, 'app-moved');
  await view(page, `timeline?cell_id=${victim.cell_id}`);
  await page.locator('li[data-kind="cell_lost"]').first().waitFor({ timeout: 60000 });
  await shot(page, 'timeline-cell-lost');
});

test('draining a cell in the UI moves its instances', async () => {
  const t = target();
  const on = running(APP);
  const cells = [...new Set(on.map((a) => a.cell_id))];
  assert.ok(cells.length >= 2, 'instances on two live cells: ' + cells);
  const drained = cells[0];
  await view(page, 'cells');
  await page.getByRole('button', { name: `Drain cell ${drained}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Drain', exact: true }).click();
  await page.locator(`tr[data-cell="${drained}"] :is(.state-evacuating, .state-missing)`).waitFor({ timeout: 120000 });
  await shot(page, 'cells-draining');
  await until(`5 RUNNING off ${drained}`, () => {
    const now = running(APP);
    return now.length === 5 && now.every((a) => a.cell_id !== drained);
  }, 180000);
  assert.ok(t.cells.some((c) => c.cell_id === drained));
});

test('first paint', async () => {
  const p = await newPage(browser);
  await p.goto(HUB() + '/#/apps');
  await p.waitForSelector('body[data-ready]');
  const m = await p.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
    view: performance.getEntriesByName('hub-first-view')[0]?.startTime,
  }));
  console.log(`first contentful paint ${m.fcp?.toFixed(0)} ms, first view with data ${m.view?.toFixed(0)} ms`);
  assert.ok(m.view > 0);
  await p.close();
});
