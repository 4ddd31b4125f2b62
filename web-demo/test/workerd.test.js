// The edge-worker example under workerd, the open-source runtime of
// Cloudflare Workers (V8 isolates, the Workers API, no Node): bundled by
// esbuild as Workers tooling bundles a worker, the module imported as a
// compiled Wasm module (Workers refuse to compile Wasm from bytes at run
// time), the bundle bound as data. Its answers must be the loader's under
// Node and, for msgpack, the wazero host's bytes. A second service of the
// same worker, with EVENTS_URL bound to a stub collector on loopback, must
// post its impressions there (workerd's outbound network allows loopback
// only for it). A third reads the bundle from an R2 binding (served by
// test/r2.js's stand-in on loopback), streamed into the module, and must
// answer as the first. `make web-test` installs
// workerd and esbuild in test/workerd (apart from the page's packages).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode } from '@msgpack/msgpack';
import { EdgeRec } from '../edgerec.js';
import { fixtures, wasmBytes, stripTimings } from './fixtures.js';
import { requireWorkerd, freePort, buildWorker, workerCapnp, startWorkerd } from './workerd.js';
import { serveR2, r2Service } from './r2.js';

requireWorkerd();

const fx = fixtures();
const direct = await EdgeRec.load(await WebAssembly.compile(wasmBytes()), fx.bundle, { stdout: () => {}, stderr: () => {} });

const dir = mkdtempSync(path.join(os.tmpdir(), 'edgerec-workerd-'));
let proc = null;
let base = '';
let log = () => '';
let logging = ''; // the service with EVENTS_URL
const collected = []; // events the stub collector received
let collector = null;
let r2 = null; // the R2 stand-in
let fromR2 = ''; // the service whose BUNDLE is an R2 bucket
let missingR2 = ''; // the same, its BUNDLE_KEY not in the bucket

before(async () => {
  await buildWorker(dir);
  writeFileSync(path.join(dir, 'bundle.bin'), fx.bundle);
  const port = await freePort();
  const port2 = await freePort();
  const port3 = await freePort();
  const port4 = await freePort();
  r2 = await serveR2({ 'demo.bundle': path.join(dir, 'bundle.bin') });
  const http = await import('node:http');
  collector = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (req.method === 'POST' && req.url === '/v1/events') collected.push(...JSON.parse(Buffer.concat(chunks).toString()).events);
    res.writeHead(202, { 'Content-Type': 'application/json' }).end('{"accepted": 1}');
  });
  await new Promise((r) => collector.listen(0, '127.0.0.1', r));
  const eventsURL = `http://127.0.0.1:${collector.address().port}/v1/events`;
  writeFileSync(path.join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "logging", worker = .logging),
    (name = "loopback", network = (allow = ["local", "private"])),
    (name = "r2worker", worker = .r2worker),
    (name = "r2missing", worker = .r2missing),
    ${r2Service('r2', r2.port)},
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${port}", http = (), service = "main"),
    (name = "http-logging", address = "127.0.0.1:${port2}", http = (), service = "logging"),
    (name = "http-r2", address = "127.0.0.1:${port3}", http = (), service = "r2worker"),
    (name = "http-r2-missing", address = "127.0.0.1:${port4}", http = (), service = "r2missing"),
  ],
);

${workerCapnp('r2worker', { r2: 'r2' })}
${workerCapnp('r2missing', { r2: 'r2', bindings: ['(name = "BUNDLE_KEY", text = "missing.bundle")'] })}
${workerCapnp('logging', { bindings: [`(name = "EVENTS_URL", text = "${eventsURL}")`], fields: ['globalOutbound = "loopback"'] })}
${workerCapnp('worker')}`);
  ({ proc, log } = startWorkerd(dir));
  base = `http://127.0.0.1:${port}`;
  logging = `http://127.0.0.1:${port2}`;
  fromR2 = `http://127.0.0.1:${port3}`;
  missingR2 = `http://127.0.0.1:${port4}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${base}/v1/bundle`);
      if (r.ok) break;
    } catch (err) {
      if (i >= 100 || proc.exitCode !== null) throw new Error(`workerd did not start: ${err.message}\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(() => {
  if (proc) proc.kill();
  collector?.close();
  r2?.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (body, type = 'application/json') => fetch(`${base}/v1/recommend`, { method: 'POST', body, headers: { 'Content-Type': type } });

test('workerd: the bundle summary is the loader\'s', async () => {
  const got = await (await fetch(`${base}/v1/bundle`)).json();
  assert.deepEqual(got, JSON.parse(JSON.stringify(direct.summary)));
});

test('workerd: JSON requests get the loader\'s answers', async () => {
  for (const c of fx.recommend.filter((c) => !c.error)) {
    const req = decode(c.input);
    const body = { ...req };
    if (body.consumed) body.consumed = Buffer.from(body.consumed).toString('base64');
    const resp = await post(JSON.stringify(body));
    assert.equal(resp.status, 200, `${c.name}: ${log()}`);
    assert.deepEqual(stripTimings(await resp.json()), stripTimings(JSON.parse(JSON.stringify(direct.recommend(req)))), c.name);
  }
});

test('workerd: msgpack requests get the wazero host\'s bytes', async () => {
  // Debug answers carry timings; the others must match byte for byte.
  const cases = fx.recommend.filter((c) => !c.error && c.output && !decode(c.input).debug);
  assert.ok(cases.length >= 5, `only ${cases.length} msgpack cases`);
  for (const c of cases) {
    const resp = await post(c.input, 'application/msgpack');
    assert.equal(resp.status, 200, c.name);
    assert.deepEqual(new Uint8Array(await resp.arrayBuffer()), c.output, c.name);
  }
});

test('workerd: bad requests get 400 with the module\'s message, and it keeps serving', async () => {
  let resp = await post(JSON.stringify({ k: -1 }));
  assert.equal(resp.status, 400);
  assert.deepEqual(await resp.json(), { error: 'k = -1 is out of range [0, 500]' });
  resp = await post(new Uint8Array([0xc1]), 'application/msgpack');
  assert.equal(resp.status, 400);
  assert.match((await resp.json()).error, /^malformed request: msgpack/);
  resp = await post(JSON.stringify({ k: 4 }));
  assert.equal((await resp.json()).items.length, 4);
});

// until polls cond every 20 ms for up to ms.
async function until(cond, ms = 5000) {
  for (const end = Date.now() + ms; !cond();) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

test('workerd: with EVENTS_URL an impression of each list arrives at the collector, and a client\'s take is forwarded', async () => {
  const resp = await fetch(`${logging}/v1/recommend`, { method: 'POST', body: JSON.stringify({ k: 4, user_id: 'u3', context: { region: 'eu-west' } }), headers: { 'Content-Type': 'application/json' } });
  assert.equal(resp.status, 200, log());
  const got = await resp.json();
  assert.ok(got.request_id, 'a request id stamped');
  assert.ok(await until(() => collected.length >= 1), `no impression arrived: ${log()}`);
  const imp = collected[0];
  assert.deepEqual([imp.type, imp.request_id, imp.user, imp.region], ['impression', got.request_id, 'u3', 'eu-west']);
  assert.deepEqual(imp.items.map((it) => it.item), got.items.map((it) => it.id));
  const take = { type: 'take', request_id: got.request_id, item: got.items[0].id, kind: 'buy', position: 1 };
  const fwd = await fetch(`${logging}/v1/events`, { method: 'POST', body: JSON.stringify({ version: '1.0', events: [take] }) });
  assert.equal(fwd.status, 202);
  assert.ok(await until(() => collected.length >= 2), `the take was not forwarded: ${log()}`);
  assert.deepEqual(collected[1], take);
  // The service without EVENTS_URL logs nothing and has no /v1/events.
  await post(JSON.stringify({ k: 2 }));
  assert.equal((await fetch(`${base}/v1/events`, { method: 'POST', body: '{}' })).status, 404);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(collected.length, 2);
});

test('workerd: a bundle from an R2 binding, streamed into the module, answers as the loader does', async () => {
  const summary = await fetch(`${fromR2}/v1/bundle`);
  assert.equal(summary.status, 200, log());
  assert.deepEqual(await summary.json(), JSON.parse(JSON.stringify(direct.summary)));
  assert.equal(r2.stats.gets, 1, 'one get of the object');
  for (const c of fx.recommend.filter((c) => !c.error)) {
    const req = decode(c.input);
    const body = { ...req };
    if (body.consumed) body.consumed = Buffer.from(body.consumed).toString('base64');
    const resp = await fetch(`${fromR2}/v1/recommend`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    assert.equal(resp.status, 200, `${c.name}: ${log()}`);
    assert.deepEqual(stripTimings(await resp.json()), stripTimings(JSON.parse(JSON.stringify(direct.recommend(req)))), c.name);
  }
});

test('workerd: a bundle key missing from the R2 bucket gets 503 naming it', async () => {
  const resp = await fetch(`${missingR2}/v1/recommend`, { method: 'POST', body: '{"k": 2}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(resp.status, 503);
  assert.deepEqual(await resp.json(), { error: 'recommender unavailable: bundle missing.bundle not found' });
});
