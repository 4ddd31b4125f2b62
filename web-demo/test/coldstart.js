// coldstart.js — the demo page's time to first recommendation on a cold
// cache in Chromium: each run opens a fresh browser context (empty HTTP
// cache, no localStorage), loads the page and waits for the first card in
// #recs (.card[data-id]: not a loading placeholder). The time is the page's own clock (performance.now(), from the
// navigation's start) when the first card is inserted, so the same figure
// can be taken of any version of the page. Not a test: run it by hand
// against a running server (edgerec serve --web web-demo):
//
//   node test/coldstart.js --url http://127.0.0.1:8080/ [--url URL2 …] [--runs 5] [--chromium /usr/bin/chromium]
//
// With several URLs the runs alternate between them (one browser), so that
// load from other jobs on the machine falls on each alike. It prints one
// line per run and each URL's median, with the bytes the module and the
// bundle took on the wire.
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', multiple: true },
    runs: { type: 'string', default: '5' },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
  },
});
if (!args.url) {
  console.error('usage: node test/coldstart.js --url URL [--runs N] [--chromium PATH]');
  process.exit(2);
}

const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: args.chromium, args: ['--no-sandbox'] });
const times = Object.fromEntries(args.url.map((u) => [u, []]));
try {
  for (let i = 0; i < Number(args.runs); i++) for (const url of args.url) {
    const context = await browser.newContext({ viewport: { width: 1360, height: 960 } });
    // Installed before any script of the page: stamps the first card.
    await context.addInitScript(() => {
      new MutationObserver((_, obs) => {
        if (document.querySelector('#recs .card[data-id]')) {
          window.__firstList = performance.now();
          obs.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`); });
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(url);
    try {
      await page.waitForFunction(() => window.__firstList !== undefined, null, { timeout: 60_000 });
    } catch (err) {
      const seen = await page.evaluate(() => `state ${document.body.dataset.state}, banner "${document.getElementById('banner')?.textContent}", cards ${document.querySelectorAll('#recs .card[data-id]').length}`);
      throw new Error(`${url}: no list after 60 s (${seen}; ${errors.join('; ')}): ${err.message}`);
    }
    const r = await page.evaluate(() => {
      const size = (name) => {
        const e = performance.getEntriesByName(new URL(name, location.href).href).at(-1);
        return e ? { sent: e.encodedBodySize, decoded: e.decodedBodySize } : null;
      };
      return { ms: window.__firstList, wasm: size('recommender.wasm'), bundle: size('v1/bundle/file') };
    });
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    times[url].push(r.ms);
    console.log(`${url} run ${i + 1}: first list at ${r.ms.toFixed(0)} ms; module ${r.wasm?.sent} bytes sent (${r.wasm?.decoded} decoded), bundle ${r.bundle?.sent} sent (${r.bundle?.decoded} decoded)`);
    await context.close();
  }
} finally {
  await browser.close();
}
for (const [url, t] of Object.entries(times)) {
  const sorted = t.slice().sort((a, b) => a - b);
  console.log(`${url}: median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms, min ${sorted[0].toFixed(0)}, max ${sorted.at(-1).toFixed(0)} over ${t.length} runs`);
}
