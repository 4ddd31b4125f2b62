// The demo page in real Chromium (Debian's, driven by playwright-core):
// load it, consume three recommended items, check they vanish and the list
// changes, reload and check the history persists, try the knobs and the
// catalog search, the labels (back-fill, event kinds, region, age), the
// phone layout at 390×844 (context and history one tap from the top, a
// toast on take, stage timings not cut), the loading, empty and error
// states, and fail on any console error.
//
// Chromium: $CHROMIUM, else /usr/bin/chromium (apt-get install chromium;
// make web-deps does it when it can). Without it the test is skipped with a
// loud message. Screenshots (desktop.png, phone*.png) go to
// out/web/screenshots/ (or $EDGEREC_TEST_OUT).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { serve } from './server.js';
import { root, wasmPath, fixturesDir } from './fixtures.js';

const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const outDir = process.env.EDGEREC_TEST_OUT || path.join(root, 'out', 'web', 'screenshots');
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
  const context = await browser.newContext({ viewport: { width: 1360, height: 960 }, timezoneId: 'America/Los_Angeles' });
  page = await context.newPage();
  watch(page, problems);
});

// watch records console errors, page errors and failed requests in list.
function watch(p, list) {
  p.on('console', (m) => { if (m.type() === 'error') list.push(`console error: ${m.text()}`); });
  p.on('pageerror', (e) => list.push(`page error: ${e.message}`));
  p.on('requestfailed', (r) => list.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  p.on('response', (r) => { if (r.status() >= 400) list.push(`HTTP ${r.status()} for ${r.url()}`); });
}

// inViewport reports whether selector's element is visible inside the
// viewport as it is (no scrolling).
async function inViewport(p, selector) {
  const box = await p.locator(selector).boundingBox();
  const vp = p.viewportSize();
  return box !== null && box.y >= 0 && box.y + box.height <= vp.height && box.x >= 0 && box.x + box.width <= vp.width;
}

after(async () => {
  await browser?.close();
  await server?.close();
});

const recIds = () => page.$$eval('#recs .card', (cs) => cs.map((c) => c.dataset.id));
const historyIds = () => page.$$eval('#history li', (ls) => ls.map((l) => l.dataset.id));

async function ready(p = page) {
  await p.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
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
  // The timings split the warm-up call (cold) from this list (warm).
  assert.match(await page.textContent('#timing'), /^[\d.]+ ms warm\s*· first call [\d.]+ ms cold$/);
  // The region is guessed from the time zone (America/Los_Angeles), not the
  // first in the list, and says so.
  assert.equal(await page.inputValue('#ctx-region'), 'us-west');
  assert.match(await page.textContent('#region-hint'), /time zone \(America\/Los_Angeles\)/);
  // Loaded: no loading state left, and Show more is there (800 items).
  assert.equal(await page.locator('.state-loading').count(), 0);
  const cut = await page.$$eval('#stages .stage-name, #stages .stage-num', (es) => es.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent));
  assert.deepEqual(cut, [], 'stage timings fit');
  assert.ok(await page.isVisible('#more'), 'Show more with more than a page of catalog');

  // Consume three items, one click each; each vanishes at once.
  const consumed = [];
  for (let i = 0; i < 3; i++) {
    const before = await recIds();
    const id = before[i];
    const action = i === 1 ? '.buy' : '.watch';
    const title = await page.textContent(`#recs .card[data-id="${id}"] .title`);
    await page.click(`#recs .card[data-id="${id}"] ${action}`);
    consumed.push(id);
    assert.ok(await page.isVisible('#toast'), 'a take shows a toast');
    assert.match(await page.textContent('#toast'), new RegExp(`^${i === 1 ? 'Bought' : 'Watched'} “${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}”`));
    const now = await recIds();
    assert.equal(now.length, 12);
    for (const c of consumed) assert.ok(!now.includes(c), `${c} still recommended after consuming it`);
  }
  const after3 = await recIds();
  assert.notDeepEqual(after3, first, 'the list changed');
  assert.deepEqual((await historyIds()).slice().reverse(), consumed);
  assert.equal(await page.textContent('#history-count'), '3');
  // "Because you …" names the event kind of the history item it cites.
  const actions = await page.evaluate(() => Object.fromEntries(JSON.parse(localStorage.getItem('edgerec-demo-v1')).history.map((h) => [h.item, h.action])));
  const cited = await page.$$eval('#recs .card[data-because]', (cs) => cs.map((c) => [c.dataset.because, c.querySelector('.why').textContent]));
  for (const [because, why] of cited) {
    if (actions[because]) assert.match(why, new RegExp(`^Because you ${actions[because] === 'buy' ? 'bought' : 'watched'} `), why);
  }

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
  await page.screenshot({ path: path.join(outDir, 'desktop.png'), fullPage: true });

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
  // Every source off: what is left is the popularity back-fill, and the
  // cards say so rather than "Popular in us-west".
  for (const id of await page.$$eval('#weights input', (is) => is.map((i) => i.id))) {
    await page.$eval(`#${id}`, (el) => { el.value = '0'; el.dispatchEvent(new Event('input')); });
  }
  const backfill = await page.$$eval('#recs .card', (cs) => cs.map((c) => [c.dataset.source, c.querySelector('.src').textContent, c.querySelector('.why').textContent]));
  assert.equal(backfill.length, 12);
  for (const [src, label, why] of backfill) {
    assert.equal(src, 'popular');
    assert.equal(label, 'Back-fill');
    assert.match(why, /^Back-fill/);
  }
  await page.click('#knobs-reset');
  assert.deepEqual(await recIds(), reloaded, 'bundle defaults restore the list');

  // Age: out of range is refused and said, not stored as something else.
  const storedAge = () => page.evaluate(() => JSON.parse(localStorage.getItem('edgerec-demo-v1')).context.age);
  const age0 = await storedAge();
  await page.fill('#ctx-age', '-5');
  await page.dispatchEvent('#ctx-age', 'change');
  assert.ok(await page.isVisible('#age-error'), 'age −5 is refused with a message');
  assert.equal(await page.getAttribute('#ctx-age', 'aria-invalid'), 'true');
  assert.equal(await storedAge(), age0, 'age −5 is not stored');
  await page.fill('#ctx-age', '41');
  await page.dispatchEvent('#ctx-age', 'change');
  assert.ok(!(await page.isVisible('#age-error')));
  assert.equal(await storedAge(), 41);
  await page.fill('#ctx-age', age0 ? String(age0) : '');
  await page.dispatchEvent('#ctx-age', 'change');
  assert.equal(await storedAge(), age0);

  // Show more adds a page, then hides at the end of the list.
  const rows = () => page.locator('#catalog .row').count();
  const page1 = await rows();
  await page.click('#more');
  assert.equal(await rows(), page1 * 2, 'Show more adds a page');
  await page.selectOption('#category', { index: 1 });
  for (let i = 0; i < 40 && await page.isVisible('#more'); i++) await page.click('#more');
  assert.ok(!(await page.isVisible('#more')), 'Show more hides at the end of the list');
  const all = Number((await page.textContent('#catalog-count')).split(' ')[0].replace(/,/g, ''));
  assert.equal(await rows(), all, 'every match shown at the end');
  await page.selectOption('#category', '');

  // A search with no results says so and offers to clear it.
  await page.fill('#search', 'zzqx no such title');
  assert.match(await page.textContent('#catalog .state-empty'), /No titles match “zzqx no such title”/);
  assert.ok(!(await page.isVisible('#more')));
  await page.click('#catalog .state-empty button');
  assert.equal(await page.inputValue('#search'), '');
  assert.equal(await rows(), page1);

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
    assert.match(await p.textContent('#recs .state-error'), /did not load/);
    assert.equal(await p.getAttribute('body', 'data-state'), 'error');
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
    await bad.close();
  }
});

test('the page says when its packages fail to load, instead of "loading…" forever', { skip: !haveChromium && 'no Chromium' }, async () => {
  const p = await browser.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  try {
    await p.route('**/node_modules/**', (r) => r.fulfill({ status: 404, body: 'not found' }));
    await p.goto(server.url);
    await p.waitForSelector('#banner:not([hidden])', { timeout: 30_000 });
    assert.match(await p.textContent('#banner'), /could not load the page's packages .*npm ci/);
    assert.equal(await p.getAttribute('body', 'data-state'), 'error');
    assert.equal(await p.textContent('#bundle-chip'), 'not loaded');
    assert.equal(await p.locator('.state-loading').count(), 0, 'no loading state left');
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
  }
});

test('while the bundle downloads the recommendations say they are loading', { skip: !haveChromium && 'no Chromium' }, async () => {
  const p = await browser.newPage();
  const list = [];
  watch(p, list);
  let release;
  const held = new Promise((r) => { release = r; });
  try {
    await p.route('**/v1/bundle/file', async (r) => { await held; await r.continue(); });
    await p.goto(server.url);
    await p.waitForFunction(() => document.getElementById('loading-what')?.textContent === 'the module and the bundle');
    assert.equal(await p.getAttribute('#recs', 'aria-busy'), 'true');
    assert.match(await p.textContent('#recs .state-loading'), /Loading the module and the bundle/);
    assert.equal(await p.getAttribute('body', 'data-state'), 'loading');
    release();
    await ready(p);
    assert.equal(await p.locator('#recs .card').count(), 12);
    assert.deepEqual(list, []);
  } finally {
    release();
    await p.close();
  }
});

test('on a phone (390×844) context and history are one tap from the top, a take shows a toast, timings fit', { skip: !haveChromium && 'no Chromium' }, async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, timezoneId: 'Asia/Tokyo' });
  const p = await context.newPage();
  const list = [];
  watch(p, list);
  try {
    await p.goto(server.url);
    await ready(p);
    mkdirSync(outDir, { recursive: true });
    await p.screenshot({ path: path.join(outDir, 'phone.png') });
    // The tab bar is at the top; the first recommendation is on screen.
    assert.ok(await inViewport(p, '#tabs'), 'the tabs are on screen');
    assert.ok(await inViewport(p, '#recs .card >> nth=0'), 'the first recommendation is on screen');
    // The region comes from the time zone (Asia/Tokyo) here too.
    assert.equal(await p.inputValue('#ctx-region'), 'apac');
    // Stage timings are not cut.
    const cut = await p.$$eval('#stages .stage-name, #stages .stage-num', (es) => es.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent));
    assert.deepEqual(cut, [], 'stage timings fit');
    assert.ok(!(await p.isVisible('#privacy')), 'the side panels are tabs, not below the catalog');

    // Context: one tap, no scrolling.
    await p.tap('#tabs [data-tab="you"]');
    for (const sel of ['#ctx-region', '#ctx-device', '#ctx-age']) assert.ok(await inViewport(p, sel), `${sel} on screen`);
    assert.ok(!(await p.isVisible('#catalog')), 'the catalog is out of the way');
    await p.screenshot({ path: path.join(outDir, 'phone-you.png') });

    // A take: the toast shows on screen and the history tab counts it.
    await p.tap('#tabs [data-tab="recs"]');
    const id = await p.getAttribute('#recs .card >> nth=0', 'data-id');
    await p.tap(`#recs .card[data-id="${id}"] .watch`);
    assert.ok(await inViewport(p, '#toast'), 'the toast is on screen');
    assert.equal(await p.textContent('#tab-history-count'), '1');
    await p.screenshot({ path: path.join(outDir, 'phone-take.png') });

    // History: one tap, the item taken first in the list, on screen.
    await p.tap('#tabs [data-tab="history"]');
    assert.ok(await inViewport(p, `#history li[data-id="${id}"]`), 'the history is on screen');
    await p.screenshot({ path: path.join(outDir, 'phone-history.png') });
    await p.tap('#tabs [data-tab="privacy"]');
    assert.ok(await inViewport(p, '#privacy h2'));
    assert.deepEqual(list, [], 'no console errors, page errors or failed requests');
  } finally {
    await context.close();
  }
});

// storedEvents reads the events the page keeps in localStorage.
const storedEvents = (p) => p.evaluate(() => JSON.parse(localStorage.getItem('edgerec-demo-v1')).events);

test('without an events URL the page keeps impressions and takes on the device, and says so', { skip: !haveChromium && 'no Chromium' }, async () => {
  const context = await browser.newContext({ viewport: { width: 1360, height: 960 } });
  const p = await context.newPage();
  const list = [];
  watch(p, list);
  const posts = [];
  p.on('request', (r) => { if (r.method() !== 'GET') posts.push(`${r.method()} ${r.url()}`); });
  try {
    await p.goto(server.url);
    await ready(p);
    assert.equal(await p.getAttribute('body', 'data-events'), 'local');
    assert.match(await p.textContent('#events-mode'), /^Kept on this device, not sent \(the server of this page does not take events\)/);
    assert.match(await p.textContent('#privacy-sent'), /Sent to a server: nothing/);
    const ids = await p.$$eval('#recs .card', (cs) => cs.map((c) => c.dataset.id));
    await p.click(`#recs .card[data-id="${ids[1]}"] .buy`);
    await p.waitForFunction(() => /1 take/.test(document.getElementById('events-counts').textContent));
    assert.match(await p.textContent('#events-counts'), /^Kept: 1 list shown, 1 take\./);
    mkdirSync(outDir, { recursive: true });
    await p.locator('#privacy').screenshot({ path: path.join(outDir, 'privacy-kept.png') });
    const evs = await storedEvents(p);
    assert.deepEqual(evs.map((e) => e.type), ['impression', 'take']);
    const [imp, take] = evs;
    assert.deepEqual(imp.items.map((it) => it.item), ids, 'the impression is the list on screen');
    assert.deepEqual(imp.items.map((it) => it.position), ids.map((_, i) => i + 1));
    assert.equal(take.request_id, imp.request_id, 'the take joins the impression');
    assert.deepEqual([take.item, take.kind, take.position], [ids[1], 'buy', 2]);
    assert.match(take.user, /^s-[0-9a-f]{16}$/, 'an anonymous session key');
    // A list left on screen for a second counts as shown too.
    await p.waitForFunction(() => /2 lists shown/.test(document.getElementById('events-counts').textContent), null, { timeout: 5000 });
    // Kept across a reload; cleared by the button.
    await p.reload();
    await ready(p);
    assert.match(await p.textContent('#events-counts'), /^Kept: 2 lists shown, 1 take\./);
    await p.click('#events-clear');
    assert.match(await p.textContent('#events-counts'), /^Kept: 0 lists shown, 0 takes\./);
    assert.deepEqual(await storedEvents(p), []);
    assert.deepEqual(posts, [], 'nothing posted anywhere');
    assert.deepEqual(list, [], 'no console errors, page errors or failed requests');
  } finally {
    await context.close();
  }
});

test('a node that takes events gets the page\'s impressions and takes, joined by request id', { skip: !haveChromium && 'no Chromium' }, async () => {
  const node = await serve({ wasm: wasmPath, bundle: path.join(fixturesDir, 'bundle.bin'), events: true });
  const context = await browser.newContext({ viewport: { width: 1360, height: 960 } });
  const p = await context.newPage();
  const list = [];
  watch(p, list);
  try {
    await p.goto(node.url);
    await ready(p);
    assert.equal(await p.getAttribute('body', 'data-events'), 'send');
    assert.match(await p.textContent('#events-mode'), new RegExp(`^Sent to ${node.url}v1/events \\(offered by the server of this page\\)`));
    assert.match(await p.textContent('#privacy-sent'), /your history stays here/);
    const ids = await p.$$eval('#recs .card', (cs) => cs.map((c) => c.dataset.id));
    await p.click(`#recs .card[data-id="${ids[2]}"] .watch`);
    await p.waitForFunction(() => /Sent: 1 list shown, 1 take\. Waiting: 0\./.test(document.getElementById('events-counts').textContent));
    const got = node.received.slice();
    assert.deepEqual(got.map((e) => e.type), ['impression', 'take']);
    const [imp, take] = got;
    assert.deepEqual(imp.items.map((it) => it.item), ids);
    assert.ok(imp.items.every((it) => typeof it.source === 'string' && Number.isFinite(it.score)), 'sources and scores');
    assert.equal(imp.bundle_version, 'web-test');
    assert.deepEqual([take.request_id, take.item, take.kind, take.position, take.user], [imp.request_id, ids[2], 'watch', 3, imp.user]);
    assert.deepEqual(await storedEvents(p), [], 'nothing kept on the device when sent');
    // The list after the take, on screen for a second, is sent too.
    await p.waitForFunction(() => /Sent: 2 lists shown, 1 take\. Waiting: 0\./.test(document.getElementById('events-counts').textContent), null, { timeout: 5000 });
    assert.equal(node.received.length, 3);
    mkdirSync(outDir, { recursive: true });
    await p.locator('#privacy').screenshot({ path: path.join(outDir, 'privacy-sent.png') });

    // ?events=off overrides the node: kept here, nothing more posted.
    await p.goto(`${node.url}?events=off`);
    await ready(p);
    assert.equal(await p.getAttribute('body', 'data-events'), 'local');
    assert.match(await p.textContent('#events-mode'), /turned off by \?events=off/);
    const before = node.received.length;
    const id = await p.getAttribute('#recs .card >> nth=0', 'data-id');
    await p.click(`#recs .card[data-id="${id}"] .watch`);
    await p.waitForFunction(() => /1 take/.test(document.getElementById('events-counts').textContent));
    assert.equal(node.received.length, before, 'nothing posted with ?events=off');
    // A POST whose 202 arrived before the page left is reported as
    // aborted by the navigation (its body was never read); the collector
    // counted it above.
    const real = list.filter((x) => !/\/v1\/events net::ERR_ABORTED$/.test(x));
    assert.deepEqual(real, [], 'no console errors, page errors or failed requests');
  } finally {
    await context.close();
    await node.close();
  }
});
