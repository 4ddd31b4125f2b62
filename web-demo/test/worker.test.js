// The edge-worker example under Node: its fetch handler, called with the
// Request objects a Workers-style runtime would pass, answers like the
// loader called directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from "@msgpack/msgpack";
import worker from '../worker/worker.js';
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

test('GET /v1/bundle reports the summary', async () => {
  const resp = await worker.fetch(new Request('https://edge.example/v1/bundle'), env);
  assert.equal(resp.status, 200);
  assert.deepEqual(await resp.json(), decode(fx.summary));
});
