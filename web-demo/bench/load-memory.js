// load-memory.js — what the loader holds under Node to load a bundle, read
// two ways, each in a fresh process: as bytes (the file read whole into a
// Buffer, then copied into the module: the bundle held twice) and as a
// stream (the file's chunks written straight into the module's buffer, its
// length known; read 1 MiB at a time as the loader asks). For each: the load's time, the JS-side bytes the bundle
// left alive (process.memoryUsage().arrayBuffers), the module's linear
// memory after the load and after --n requests, and the process's peak
// resident memory, against the same process with the module instantiated
// and no bundle.
//
//   node web-demo/bench/load-memory.js --bundle out/bench/compact-1m.bundle [--n 50] [--json] [--limit-mib M]
//
// (bench/edge-scale.js runs it beside workerd.) With --limit-mib, exit
// status 1 when the streamed load is charged more than M MiB: the
// module's memory after the requests, the JS heap and the most the
// stream's buffers held, as an isolate's limit counts them (a Workers
// isolate's 128 MB is 122 MiB).
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, existsSync, openSync, readSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EdgeRec } from '../edgerec.js';
import { wasmPath } from '../test/fixtures.js';

const usage = 'usage: node bench/load-memory.js --bundle FILE [--n N] [--json] [--limit-mib M]';
let args;
try {
  ({ values: args } = parseArgs({ options: {
    bundle: { type: 'string' }, n: { type: 'string', default: '50' }, json: { type: 'boolean' },
    mode: { type: 'string' }, 'limit-mib': { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } }));
} catch (err) {
  console.error(`load-memory: ${err.message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(`${usage}\nLoads FILE into the loader as bytes and as a stream, each in a fresh Node process, and reports the memory each holds.\n  --n N           requests run after the load (default 50)\n  --json          print the figures as JSON\n  --limit-mib M   exit 1 when the streamed load is charged more than M MiB (module memory after the requests + JS heap + stream buffers)`);
  process.exit(0);
}
const n = Number(args.n);
const limit = args['limit-mib'] === undefined ? null : Number(args['limit-mib']);
if (!args.bundle || !existsSync(args.bundle) || !Number.isInteger(n) || n < 0 || (limit !== null && !(limit > 0))) {
  console.error(`load-memory: --bundle must name a file, --n be a whole number and --limit-mib a positive number\n${usage}`);
  process.exit(2);
}

const MiB = 2 ** 20;

/** fileStream returns the file as a byte stream (as fetch's and R2's
 * bodies are) of 1 MiB chunks, each read when the consumer asks for it (as
 * a network body is: Node's Readable.toWeb reads ahead of its consumer). A
 * BYOB read fills the reader's buffer; a default read gets a new one. */
function fileStream(file, seen) {
  const fd = openSync(file, 'r');
  return new ReadableStream({
    type: 'bytes',
    pull(c) {
      seen.arrayBuffers = Math.max(seen.arrayBuffers, process.memoryUsage().arrayBuffers);
      const req = c.byobRequest;
      const buf = req ? req.view : new Uint8Array(1 << 20);
      const got = readSync(fd, buf, 0, buf.byteLength, null);
      if (got === 0) {
        closeSync(fd);
        c.close();
        req?.respond(0);
      } else if (req) req.respond(got);
      else c.enqueue(got < buf.length ? buf.subarray(0, got) : buf);
    },
    cancel() { closeSync(fd); },
  }, { highWaterMark: 0 });
}

/** measure runs in the child: one load in the given mode, then n requests. */
async function measure(mode) {
  const quiet = { stdout: () => {}, stderr: () => {} };
  const module = await WebAssembly.compile(readFileSync(wasmPath));
  const rec = await EdgeRec.instantiate(module, quiet);
  globalThis.gc?.();
  const base = { rss: process.memoryUsage().rss, wasm: rec.memoryBytes };
  const t0 = performance.now();
  const seen = { arrayBuffers: 0 }; // the most the stream's chunks held at once
  let held = null; // what the caller keeps of the bundle: the bytes, in bytes mode
  if (mode === 'bytes') {
    held = readFileSync(args.bundle);
    rec.loadBundle(held);
  } else if (mode === 'stream') {
    const length = statSync(args.bundle).size;
    await rec.loadBundle(fileStream(args.bundle, seen), { length });
  } else if (mode !== 'none') {
    throw new Error(`mode ${mode}`);
  }
  const loadMS = performance.now() - t0;
  globalThis.gc?.();
  const mem = process.memoryUsage();
  const afterLoad = { wasm: rec.memoryBytes, arrayBuffers: mem.arrayBuffers, heapUsed: mem.heapUsed };
  let wasmAfterRequests = rec.memoryBytes;
  if (mode !== 'none' && n > 0) {
    const { total } = rec.catalog({ limit: 1 });
    const ids = rec.catalog({ offset: Math.floor(total / 2), limit: 1000 }).items.map((it) => it.id);
    for (let i = 0; i < n; i++) {
      const history = [];
      for (let j = 0; j < 10; j++) history.push({ item: ids[(i * 97 + j * 31) % ids.length] });
      rec.recommend({ k: 20, history });
    }
    wasmAfterRequests = rec.memoryBytes;
  }
  const peak = process.resourceUsage().maxRSS * 1024;
  if (held) held = held.length; // kept alive until here, as a caller that holds its bytes would
  return { mode, loadMS, base, afterLoad, chunkPeak: seen.arrayBuffers, wasmAfterRequests, peakRSS: peak, summary: rec.summary };
}

if (args.mode) {
  process.stdout.write(JSON.stringify(await measure(args.mode)));
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const results = {};
for (const mode of ['none', 'bytes', 'stream']) {
  const r = spawnSync(process.execPath, ['--expose-gc', self, '--bundle', args.bundle, '--n', String(n), '--mode', mode], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) {
    console.error(`load-memory: the ${mode} run failed: ${r.stderr}`);
    process.exit(1);
  }
  results[mode] = JSON.parse(r.stdout);
}
// charged is what an isolate's limit counts of the streamed load.
const st = results.stream;
const charged = st.wasmAfterRequests + st.afterLoad.heapUsed + st.chunkPeak;
const over = limit !== null && charged > limit * MiB;
if (over) console.error(`load-memory: the streamed load is charged ${(charged / MiB).toFixed(1)} MiB, over the limit of ${limit} MiB`);
if (args.json) {
  console.log(JSON.stringify({ ...results, chargedStream: charged, limitMiB: limit, over }));
  process.exit(over ? 1 : 0);
}
const f = (b) => (b / MiB).toFixed(1);
const size = statSync(args.bundle).size;
console.log(`bundle   ${args.bundle}: ${f(size)} MiB, ${results.stream.summary.items} items`);
console.log(`no bundle: peak resident ${f(results.none.peakRSS)} MiB, module memory ${f(results.none.base.wasm)} MiB`);
for (const mode of ['bytes', 'stream']) {
  const r = results[mode];
  console.log(`${mode.padEnd(6)}   load ${r.loadMS.toFixed(0)} ms; after it: ArrayBuffers ${f(r.afterLoad.arrayBuffers)} MiB + module memory ${f(r.afterLoad.wasm)} MiB (${f(r.wasmAfterRequests)} after ${n} requests), JS heap ${f(r.afterLoad.heapUsed)} MiB;${mode === 'stream' ? ` ArrayBuffers at most ${f(r.chunkPeak)} MiB while it read (chunks read, copied, not yet collected);` : ''} peak resident ${f(r.peakRSS)} MiB (${f(r.peakRSS - results.none.peakRSS)} over no bundle)`);
}
console.log(`isolate  the streamed load is charged ${f(charged)} MiB (module memory after the requests + JS heap + stream buffers)${limit === null ? '' : `: ${over ? 'OVER' : 'within'} the limit of ${limit} MiB`}`);
if (over) process.exit(1);
