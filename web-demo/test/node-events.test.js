// The page's and the worker's events against the real collector: an
// `edgerec serve --events DIR` on loopback takes what the worker (under
// Node) and the page (in Chromium, with ?events=v1/events) post, and
// `edgerec report` reads them back joined — so the events the JS side
// builds stay within the schema the node's decoders enforce
// (host/events/EVENTS.md). The worker's and the page's own tests check
// the same flows against stub collectors.
//
// Needs bin/edgerec (make build; make web-test builds it). Chromium as in
// browser.test.js; without it the page's part is skipped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import worker, { eventStats } from '../worker/worker.js';
import { root, wasmPath, wasmBytes, fixtures, fixturesDir } from './fixtures.js';
import { freePort } from './workerd.js';

const edgerec = process.env.EDGEREC_BIN || path.join(root, 'bin', 'edgerec');
if (!existsSync(edgerec)) {
  throw new Error(`${edgerec} is missing: run 'make build' (make web-test does) or set EDGEREC_BIN`);
}
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);

const fx = fixtures();
const dir = mkdtempSync(path.join(os.tmpdir(), 'edgerec-node-events-'));
const bundlePath = path.join(fixturesDir, 'bundle.bin');
let proc = null;
let base = '';
let log = '';

before(async () => {
  const port = await freePort();
  proc = spawn(edgerec, ['serve', '--bundle', bundlePath, '--wasm', wasmPath, '--addr', `127.0.0.1:${port}`, '--pool', '1',
    '--events', path.join(dir, 'events'), '--web', path.join(root, 'web-demo'), '--state-dir', 'none', '--cache', ''],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch (err) {
      if (i >= 150 || proc.exitCode !== null) throw new Error(`edgerec serve did not start: ${err.message}\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(() => {
  if (proc && proc.exitCode === null) proc.kill();
  rmSync(dir, { recursive: true, force: true });
});

// The report, once the node has closed its files (SIGINT: it drains and
// renames them into place).
async function stopAndReport() {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGINT');
  await exited;
  return JSON.parse(execFileSync(edgerec, ['report', '--events', path.join(dir, 'events'), '--json', '--bootstrap', '0']).toString());
}

test('the node takes the worker\'s impressions and forwarded takes, and the page\'s, and the report joins them', async () => {
  const env = { RECOMMENDER_WASM: await WebAssembly.compile(wasmBytes()), BUNDLE: fx.bundle, EVENTS_URL: `${base}/v1/events` };
  const waits = [];
  const ctx = { waitUntil: (p) => waits.push(p) };
  const before = { ...eventStats };
  const resp = await worker.fetch(new Request('https://edge.example/v1/recommend', { method: 'POST',
    body: JSON.stringify({ k: 6, user_id: 'w1', context: { region: 'eu-west', device: 'mobile' } }) }), env, ctx);
  const got = await resp.json();
  const take = { type: 'take', request_id: got.request_id, item: got.items[2].id, kind: 'buy', position: 3, user: 'w1' };
  const fwd = await worker.fetch(new Request('https://edge.example/v1/events', { method: 'POST', body: JSON.stringify({ version: '1.0', events: [take] }) }), env, ctx);
  assert.equal(fwd.status, 202);
  await Promise.all(waits);
  assert.deepEqual([eventStats.sent - before.sent, eventStats.forwarded - before.forwarded, eventStats.failed - before.failed, eventStats.dropped - before.dropped],
    [1, 1, 0, 0], `the node took both: ${log}`);

  let pageLists = 0;
  if (haveChromium) {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    try {
      const p = await browser.newPage();
      await p.goto(`${base}/?events=v1/events`);
      await p.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
      assert.equal(await p.getAttribute('body', 'data-events'), 'send');
      const id = await p.getAttribute('#recs .card >> nth=0', 'data-id');
      await p.click(`#recs .card[data-id="${id}"] .watch`);
      await p.waitForFunction(() => /Sent: 2 lists shown, 1 take\. Waiting: 0\./.test(document.getElementById('events-counts').textContent), null, { timeout: 10_000 });
      assert.doesNotMatch(await p.textContent('#events-counts'), /Refused|problem/);
      pageLists = 2;
    } finally {
      await browser.close();
    }
  } else {
    console.error('!! the page\'s part skipped: no Chromium at ' + chromiumPath);
  }

  const r = await stopAndReport();
  assert.equal(r.lists, 1 + pageLists, 'every impression stored');
  assert.equal(r.unattributed_takes, 0, 'every take joined to its impression');
  const takes = r.arms.reduce((n, a) => n + a.takes, 0);
  assert.equal(takes, 1 + (pageLists ? 1 : 0));
});
