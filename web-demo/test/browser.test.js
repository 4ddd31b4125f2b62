// The demo page in real Chromium (Debian's, driven by playwright-core):
// load it, consume three recommended items, check they vanish and the list
// changes, reload and check the history persists, try the knobs and the
// catalog search, save a screenshot, and fail on any console error.
//
// Chromium: $CHROMIUM, else /usr/bin/chromium (apt-get install chromium;
// make web-deps does it when it can). Without it the test is skipped with a
// loud message. The screenshot goes to out/web-demo-test/ (or
// $EDGEREC_TEST_OUT).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { serve } from './server.js';
import { root, wasmPath, fixturesDir } from './fixtures.js';

const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const outDir = process.env.EDGEREC_TEST_OUT || path.join(root, 'out', 'web-demo-test');
const haveChromium = existsSync(chromiumPath);
if (!haveChromium) {
  console.error(`\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n` +
    `!! SKIPPING the browser test: no Chromium at ${chromiumPath}.\n` +
    `!! Install it (apt-get install chromium, or make web-deps as root) or set CHROMIUM.\n` +
    `!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n`);
}

let browser;
let server;
let page;
const problems = []; // console errors, page errors, failed requests

before(async () => {
  if (!haveChromium) return;
  const { chromium } = await import('playwright-core');
  server = await serve({ wasm: wasmPath, bundle: path.join(fixturesDir, 'bundle.bin') });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1360, height: 960 } });
  page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const recIds = () => page.$$eval('#recs .card', (cs) => cs.map((c) => c.dataset.id));
const historyIds = () => page.$$eval('#history li', (ls) => ls.map((l) => l.dataset.id));

async function ready() {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
}

test('the demo page recommends in Chromium, and history survives a reload', { skip: !haveChromium && 'no Chromium' }, async () => {
  await page.goto(server.url);
  await ready();
  const first = await recIds();
  assert.equal(first.length, 12, 'twelve recommendations');
  assert.match(await page.textContent('#bundle-chip'), /bundle \S+\s*·\s*\d+ items\s*·\s*\d+ KB/);
  const stages = await page.$$eval('#stages .stage', (s) => s.map((x) => x.title));
  assert.ok(stages.length >= 2, `per-stage timings shown: ${stages}`);
  for (const why of await page.$$eval('#recs .why', (w) => w.map((x) => x.textContent))) {
    assert.ok(why.length > 3, `every card has a reason: ${why}`);
  }

  // Consume three items, one click each; each vanishes at once.
  const consumed = [];
  for (let i = 0; i < 3; i++) {
    const before = await recIds();
    const id = before[i];
    const action = i === 1 ? '.buy' : '.watch';
    await page.click(`#recs .card[data-id="${id}"] ${action}`);
    consumed.push(id);
    const now = await recIds();
    assert.equal(now.length, 12);
    for (const c of consumed) assert.ok(!now.includes(c), `${c} still recommended after consuming it`);
  }
  const after3 = await recIds();
  assert.notDeepEqual(after3, first, 'the list changed');
  assert.deepEqual((await historyIds()).slice().reverse(), consumed);
  assert.equal(await page.textContent('#history-count'), '3');

  // Reload: the history and the filter come back from localStorage.
  await page.reload();
  await ready();
  assert.deepEqual((await historyIds()).slice().reverse(), consumed);
  const reloaded = await recIds();
  for (const c of consumed) assert.ok(!reloaded.includes(c), `${c} recommended again after the reload`);
  assert.deepEqual(reloaded, after3, 'same history, same recommendations');
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('edgerec-demo-v1')));
  assert.equal(stored.history.length, 3);
  assert.ok(stored.filter.length > 20, 'the Bloom filter is stored');
  // Each take counted the other eleven cards on screen as shown, not taken.
  const imps = stored.impressions;
  assert.ok(Object.keys(imps).length >= 11, `impressions stored: ${JSON.stringify(imps)}`);
  assert.ok(!(consumed[0] in imps), 'the first item taken was never counted as shown but not taken');
  for (const id of first.slice(1)) assert.ok(imps[id]?.count >= 1, `${id} was on screen at the first take`);
  assert.equal(await page.textContent('#impressions-count'), String(Object.keys(imps).length));
  // They reach the module: the same history without them gives another list.
  await page.evaluate(() => {
    const s = JSON.parse(localStorage.getItem('edgerec-demo-v1'));
    s.impressions = {};
    localStorage.setItem('edgerec-demo-v1', JSON.stringify(s));
  });
  await page.reload();
  await ready();
  const unseen = await recIds();
  assert.notDeepEqual(unseen, reloaded, 'shown-but-not-taken items sink: without impressions the list differs');
  await page.evaluate((s) => localStorage.setItem('edgerec-demo-v1', JSON.stringify(s)), stored);
  await page.reload();
  await ready();
  assert.deepEqual(await recIds(), reloaded, 'impressions back, the same list');

  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, 'demo.png'), fullPage: true });

  // Knobs: full diversity reorders the list.
  await page.$eval('#knob-lambda', (el) => { el.value = '0'; el.dispatchEvent(new Event('input')); });
  assert.notDeepEqual(await recIds(), reloaded, 'λ = 0 changes the list');
  await page.click('#knobs-reset');
  assert.deepEqual(await recIds(), reloaded, 'bundle defaults restore it');
  // Turning the two-tower source off changes the sources shown.
  await page.$eval('#w-twotower', (el) => { el.value = '0'; el.dispatchEvent(new Event('input')); });
  const sources = await page.$$eval('#recs .card', (cs) => cs.map((c) => c.dataset.source));
  assert.ok(!sources.includes('twotower'), `two-tower weight 0, still: ${sources}`);
  await page.click('#knobs-reset');

  // Catalog search.
  const word = (await page.textContent('#catalog .row .c-title')).split(' ')[0];
  await page.fill('#search', word);
  const titles = await page.$$eval('#catalog .c-title', (t) => t.map((x) => x.textContent));
  assert.ok(titles.length > 0 && titles.every((t) => t.toLowerCase().includes(word.toLowerCase())), `search ${word}: ${titles}`);
  // Consumed items are marked in the catalog.
  const title = await page.textContent(`#history li[data-id="${consumed[0]}"] .h-title`);
  await page.fill('#search', title);
  assert.equal(await page.getAttribute(`#catalog .row[data-id="${consumed[0]}"]`, 'class'), 'row done');
  await page.fill('#search', '');

  // Reset clears the history and the impressions; the first list comes back.
  await page.click('#reset');
  assert.deepEqual(await historyIds(), []);
  assert.equal(await page.textContent('#impressions-count'), '0');
  assert.deepEqual(await recIds(), first);
  await page.reload();
  await ready();
  assert.deepEqual(await historyIds(), []);

  assert.deepEqual(problems, [], 'no console errors, page errors or failed requests');
});

test('a missing bundle gives a clear message, not a broken page', { skip: !haveChromium && 'no Chromium' }, async () => {
  const bad = await serve({ wasm: wasmPath, bundle: path.join(fixturesDir, 'no-such-bundle') });
  const p = await browser.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  try {
    await p.goto(bad.url);
    await p.waitForSelector('#banner:not([hidden])', { timeout: 30_000 });
    assert.match(await p.textContent('#banner'), /could not fetch the bundle: HTTP 404 .*edgerec serve --web web-demo/);
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
    await bad.close();
  }
});
