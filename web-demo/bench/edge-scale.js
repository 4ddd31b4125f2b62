// edge-scale.js — a large bundle served by the edge worker under workerd,
// as Workers serve it (the worker bundled by esbuild, the module imported
// compiled), the bundle given to the worker two ways in one run: bound as
// data (the binding hands the worker the whole bundle as an ArrayBuffer,
// which the loader copies into the module) and read from an R2 binding
// (test/r2.js's stand-in on loopback; the object's body streamed into the
// module); then by the Go edge node, `edgerec serve --pool 2` (two module
// instances in wazero). For each: the time from the server's start to its
// first answer, its resident memory once it answers and after the
// requests (and its peak), and every answer checked against the loader's
// under Node for the same bundle. Then bench/load-memory.js: what the
// loader holds under Node for the bundle as bytes and as a stream.
//
//   make build web-deps
//   bin/edgerec bench --items 1000000 --compact --no-sources --no-titles --keep out/bench/lean-1m.bundle
//   node web-demo/bench/edge-scale.js --bundle out/bench/lean-1m.bundle [--n 200] [--source data,r2,serve] [--limit-mib 122]
//
// (make edge-scale does all three, with --limit-mib 122; a compact bundle
// with its item-to-item sources, 225 bytes an item, is measured the same
// way and does not fit.) Workers give an isolate 128 MB;
// workerd run locally enforces no such limit, so the script measures what
// the bundle adds to workerd's resident memory (against the same worker
// given no bundle) and reports it; it cannot say what Workers would charge.
// Exit status 1 when an answer differs or the worker fails, and with
// --limit-mib M when the loader's streamed load is charged more than M MiB
// (bench/load-memory.js: make edge-scale holds the lean 1M bundle to a
// Workers isolate's 122 MiB).
import { parseArgs } from 'node:util';
import { mkdtempSync, writeFileSync, copyFileSync, readFileSync, rmSync, existsSync, statSync, createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { EdgeRec } from '../edgerec.js';
import { root, wasmPath } from '../test/fixtures.js';
import { requireWorkerd, freePort, buildWorker, workerCapnp, startWorkerd } from '../test/workerd.js';
import { serveR2, r2Service } from '../test/r2.js';

const usage = 'usage: node bench/edge-scale.js --bundle FILE [--n N] [--source data,r2,serve] [--limit-mib M] [--edgerec BIN]';
const SOURCES = ['data', 'r2', 'serve'];
let args;
try {
  ({ values: args } = parseArgs({ options: { bundle: { type: 'string' }, n: { type: 'string', default: '200' }, source: { type: 'string', default: SOURCES.join(',') }, 'limit-mib': { type: 'string' }, edgerec: { type: 'string', default: path.join(root, 'bin', 'edgerec') }, help: { type: 'boolean', short: 'h' } } }));
} catch (err) {
  console.error(`edge-scale: ${err.message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(`${usage}\nServes FILE with the edge worker under workerd and reports its start-up, memory and answers.\n  --n N           requests, each checked against the loader's under Node (default 200)\n  --source LIST   what serves it, in order: data (workerd, the bundle in a data binding), r2 (workerd, an R2 binding, streamed), serve (edgerec serve --pool 2) (default data,r2,serve)\n  --limit-mib M   exit 1 when the loader's streamed load is charged more than M MiB (bench/load-memory.js)\n  --edgerec BIN   the edgerec command for the serve source (default bin/edgerec, beside bin/recommender.wasm)`);
  process.exit(0);
}
const n = Number(args.n);
const limit = args['limit-mib'];
if (!args.bundle || !Number.isInteger(n) || n < 1 || (limit !== undefined && !(Number(limit) > 0))) {
  console.error(`edge-scale: --bundle is required, --n must be a positive integer and --limit-mib a positive number\n${usage}`);
  process.exit(2);
}
const sources = args.source.split(',').filter(Boolean);
const unknown = sources.find((x) => !SOURCES.includes(x));
if (unknown || sources.length === 0) {
  console.error(`edge-scale: --source ${args.source}: want some of data, r2 and serve, comma-separated\n${usage}`);
  process.exit(2);
}
if (!existsSync(args.bundle)) {
  console.error(`edge-scale: no bundle at ${args.bundle} (bin/edgerec bench --items 1000000 --compact --no-sources --no-titles --keep FILE writes one)`);
  process.exit(2);
}
if (sources.includes('serve') && !existsSync(args.edgerec)) {
  console.error(`edge-scale: no edgerec command at ${args.edgerec} (make build writes bin/edgerec)`);
  process.exit(2);
}
try {
  if (sources.some((x) => x !== 'serve')) requireWorkerd();
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

const bundleSize = statSync(args.bundle).size;
const quiet = { stdout: () => {}, stderr: () => {} };
// The reference answers: the loader under Node, the bundle streamed in.
const direct = await EdgeRec.load(await WebAssembly.compile(readFileSync(wasmPath)),
  Readable.toWeb(createReadStream(args.bundle, { highWaterMark: 1 << 20 })), { ...quiet, length: bundleSize });
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
let r2 = null;
let failed = false;

// serveBundle serves the worker with bundleFile as its BUNDLE, bound as
// data (source 'data') or as the object demo.bundle of an R2 bucket
// (source 'r2'), and returns its base URL.
async function serveBundle(bundleFile, source) {
  const port = await freePort();
  let services = '(name = "main", worker = .worker)';
  let worker;
  if (source === 'r2') {
    r2 = await serveR2({ 'demo.bundle': bundleFile });
    services += `, ${r2Service('r2', r2.port)}`;
    worker = workerCapnp('worker', { r2: 'r2' });
  } else {
    copyFileSync(bundleFile, path.join(dir, 'bundle.bin'));
    worker = workerCapnp('worker');
  }
  writeFileSync(path.join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ ${services} ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
${worker}`);
  ({ proc, log } = startWorkerd(dir));
  return `http://127.0.0.1:${port}`;
}

// serveNode starts `edgerec serve --pool 2` on bundleFile and returns its
// base URL (the process in proc, its output in log). Its compile cache is
// the run's own, empty, so the first answer includes compiling the
// module, as for a node's first start.
async function serveNode(bundleFile) {
  const port = await freePort();
  proc = spawn(args.edgerec, ['serve', '--bundle', bundleFile, '--addr', `127.0.0.1:${port}`, '--pool', '2', '--state-dir', 'none',
    '--cache', path.join(dir, 'serve-cache')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  log = () => out;
  return `http://127.0.0.1:${port}`;
}

// stopServer stops the server of the source at hand (workerd, with its R2
// stand-in, or edgerec serve), if it still runs.
async function stopServer() {
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill();
    await exited;
  }
  proc = null;
  await r2?.close();
  r2 = null;
  rmSync(path.join(dir, 'bundle.bin'), { force: true });
}

// untilAnswer sends req until the server answers it with 200 and returns the
// answer; any status counts when anyStatus.
async function untilAnswer(base, req, anyStatus = false) {
  const start = performance.now();
  for (;;) {
    try {
      const r = await fetch(`${base}/v1/recommend`, { method: 'POST', body: JSON.stringify(req), headers: { 'Content-Type': 'application/json' } });
      if (r.ok || anyStatus) return await r.text();
      throw new Error(`status ${r.status}: ${await r.text()}`);
    } catch (err) {
      if (proc.exitCode !== null || performance.now() - start > 120_000) throw new Error(`the server did not answer: ${err.message}\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

try {
  console.log(`bundle        ${args.bundle}: ${(bundleSize / 2 ** 20).toFixed(1)} MiB, ${total} items`);
  let idle = null;
  if (sources.some((x) => x !== 'serve')) {
    await buildWorker(dir);
    // What workerd holds without a bundle: the same worker, its module
    // compiled and instantiated, given 8 bytes that are no bundle.
    const empty = path.join(dir, 'empty.bin');
    writeFileSync(empty, Buffer.alloc(8));
    await untilAnswer(await serveBundle(empty, 'data'), requests[0], true);
    idle = status(proc.pid);
    await stopServer();
    console.log(`idle worker   workerd resident ${mib(idle.rss)} MiB with the module and no bundle`);
  }

  for (const source of sources) {
    const start = performance.now();
    const base = source === 'serve' ? await serveNode(args.bundle) : await serveBundle(args.bundle, source);
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
        if (differ <= 3) console.error(`${source}, request ${i}: served ${a ?? JSON.stringify(got)}\n           loader ${b}`);
      }
    }
    const perRequest = (performance.now() - t0) / n;
    const after = status(proc.pid);
    await stopServer();
    if (source === 'serve') {
      console.log(`${source.padEnd(13)} edgerec serve --pool 2, two instances in wazero: first answer ${firstMS.toFixed(0)} ms after the process started (an empty compile cache); resident ${mib(loaded.rss)} MiB after it, ${mib(after.rss)} MiB after ${n} requests, peak ${mib(after.hwm)} MiB; ${n - differ} of ${n} answers equal to the loader's (${perRequest.toFixed(2)} ms a round trip)`);
    } else {
      const what = source === 'r2' ? 'R2 binding, streamed into the module' : 'data binding, copied into the module';
      console.log(`${source.padEnd(13)} ${what}: first answer ${firstMS.toFixed(0)} ms after workerd started; workerd resident ${mib(loaded.rss)} MiB after it, ${mib(after.rss)} MiB after ${n} requests, peak ${mib(after.hwm)} MiB (${mib(after.hwm - idle.rss)} over the idle worker); ${n - differ} of ${n} answers equal to the loader's (${perRequest.toFixed(2)} ms a round trip)`);
    }
    if (differ > 0) failed = true;
  }

  // The loader under Node, bytes against a stream, each in its own process.
  const lmArgs = ['--bundle', args.bundle, '--n', '50', ...(limit !== undefined ? ['--limit-mib', limit] : [])];
  const lm = spawnSync(process.execPath, [fileURLToPath(new URL('./load-memory.js', import.meta.url)), ...lmArgs], { encoding: 'utf8' });
  process.stdout.write(lm.stdout.split('\n').filter(Boolean).map((l) => `node loader   ${l}\n`).join(''));
  if (lm.status !== 0) {
    console.error(`edge-scale: load-memory failed: ${lm.stderr}`);
    failed = true;
  }
} catch (err) {
  console.error(`edge-scale: ${err.message}`);
  failed = true;
} finally {
  await stopServer();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
