// Streaming a bundle into the module: EdgeRec.load and loadBundle given a
// fetch Response, a ReadableStream or an R2 object body write its chunks
// straight into the module's buffer. The answers must be those of the same
// bundle loaded as bytes, and a stream that lies about its length must
// fail without touching the bundle being served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { encode, decode } from '@msgpack/msgpack';
import { EdgeRec, LIMITS } from '../edgerec.js';
import { wasmBytes, fixtures, compactFixturesDir, stripTimings } from './fixtures.js';

const quiet = { stdout: () => {}, stderr: () => {} };
const fx = fixtures();
const module = await WebAssembly.compile(wasmBytes());
const byBytes = await EdgeRec.load(module, fx.bundle, quiet);

// chunked returns a ReadableStream of bytes cut into chunks whose sizes
// cycle through sizes; each chunk is a view into a larger buffer, at an
// odd offset, as stream chunks may be. reads counts the chunks taken.
function chunked(bytes, sizes, stats = {}) {
  let off = 0;
  let i = 0;
  stats.reads = 0;
  stats.cancelled = false;
  return new ReadableStream({
    pull(controller) {
      if (off >= bytes.length) {
        controller.close();
        return;
      }
      const n = Math.min(sizes[i++ % sizes.length], bytes.length - off);
      const backing = new Uint8Array(n + 8);
      backing.set(bytes.subarray(off, off + n), 3);
      controller.enqueue(backing.subarray(3, 3 + n));
      off += n;
      stats.reads++;
    },
    cancel() { stats.cancelled = true; },
  }, { highWaterMark: 0 }); // no read before the loader asks
}

// answers runs every recorded request and catalog page through rec and
// returns what came back (decoded, per-stage microseconds zeroed as they
// differ from call to call; or the error's kind and message).
function answers(rec, f) {
  const run = (fn) => {
    try {
      return stripTimings(decode(fn()));
    } catch (err) {
      return `${err.kind}: ${err.message}`;
    }
  };
  return {
    summary: rec.summary,
    recommend: f.recommend.map((c) => [c.name, run(() => rec.recommendBytes(c.input))]),
    catalog: f.catalog.map((c) => [c.name, run(() => encode(rec.catalog(c.input.length ? decode(c.input) : {})))]),
  };
}


const oddSizes = [1, 7, 4093, 65537, 13, 3];

test('a bundle streamed in chunks of odd sizes answers as its bytes do', async () => {
  const sets = [['full', fx]];
  if (existsSync(path.join(compactFixturesDir, 'fixtures.json'))) sets.push(['compact', fixtures(compactFixturesDir)]);
  else console.warn(`stream test: no compact fixtures in ${compactFixturesDir}; the full bundle only`);
  for (const [name, f] of sets) {
    const want = answers(await EdgeRec.load(module, f.bundle, quiet), f);
    for (const sizes of [oddSizes, [65536], [f.bundle.length]]) {
      const stats = {};
      const rec = await EdgeRec.load(module, chunked(f.bundle, sizes, stats), { ...quiet, length: f.bundle.length });
      assert.ok(stats.reads >= Math.ceil(f.bundle.length / Math.max(...sizes)), `${name}: the stream was read in chunks`);
      assert.deepEqual(answers(rec, f), want, `${name}, chunks of ${sizes.join(', ')}`);
    }
    // An R2 object body: {body, size}.
    const rec = await EdgeRec.instantiate(module, quiet);
    const summary = await rec.loadBundle({ body: chunked(f.bundle, oddSizes), size: f.bundle.length, key: 'b' });
    assert.deepEqual(summary, want.summary, `${name}: R2 object body`);
    assert.deepEqual(answers(rec, f), want, `${name}: R2 object body`);
  }
});

// serving returns an instance serving the full bundle and a check that it
// still does, answering as the bytes-loaded instance.
async function serving() {
  const rec = await EdgeRec.load(module, fx.bundle, quiet);
  const req = fx.recommend.find((c) => !c.error && !decode(c.input).debug);
  const want = Buffer.from(byBytes.recommendBytes(req.input));
  return {
    rec,
    check(what) {
      assert.deepEqual(rec.summary, byBytes.summary, `${what}: the summary is the previous bundle's`);
      assert.deepEqual(Buffer.from(rec.recommendBytes(req.input)), want, `${what}: the previous bundle still answers`);
      assert.equal(rec.broken, false);
    },
  };
}

test('a short stream fails clearly, frees its buffer, and the previous bundle keeps serving', async () => {
  const { rec, check } = await serving();
  const n = fx.bundle.length;
  await assert.rejects(rec.loadBundle(chunked(fx.bundle.subarray(0, n - 5), oddSizes), { length: n }),
    { name: 'EdgeRecError', kind: 'input', message: `the bundle stream ended after ${n - 5} of its declared ${n} bytes` });
  check('short by 5 bytes');
  // An empty stream, and an R2 object whose body ends early.
  await assert.rejects(rec.loadBundle(chunked(new Uint8Array(0), [1]), { length: n }), { kind: 'input', message: /ended after 0 of/ });
  await assert.rejects(rec.loadBundle({ body: chunked(fx.bundle.subarray(0, 100), [7]), size: n }), { kind: 'input', message: /ended after 100 of/ });
  check('empty and short R2 bodies');
  // The buffer of each failed load is freed: 40 failures of a stream that
  // declares 8 MiB would hold 320 MiB if their buffers were kept.
  const before = rec.memoryBytes;
  for (let i = 0; i < 40; i++) {
    await assert.rejects(rec.loadBundle(chunked(fx.bundle, [65536]), { length: 8 << 20 }), { kind: 'input' });
  }
  const grew = rec.memoryBytes - before;
  assert.ok(grew < 64 << 20, `memory grew ${grew} bytes over 40 failed 8 MiB loads: their buffers were not freed`);
  check('after 40 failed loads');
});

test('an overlong stream fails clearly, is cancelled, and the previous bundle keeps serving', async () => {
  const { rec, check } = await serving();
  const n = fx.bundle.length;
  const stats = {};
  await assert.rejects(rec.loadBundle(chunked(fx.bundle, oddSizes, stats), { length: n - 1 }),
    { name: 'EdgeRecError', kind: 'input', message: `the bundle stream ran past its declared length of ${n - 1} bytes` });
  assert.equal(stats.cancelled, true, 'the stream was cancelled');
  check('one byte over');
  await assert.rejects(rec.loadBundle({ body: chunked(fx.bundle, [4096]), size: 4095 }), { kind: 'input', message: /ran past its declared length of 4095/ });
  await assert.rejects(rec.loadBundle(chunked(fx.bundle, [1]), { length: 0 }), { kind: 'input', message: /ran past its declared length of 0/ });
  check('overlong R2 body, length 0');
});

test('a stream that errors, or yields what is not bytes, fails as input', async () => {
  const { rec, check } = await serving();
  let sent = 0;
  const failing = new ReadableStream({
    pull(c) {
      if (sent++ < 3) c.enqueue(fx.bundle.subarray(0, 1000));
      else c.error(new Error('connection reset'));
    },
  });
  await assert.rejects(rec.loadBundle(failing, { length: fx.bundle.length }), { kind: 'input', message: 'reading the bundle stream: connection reset' });
  const strings = new ReadableStream({ start(c) { c.enqueue('not bytes'); c.close(); } });
  await assert.rejects(rec.loadBundle(strings, { length: 9 }), { kind: 'input', message: /a chunk of the bundle stream must be an ArrayBuffer/ });
  check('errored and string streams');
});

test('a length over the module\'s limit is refused before alloc', async () => {
  const { rec, check } = await serving();
  const before = rec.memoryBytes;
  for (const [what, load] of [
    ['R2 size', (s) => rec.loadBundle({ body: s, size: LIMITS.bundleBytes + 1 })],
    ['length option', (s) => rec.loadBundle(s, { length: 2 ** 32 })],
    ['Content-Length', (s) => rec.loadBundle(new Response(s, { headers: { 'Content-Length': String(LIMITS.bundleBytes + 1) } }))],
  ]) {
    const stats = {};
    await assert.rejects(load(chunked(fx.bundle, [4096], stats)), { kind: 'input', message: /more than the module's limit of 1073741824 \(edgerec_alloc's largest buffer\)/ }, what);
    assert.equal(stats.reads, 0, `${what}: nothing read`);
  }
  for (const bad of [-1, 1.5, NaN]) {
    await assert.rejects(rec.loadBundle(chunked(fx.bundle, [4096]), { length: bad }), { kind: 'input', message: /is not a byte count/ });
  }
  assert.equal(rec.memoryBytes, before, 'no buffer was asked for');
  check('refused lengths');
});

// track wraps resp so that a call of arrayBuffer() (the fallback) is seen.
function track(resp) {
  const seen = { arrayBuffer: false };
  const ab = resp.arrayBuffer.bind(resp);
  resp.arrayBuffer = () => { seen.arrayBuffer = true; return ab(); };
  return seen;
}

test('a Response with Content-Length streams; one without falls back to arrayBuffer', async () => {
  const n = fx.bundle.length;
  let resp = new Response(chunked(fx.bundle, oddSizes), { headers: { 'Content-Length': String(n) } });
  let seen = track(resp);
  let rec = await EdgeRec.load(module, resp, quiet);
  assert.equal(seen.arrayBuffer, false, 'streamed, not read whole');
  assert.deepEqual(rec.summary, byBytes.summary);

  resp = new Response(chunked(fx.bundle, oddSizes));
  seen = track(resp);
  rec = await EdgeRec.load(module, Promise.resolve(resp), quiet);
  assert.equal(seen.arrayBuffer, true, 'no length: read whole');
  assert.deepEqual(rec.summary, byBytes.summary);

  // The length option streams a Response that does not say its length.
  resp = new Response(chunked(fx.bundle, oddSizes));
  seen = track(resp);
  rec = await EdgeRec.load(module, resp, { ...quiet, length: n });
  assert.equal(seen.arrayBuffer, false);
  assert.deepEqual(rec.summary, byBytes.summary);

  // A Content-Length that lies is caught like any short stream.
  resp = new Response(chunked(fx.bundle.subarray(0, n - 1), oddSizes), { headers: { 'Content-Length': String(n) } });
  await assert.rejects(rec.loadBundle(resp), { kind: 'input', message: `the bundle stream ended after ${n - 1} of its declared ${n} bytes` });

  // A ReadableStream without a length is read whole, then loaded.
  rec = await EdgeRec.load(module, chunked(fx.bundle, oddSizes), quiet);
  assert.deepEqual(rec.summary, byBytes.summary);
});

test('fetch over HTTP: Content-Length streams, chunked and gzip fall back, errors are reported', async () => {
  const gz = gzipSync(fx.bundle);
  const server = createServer((req, res) => {
    if (req.url === '/plain') res.writeHead(200, { 'Content-Length': fx.bundle.length, 'Content-Type': 'application/octet-stream' }).end(fx.bundle);
    else if (req.url === '/chunked') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      for (let off = 0; off < fx.bundle.length; off += 50000) res.write(fx.bundle.subarray(off, off + 50000));
      res.end();
    } else if (req.url === '/gzip') res.writeHead(200, { 'Content-Length': gz.length, 'Content-Encoding': 'gzip' }).end(gz);
    else res.writeHead(404).end('no such bundle');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    for (const route of ['plain', 'chunked', 'gzip']) {
      const resp = await fetch(`${base}/${route}`);
      const seen = track(resp);
      const rec = await EdgeRec.load(module, resp, quiet);
      assert.equal(seen.arrayBuffer, route !== 'plain', `${route}: streamed only with a Content-Length of the body as read`);
      assert.deepEqual(rec.summary, byBytes.summary, route);
    }
    // A compressed body's Content-Length counts the compressed bytes: the
    // loader does not take it for the length (above), and a length option
    // that is wrong fails clearly.
    const { rec } = await serving();
    await assert.rejects(rec.loadBundle(fetch(`${base}/gzip`), { length: gz.length }), { kind: 'input', message: /ran past its declared length/ });
    await assert.rejects(EdgeRec.load(module, fetch(`${base}/missing`), quiet), { kind: 'input', message: /^fetching the bundle: HTTP 404 Not Found for http:\/\/127\.0\.0\.1:\d+\/missing$/ });
    await assert.rejects(rec.loadBundle(fetch(`${base}/missing`)), { kind: 'input', message: /HTTP 404/ });
    assert.deepEqual(rec.summary, byBytes.summary);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('a closed instance stops a stream that is loading', async () => {
  const rec = await EdgeRec.load(module, fx.bundle, quiet);
  const stats = {};
  let reads = 0;
  const s = chunked(fx.bundle, [1000], stats);
  const reader = s.getReader();
  const slow = new ReadableStream({
    async pull(c) {
      if (++reads === 3) rec.close();
      const { done, value } = await reader.read();
      if (done) c.close();
      else c.enqueue(value);
    },
  });
  await assert.rejects(rec.loadBundle(slow, { length: fx.bundle.length }), { kind: 'closed' });
});

// byteStream returns bytes as a byte stream (type 'bytes', as fetch's and
// R2's bodies are) that fills a BYOB reader's buffer with at most `most`
// bytes a read, and counts the reads made with and without one.
function byteStream(bytes, most, stats) {
  let off = 0;
  stats.byob = 0;
  stats.plain = 0;
  return new ReadableStream({
    type: 'bytes',
    pull(c) {
      const req = c.byobRequest;
      if (off >= bytes.length) {
        c.close();
        req?.respond(0);
        return;
      }
      if (req) {
        const n = Math.min(most, req.view.byteLength, bytes.length - off);
        req.view.set(bytes.subarray(off, off + n));
        req.respond(n);
        stats.byob++;
        off += n;
      } else {
        const n = Math.min(most, bytes.length - off);
        c.enqueue(bytes.slice(off, off + n));
        stats.plain++;
        off += n;
      }
    },
  }, { highWaterMark: 0 });
}

test('a byte stream is read into one reused buffer, and its length still holds', async () => {
  const want = answers(byBytes, fx);
  const stats = {};
  const rec = await EdgeRec.load(module, byteStream(fx.bundle, 4093, stats), { ...quiet, length: fx.bundle.length });
  assert.equal(stats.plain, 0, 'every read went into the loader\'s buffer');
  assert.ok(stats.byob >= Math.ceil(fx.bundle.length / 4093), `read in pieces (${stats.byob} reads)`);
  assert.deepEqual(answers(rec, fx), want);

  // One byte more than declared, or one fewer: refused, the bundle kept.
  for (const [bytes, what] of [[new Uint8Array([...fx.bundle, 0]), 'ran past'], [fx.bundle.subarray(1), 'ended after']]) {
    await assert.rejects(rec.loadBundle(byteStream(bytes, 65536, {}), { length: fx.bundle.length }),
      (err) => err.kind === 'input' && err.message.includes(what), what);
    assert.deepEqual(answers(rec, fx), want, `after a stream that ${what} its length`);
  }
});
