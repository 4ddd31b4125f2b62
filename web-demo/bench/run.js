// run.js — recommend latency of the loader in Node and in Chromium, beside
// wazero's, for one bundle and one typical request (k = 10, 10 history
// items, a consumed filter: the fixtures' "bench" request). Each figure is
// one recommend round trip: encode the request, copy it in, run the
// pipeline, copy the response out, decode it.
//
//   make build && bin/edgerec parity --bundle B --out out/web/bench --bench 2000
//   node web-demo/bench/run.js [--fixtures out/web/bench] [--n 2000]
//
// The wazero figure is read from the fixtures (edgerec parity --bench).
// Chromium: $CHROMIUM or /usr/bin/chromium; the page is served
// cross-origin isolated so performance.now() has fine resolution.
import { parseArgs } from 'node:util';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decode } from '@msgpack/msgpack';
import { EdgeRec } from '../edgerec.js';
import { timeCalls } from './timing.js';
import { serve } from '../test/server.js';

let args;
try {
  ({ values: args } = parseArgs({ options: { fixtures: { type: 'string' }, n: { type: 'string', default: '2000' }, help: { type: 'boolean', short: 'h' } } }));
} catch (err) {
  console.error(`bench: ${err.message}\nusage: node bench/run.js [--fixtures DIR] [--n N]`);
  process.exit(2);
}
if (args.help) {
  console.log('usage: node bench/run.js [--fixtures DIR] [--n N]\nTimes N recommend calls in Node and Chromium; DIR comes from edgerec parity --bench.');
  process.exit(0);
}
if (args.fixtures) process.env.EDGEREC_FIXTURES = path.resolve(args.fixtures);
const n = Number(args.n);
if (!Number.isInteger(n) || n < 10) {
  console.error(`bench: --n ${args.n}: want an integer ≥ 10`);
  process.exit(2);
}
const { wasmBytes, fixtures, wasmPath, fixturesDir } = await import('../test/fixtures.js');
const fx = fixtures();
const req = decode(fx.bench);
const rows = [];
if (fx.wazero) rows.push({ host: 'wazero (Go host, compiler)', ...fx.wazero });

// Node, through the same shim as the browser.
{
  const t0 = performance.now();
  const rec = await EdgeRec.load(wasmBytes(), fx.bundle, { stdout: () => {}, stderr: () => {} });
  const load = performance.now() - t0;
  rows.push({ host: `Node ${process.version}, loader`, ...timeCalls(() => rec.recommend(req), n), load_ms: load });
}

// Chromium.
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
if (existsSync(chromiumPath)) {
  const { chromium } = await import('playwright-core');
  const server = await serve({ wasm: wasmPath, bundle: path.join(fixturesDir, 'bundle.bin'), isolate: true });
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(new URL('bench/bench.html', server.url).href);
    await page.waitForSelector('body[data-ready="true"]');
    const r = await page.evaluate(([b, k]) => window.runBench(b, k), [Buffer.from(fx.bench).toString('base64'), n]);
    rows.push({ host: `Chromium ${browser.version()}, page${r.isolated ? '' : ' (not isolated: coarse clock)'}`, ...r });
  } finally {
    await browser.close();
    await server.close();
  }
} else {
  console.error(`bench: no Chromium at ${chromiumPath}: skipping the browser figure`);
}

const s = decode(fx.summary);
console.log(`recommend round trip, bundle ${s.version} (${s.items} items, dim ${s.dim}), k = 10, ${n} calls each:`);
console.log('| host | p50 ms | p99 ms | mean ms | load ms |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.host} | ${r.p50_ms.toFixed(3)} | ${r.p99_ms.toFixed(3)} | ${r.mean_ms.toFixed(3)} | ${r.load_ms ? r.load_ms.toFixed(0) : '—'} |`);
}
writeFileSync(path.join(fixturesDir, 'bench-results.json'), JSON.stringify(rows, null, 1));
