// The edge-worker example under Node: its fetch handler, called with the
// Request objects a Workers-style runtime would pass, answers like the
// loader called directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from "@msgpack/msgpack";
import worker, { eventStats, NO_WASM_BINDING } from '../worker/worker.js';
import { EdgeRec } from '../edgerec.js';
import { wasmBytes, fixtures, stripTimings } from './fixtures.js';

const fx = fixtures();
const module = await WebAssembly.compile(wasmBytes());
// A KV-like binding, to exercise that path.
const env = { RECOMMENDER_WASM: module, BUNDLE: { get: async (key, type) => (key === 'demo.bundle' && type === 'arrayBuffer' ? fx.bundle.buffer.slice(fx.bundle.byteOffset, fx.bundle.byteOffset + fx.bundle.byteLength) : null) } };
const direct = await EdgeRec.load(module, fx.bundle, { stdout: () => {}, stderr: () => {} });

const post = (body, type = 'application/json') => new Request('https://edge.example/v1/recommend', { method: 'POST', body, headers: { 'Content-Type': type } });

test('JSON requests get the loader\'s answers', async () => {
  for (const c of fx.recommend.filter((c) => !c.error)) {
    const req = decode(c.input);
    const body = { ...req };
    if (body.consumed) body.consumed = Buffer.from(body.consumed).toString('base64');
    const resp = await worker.fetch(post(JSON.stringify(body)), env);
    assert.equal(resp.status, 200, c.name);
    assert.equal(resp.headers.get('Content-Type'), 'application/json');
    const got = await resp.json();
    assert.deepEqual(stripTimings(got), stripTimings(JSON.parse(JSON.stringify(direct.recommend(req)))), c.name);
  }
});

test('msgpack requests get the wazero host\'s bytes', async () => {
  const c = fx.recommend.find((c) => c.name === 'consumed filter');
  const resp = await worker.fetch(post(c.input, 'application/msgpack'), env);
  assert.equal(resp.status, 200);
  assert.deepEqual(new Uint8Array(await resp.arrayBuffer()), c.output);
});

test('bad requests get 400 with the module\'s message', async () => {
  let resp = await worker.fetch(post(JSON.stringify({ k: -1 })), env);
  assert.equal(resp.status, 400);
  assert.deepEqual(await resp.json(), { error: 'k = -1 is out of range [0, 500]' });
  resp = await worker.fetch(post('{"k": '), env);
  assert.equal(resp.status, 400);
  assert.match((await resp.json()).error, /^malformed JSON/);
  resp = await worker.fetch(post('[1]'), env);
  assert.equal(resp.status, 400);
  resp = await worker.fetch(post(new Uint8Array([0xc1]), 'application/msgpack'), env);
  assert.equal(resp.status, 400);
  assert.match((await resp.json()).error, /^malformed request: msgpack/);
  resp = await worker.fetch(new Request('https://edge.example/v1/recommend'), env);
  assert.equal(resp.status, 405);
  assert.equal(resp.headers.get('Allow'), 'POST');
  resp = await worker.fetch(new Request('https://edge.example/other'), env);
  assert.equal(resp.status, 404);
  // Still serving.
  resp = await worker.fetch(post(JSON.stringify({ k: 4 })), env);
  assert.equal((await resp.json()).items.length, 4);
});

test('a client\'s bad JSON is 400 with the node\'s wording, never 503', async () => {
  // Each of these is a 400 from edgerec serve (host/server): bad base64,
  // unknown fields at any depth, fractions where integers go, wrong types.
  const cases = [
    [{ k: 2, consumed: '!!!' }, 'malformed JSON request: consumed: illegal base64 data at input byte 0'],
    [{ k: 2, consumed: 'AAA' }, /^malformed JSON request: consumed: illegal base64 data/],
    [{ k: 2, consumed: 12 }, 'malformed JSON request: consumed is 12: want base64, a string'],
    [{ kk: 2 }, 'malformed JSON request: unknown field "kk"'],
    [{ k: 2, context: { regoin: 'eu' } }, 'malformed JSON request: unknown field "regoin" in context'],
    [{ k: 2, history: [{ item: 'i1', tiem: 1 }] }, 'malformed JSON request: unknown field "tiem" in history[0]'],
    [{ k: 2.5 }, 'malformed JSON request: k is 2.5: want an integer'],
    [{ k: 2, history: [{ item: 'i1', time: 1767225600.5 }] }, 'malformed JSON request: history[0].time is 1767225600.5: want an integer (Unix seconds: Math.floor(Date.now() / 1000))'],
    [{ k: '2' }, 'malformed JSON request: k is "2": want an integer'],
    [{ k: 2, history: Array.from({ length: 4097 }, () => ({ item: 'i1' })) }, 'history has 4097 entries, more than the limit of 4096'],
    [{ k: 2, filters: { exclude: Array(4097).fill('i1') } }, 'filters.exclude has 4097 entries, more than the limit of 4096'],
  ];
  for (const [body, want] of cases) {
    const resp = await worker.fetch(post(JSON.stringify(body)), env);
    assert.equal(resp.status, 400, JSON.stringify(body).slice(0, 80));
    const { error } = await resp.json();
    if (typeof want === 'string') assert.equal(error, want);
    else assert.match(error, want);
  }
  // Go's encoding/json matches names in any case: so does the worker.
  let resp = await worker.fetch(post(JSON.stringify({ K: 3, Context: { Region: 'eu' } })), env);
  assert.equal(resp.status, 200);
  assert.equal((await resp.json()).items.length, 3);
  // Good base64 still works, with a form type (curl -d) or none read as JSON.
  resp = await worker.fetch(post(JSON.stringify({ k: 2 }), 'application/x-www-form-urlencoded'), env);
  assert.equal(resp.status, 200);
  resp = await worker.fetch(new Request('https://edge.example/v1/recommend', { method: 'POST', body: new TextEncoder().encode('{"k": 2}') }), env);
  assert.equal(resp.status, 200);
});

test('msgpack is read under either type; another Content-Type is 415', async () => {
  const c = fx.recommend.find((c) => c.name === 'consumed filter');
  let resp = await worker.fetch(post(c.input, 'application/x-msgpack'), env);
  assert.equal(resp.status, 200);
  assert.equal(resp.headers.get('Content-Type'), 'application/msgpack');
  assert.deepEqual(new Uint8Array(await resp.arrayBuffer()), c.output);
  resp = await worker.fetch(post(c.input, 'application/msgpack; charset=binary'), env);
  assert.deepEqual(new Uint8Array(await resp.arrayBuffer()), c.output);
  resp = await worker.fetch(post(c.input, 'application/octet-stream'), env);
  assert.equal(resp.status, 415);
  assert.deepEqual(await resp.json(), { error: 'Content-Type "application/octet-stream": send application/json or application/msgpack' });
  // A string body without headers (fetch sends text/plain) is JSON, as it was.
  resp = await worker.fetch(new Request('https://edge.example/v1/recommend', { method: 'POST', body: '{"k": 2}' }), env);
  assert.equal(resp.status, 200);
});

test('without the RECOMMENDER_WASM binding the worker says how to pass it', async () => {
  const { default: bare } = await import('../worker/worker.js?no-wasm');
  for (const req of [new Request('https://edge.example/v1/bundle'), post('{"k": 2}')]) {
    const resp = await bare.fetch(req, { BUNDLE: fx.bundle });
    assert.equal(resp.status, 503);
    assert.deepEqual(await resp.json(), { error: `recommender unavailable: ${NO_WASM_BINDING}` });
  }
  assert.match(NO_WASM_BINDING, /^no RECOMMENDER_WASM binding: import the module and pass it as shown in web-demo\/README\.md$/);
});

test('GET /v1/bundle reports the summary', async () => {
  const resp = await worker.fetch(new Request('https://edge.example/v1/bundle'), env);
  assert.equal(resp.status, 200);
  assert.deepEqual(await resp.json(), decode(fx.summary));
});

// collector starts a stub events collector on loopback: it keeps the
// batches posted to it and answers with status (202 by default).
async function collector(status = 202) {
  const http = await import('node:http');
  const got = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (req.method === 'POST' && req.url === '/v1/events') got.push(...JSON.parse(Buffer.concat(chunks).toString()).events);
    res.writeHead(status, { 'Content-Type': 'application/json' }).end('{}');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/v1/events`, got, close: () => new Promise((r) => server.close(r)) };
}

// waitCtx is a Workers ctx whose waitUntil promises a test can await.
function waitCtx() {
  const waits = [];
  return { waitUntil: (p) => waits.push(p), done: () => Promise.all(waits) };
}

test('with EVENTS_URL each list served is posted as an impression after the answer, joined by request id', async () => {
  const c = await collector();
  try {
    const envE = { ...env, EVENTS_URL: c.url };
    let ctx = waitCtx();
    let resp = await worker.fetch(post(JSON.stringify({ k: 5, user_id: 'u7', context: { region: 'eu-west', device: 'mobile' } })), envE, ctx);
    assert.equal(resp.status, 200);
    const got = await resp.json();
    assert.match(got.request_id, /^[0-9a-f-]{36}$/, 'the worker stamps a request id');
    await ctx.done();
    assert.equal(c.got.length, 1);
    const [imp] = c.got;
    assert.deepEqual([imp.type, imp.request_id, imp.user, imp.region, imp.device, imp.bundle_version],
      ['impression', got.request_id, 'u7', 'eu-west', 'mobile', got.bundle_version]);
    assert.deepEqual(imp.items.map((it) => [it.item, it.position, it.source]), got.items.map((it, i) => [it.id, i + 1, it.source]));

    // msgpack: a client's request id is kept, and the list logged too.
    const { encode } = await import('@msgpack/msgpack');
    ctx = waitCtx();
    resp = await worker.fetch(post(encode({ k: 3, request_id: 'client-1' }), 'application/msgpack'), envE, ctx);
    assert.equal(decode(new Uint8Array(await resp.arrayBuffer())).request_id, 'client-1');
    await ctx.done();
    assert.equal(c.got.length, 2);
    assert.equal(c.got[1].request_id, 'client-1');
    assert.equal(c.got[1].items.length, 3);

    // A client's batch is answered 202 at once and forwarded as it is.
    ctx = waitCtx();
    const take = { type: 'take', request_id: got.request_id, item: got.items[1].id, kind: 'watch', position: 2 };
    resp = await worker.fetch(new Request('https://edge.example/v1/events', { method: 'POST', body: JSON.stringify({ events: [take] }) }), envE, ctx);
    assert.equal(resp.status, 202);
    assert.deepEqual(await resp.json(), { accepted: 1 });
    await ctx.done();
    assert.deepEqual(c.got[2], take);
    resp = await worker.fetch(new Request('https://edge.example/v1/events', { method: 'POST', body: '{"events": []}' }), envE, waitCtx());
    assert.equal(resp.status, 400);
  } finally {
    await c.close();
  }
});

test('events a collector cannot take wait in the bounded queue; without EVENTS_URL nothing is logged', async () => {
  const down = await collector(503);
  const up = await collector();
  try {
    const before = { ...eventStats };
    let ctx = waitCtx();
    const resp = await worker.fetch(post(JSON.stringify({ k: 2 })), { ...env, EVENTS_URL: down.url }, ctx);
    assert.equal(resp.status, 200, 'the answer does not wait for the collector');
    await ctx.done();
    assert.equal(down.got.length, 1, 'posted once');
    assert.equal(eventStats.failed - before.failed, 1, 'counted as not taken');
    // The next request's post carries it along with its own list.
    ctx = waitCtx();
    await worker.fetch(post(JSON.stringify({ k: 2 })), { ...env, EVENTS_URL: up.url }, ctx);
    await ctx.done();
    assert.equal(up.got.length, 2);
    assert.equal(up.got[0].request_id, down.got[0].request_id);
    // Off: no request id stamped, nothing posted, /v1/events is 404.
    ctx = waitCtx();
    const off = await (await worker.fetch(post(JSON.stringify({ k: 2 })), env, ctx)).json();
    assert.equal(off.request_id, undefined);
    await ctx.done();
    assert.equal(up.got.length, 2);
    assert.equal((await worker.fetch(new Request('https://edge.example/v1/events', { method: 'POST', body: '{}' }), env)).status, 404);
  } finally {
    await down.close();
    await up.close();
  }
});

test('a batch over 256 KiB is refused with 413 before it is read as JSON; one at the limit is forwarded', async () => {
  const c = await collector();
  try {
    const envE = { ...env, EVENTS_URL: c.url };
    const take = { type: 'take', item: 'i001', kind: 'click' };
    const head = JSON.stringify({ events: [take], pad: '' }).length;
    const at = JSON.stringify({ events: [take], pad: 'x'.repeat(256 * 1024 - head) });
    assert.equal(Buffer.byteLength(at), 256 * 1024);
    const ctx = waitCtx();
    let resp = await worker.fetch(new Request('https://edge.example/v1/events', { method: 'POST', body: at }), envE, ctx);
    assert.equal(resp.status, 202);
    await ctx.done();
    assert.equal(c.got.length, 1);
    // One byte more, as a two-byte character: counted in bytes, not characters.
    const over = JSON.stringify({ events: [take], pad: 'x'.repeat(256 * 1024 - head - 1) + 'é' });
    resp = await worker.fetch(new Request('https://edge.example/v1/events', { method: 'POST', body: over }), envE, waitCtx());
    assert.equal(resp.status, 413);
    assert.match((await resp.json()).error, /over the limit of 262144 bytes/);
  } finally {
    await c.close();
  }
});

test('an R2 binding\'s object is streamed into the module (its body and size), not read whole', async () => {
  // A fresh copy of the worker module: the one above holds its instance.
  const { default: r2worker } = await import('../worker/worker.js?r2');
  const seen = { gets: 0, arrayBuffer: false, reads: 0 };
  const bucket = {
    head: async () => { throw new Error('not used'); },
    get: async (key, opts) => {
      seen.gets++;
      assert.equal(opts, undefined, 'an R2 get takes no type');
      if (key !== 'edge.bundle') return null;
      let off = 0;
      const body = new ReadableStream({
        pull(c) {
          if (off >= fx.bundle.length) return c.close();
          c.enqueue(fx.bundle.slice(off, off + 5001));
          off += 5001;
          seen.reads++;
        },
      }, { highWaterMark: 0 });
      return { key, size: fx.bundle.length, body, arrayBuffer: async () => { seen.arrayBuffer = true; return fx.bundle.buffer; } };
    },
  };
  const r2env = { RECOMMENDER_WASM: module, BUNDLE: bucket, BUNDLE_KEY: 'edge.bundle' };
  let resp = await r2worker.fetch(new Request('https://edge.example/v1/bundle'), r2env);
  assert.equal(resp.status, 200);
  assert.deepEqual(await resp.json(), decode(fx.summary));
  assert.deepEqual(seen, { gets: 1, arrayBuffer: false, reads: Math.ceil(fx.bundle.length / 5001) });
  const c = fx.recommend.find((c) => c.name === 'consumed filter');
  resp = await r2worker.fetch(post(c.input, 'application/msgpack'), r2env);
  assert.deepEqual(new Uint8Array(await resp.arrayBuffer()), c.output);

  const { default: missing } = await import('../worker/worker.js?r2-missing');
  resp = await missing.fetch(post('{"k": 2}'), { ...r2env, BUNDLE_KEY: 'other.bundle' });
  assert.equal(resp.status, 503);
  assert.deepEqual(await resp.json(), { error: 'recommender unavailable: bundle other.bundle not found' });
});
