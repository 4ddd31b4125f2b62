// edge-scale.js — a large bundle served by the edge worker under workerd,
// as Workers serve it (the worker bundled by esbuild, the module imported
// compiled, the bundle bound as data): the time from workerd's start to
// its first answer, workerd's resident memory once it answers and after
// the requests (and its peak), and every answer checked against the
// loader's under Node for the same bundle.
//
//   make build web-deps
//   bin/edgerec bench --items 1000000 --compact --keep out/bench/compact-1m.bundle
//   node web-demo/bench/edge-scale.js --bundle out/bench/compact-1m.bundle [--n 200]
//
// (make edge-scale does all three.) Workers give an isolate 128 MB;
// workerd run locally enforces no such limit, so the script measures what
// the bundle adds to workerd's resident memory (against the same worker
// given no bundle) and says whether that fits. Exit status 1 when an
// answer differs or the worker fails.
import { parseArgs } from 'node:util';
import { mkdtempSync, writeFileSync, copyFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EdgeRec } from '../edgerec.js';
import { wasmPath } from '../test/fixtures.js';
import { requireWorkerd, freePort, buildWorker, workerCapnp, startWorkerd } from '../test/workerd.js';

const usage = 'usage: node bench/edge-scale.js --bundle FILE [--n N]';
let args;
try {
  ({ values: args } = parseArgs({ options: { bundle: { type: 'string' }, n: { type: 'string', default: '200' }, help: { type: 'boolean', short: 'h' } } }));
} catch (err) {
  console.error(`edge-scale: ${err.message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(`${usage}\nServes FILE with the edge worker under workerd and reports its start-up, memory and answers.`);
  process.exit(0);
}
const n = Number(args.n);
if (!args.bundle || !Number.isInteger(n) || n < 1) {
  console.error(`edge-scale: --bundle is required and --n must be a positive integer\n${usage}`);
  process.exit(2);
}
if (!existsSync(args.bundle)) {
  console.error(`edge-scale: no bundle at ${args.bundle} (bin/edgerec bench --items 1000000 --compact --keep FILE writes one)`);
  process.exit(2);
}
try {
  requireWorkerd();
} catch (err) {
  console.error(`edge-scale: ${err.message}`);
  process.exit(2);
}

const mib = (kb) => (kb / 1024).toFixed(0);
// status returns workerd's resident and peak resident memory in KiB.
function status(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

const bundleBytes = readFileSync(args.bundle);
const quiet = { stdout: () => {}, stderr: () => {} };
const direct = await EdgeRec.load(await WebAssembly.compile(readFileSync(wasmPath)), bundleBytes, quiet);
const { total } = direct.catalog({ offset: 0, limit: 1 });
// Requests of 10 history items spread over the catalog, k = 20.
const ids = [];
for (let off = 0; ids.length < 10 * n + 10; off = (off + 7919 * 5000) % total) {
  for (const it of direct.catalog({ offset: off, limit: 5000 }).items) ids.push(it.id);
}
const requests = [];
for (let i = 0; i < n; i++) {
  const history = [];
  for (let j = 0; j < 10; j++) history.push({ item: ids[(i * 97 + j * 31) % ids.length] });
  requests.push({ k: 20, history });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'edgerec-edge-scale-'));
let proc = null;
let log = () => '';
let failed = false;

// serveBundle serves the worker with bundleFile bound as BUNDLE and
// returns its base URL.
async function serveBundle(bundleFile) {
  copyFileSync(bundleFile, path.join(dir, 'bundle.bin'));
  const port = await freePort();
  writeFileSync(path.join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
${workerCapnp('worker')}`);
  ({ proc, log } = startWorkerd(dir));
  return `http://127.0.0.1:${port}`;
}

function stopWorkerd() {
  if (proc) proc.kill();
  proc = null;
}

// untilAnswer sends req until workerd answers it with 200 and returns the
// answer; any status counts when anyStatus.
async function untilAnswer(base, req, anyStatus = false) {
  const start = performance.now();
  for (;;) {
    try {
      const r = await fetch(`${base}/v1/recommend`, { method: 'POST', body: JSON.stringify(req), headers: { 'Content-Type': 'application/json' } });
      if (r.ok || anyStatus) return await r.text();
      throw new Error(`status ${r.status}: ${await r.text()}`);
    } catch (err) {
      if (proc.exitCode !== null || performance.now() - start > 120_000) throw new Error(`workerd did not answer: ${err.message}\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

try {
  await buildWorker(dir);

  // What workerd holds without a bundle: the same worker, its module
  // compiled and instantiated, given 8 bytes that are no bundle.
  const empty = path.join(dir, 'empty.bin');
  writeFileSync(empty, Buffer.alloc(8));
  let base = await serveBundle(empty);
  await untilAnswer(base, requests[0], true);
  const idle = status(proc.pid);
  stopWorkerd();

  const start = performance.now();
  base = await serveBundle(args.bundle);
  const first = JSON.parse(await untilAnswer(base, requests[0]));
  const firstMS = performance.now() - start;
  const loaded = status(proc.pid);
  let differ = 0;
  const t0 = performance.now();
  for (const [i, req] of requests.entries()) {
    const got = i === 0 ? first : await (await fetch(`${base}/v1/recommend`, { method: 'POST', body: JSON.stringify(req), headers: { 'Content-Type': 'application/json' } })).json();
    const want = direct.recommend(req);
    const a = got.items?.map((x) => x.id).join(' ');
    const b = want.items.map((x) => x.id).join(' ');
    if (a !== b) {
      differ++;
      if (differ <= 3) console.error(`request ${i}: workerd ${a ?? JSON.stringify(got)}\n           loader  ${b}`);
    }
  }
  const perRequest = (performance.now() - t0) / n;
  const after = status(proc.pid);
  const cost = after.hwm - idle.rss;
  console.log(`bundle        ${args.bundle}: ${(bundleBytes.length / 2 ** 20).toFixed(1)} MiB, ${total} items`);
  console.log(`first answer  ${firstMS.toFixed(0)} ms after workerd started (the module compiled, the bundle read into it and checked, one request)`);
  console.log(`memory        workerd resident: ${mib(idle.rss)} MiB with the module and no bundle; with the bundle ${mib(loaded.rss)} MiB after the first answer, ${mib(after.rss)} MiB after ${n} requests, peak ${mib(after.hwm)} MiB`);
  console.log(`requests      ${n}, ${perRequest.toFixed(2)} ms each as a round trip of Node's fetch; ${n - differ} answers equal to the loader's under Node`);
  console.log(`128 MB        the bundle costs workerd ${mib(cost)} MiB at its peak beyond the idle worker: ${cost / 1024 <= 128 ? 'within' : 'over'} Workers' 128 MB per isolate`);
  failed = differ > 0;
} catch (err) {
  console.error(`edge-scale: ${err.message}`);
  failed = true;
} finally {
  stopWorkerd();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
