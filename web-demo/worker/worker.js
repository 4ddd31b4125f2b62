// worker.js — an edge worker answering POST /v1/recommend with
// recommender.wasm, in the module shape Cloudflare-Workers-style runtimes
// expect: `export default { fetch(request, env, ctx) }`.
//
// Bindings (env):
//   RECOMMENDER_WASM  the module: a WebAssembly.Module (what Workers give for
//                     `import wasm from './recommender.wasm'` or a wasm
//                     binding), or its bytes
//   BUNDLE            the bundle: an ArrayBuffer / typed array, or an object
//                     with get(key, 'arrayBuffer') (a KV namespace or an R2
//                     bucket's body) under BUNDLE_KEY (default "demo.bundle")
//
// Routes:
//   POST /v1/recommend  body: a request as JSON (core/api field names;
//                       `consumed` as base64) or msgpack (Content-Type:
//                       application/msgpack); answer in the same encoding.
//   GET  /v1/bundle     the loaded bundle's summary as JSON.
// Errors: 400 with {"error": message} for a request the module refuses
// (the module's message verbatim), 405 / 404 for other methods and paths,
// 503 when the instance trapped (the next request makes a new one).
//
// One instance per isolate, made on the first request and reused: an
// isolate runs one request at a time through synchronous calls.

import { EdgeRec, EdgeRecError } from '../edgerec.js';


let instance = null; // a promise of an EdgeRec

async function bundleBytes(env) {
  const b = env.BUNDLE;
  if (!b) throw new Error('no BUNDLE binding');
  if (b instanceof ArrayBuffer || ArrayBuffer.isView(b)) return b;
  if (typeof b.get === 'function') {
    const v = await b.get(env.BUNDLE_KEY || 'demo.bundle', 'arrayBuffer');
    if (v && typeof v.arrayBuffer === 'function') return v.arrayBuffer(); // R2 object
    if (v) return v;
    throw new Error(`bundle ${env.BUNDLE_KEY || 'demo.bundle'} not found`);
  }
  throw new Error('BUNDLE must be bytes or a KV/R2 binding');
}

function recommender(env) {
  if (!instance) {
    instance = (async () => EdgeRec.load(env.RECOMMENDER_WASM, await bundleBytes(env), { stdout: () => {}, stderr: (l) => console.warn(l) }))();
    instance.catch(() => { instance = null; });
  }
  return instance;
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function fromBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/v1/bundle' && request.method === 'GET') {
      try {
        return json(200, (await recommender(env)).summary);
      } catch (err) {
        return json(503, { error: `recommender unavailable: ${err.message}` });
      }
    }
    if (url.pathname !== '/v1/recommend') return json(404, { error: `no route ${url.pathname}` });
    if (request.method !== 'POST') {
      return new Response(JSON.stringify({ error: 'use POST' }), { status: 405, headers: { Allow: 'POST', 'Content-Type': 'application/json' } });
    }
    let rec;
    try {
      rec = await recommender(env);
    } catch (err) {
      return json(503, { error: `recommender unavailable: ${err.message}` });
    }
    const msgpack = (request.headers.get('Content-Type') || '').startsWith('application/msgpack');
    try {
      if (msgpack) {
        const out = rec.recommendBytes(new Uint8Array(await request.arrayBuffer()));
        return new Response(out, { headers: { 'Content-Type': 'application/msgpack' } });
      }
      let req;
      try {
        req = JSON.parse(await request.text());
      } catch (err) {
        return json(400, { error: `malformed JSON: ${err.message}` });
      }
      if (req === null || typeof req !== 'object' || Array.isArray(req)) return json(400, { error: 'the request must be a JSON object' });
      if (typeof req.consumed === 'string') req.consumed = fromBase64(req.consumed);
      return json(200, rec.recommend(req));
    } catch (err) {
      if (err instanceof EdgeRecError && (err.kind === 'guest' || err.kind === 'input')) return json(400, { error: err.message });
      if (rec.broken) instance = null; // a trap: the next request makes a new instance
      return json(503, { error: err.message });
    }
  },
};

