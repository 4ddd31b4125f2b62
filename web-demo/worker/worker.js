// worker.js — an edge worker answering POST /v1/recommend with
// recommender.wasm, in the module shape Cloudflare-Workers-style runtimes
// expect: `export default { fetch(request, env, ctx) }`.
//
// Bindings (env):
//   RECOMMENDER_WASM  the module: a WebAssembly.Module (what Workers give for
//                     `import wasm from './recommender.wasm'`), or its bytes.
//                     A Worker cannot bind a module itself: deploy an entry
//                     that imports it and passes it in (web-demo/README.md,
//                     "The edge worker"); without it every request is 503
//                     "no RECOMMENDER_WASM binding: ...".
//   BUNDLE            the bundle under BUNDLE_KEY (default "demo.bundle"): an
//                     R2 bucket (the object's body is streamed into the
//                     module, its size known, so the isolate never holds
//                     the bundle twice), a KV namespace (read whole with
//                     get(key, 'arrayBuffer'): KV streams have no length,
//                     and KV values are at most 25 MB), or the bundle's
//                     bytes (an ArrayBuffer / typed array)
//   EVENTS_URL        optional: an events collector (an edge node's
//                     POST /v1/events, host/events/EVENTS.md). Set, every
//                     list served is logged as an impression and posted
//                     there, and clients' POST /v1/events are forwarded.
//   EVENTS_BATCH      optional: impressions per POST (default 1). More
//                     means fewer POSTs, and up to EVENTS_BATCH - 1
//                     impressions lost when the runtime evicts an isolate.
//
// Routes:
//   POST /v1/recommend  body: a request as JSON (core/api field names;
//                       `consumed` as base64; no Content-Type, a form type
//                       or text/plain read as JSON) or msgpack (Content-Type:
//                       application/msgpack or application/x-msgpack);
//                       answer in the same encoding. JSON is checked as
//                       edgerec serve checks it (checkRequest): unknown
//                       fields, wrong types and bad base64 are 400. Another
//                       Content-Type is 415.
//   GET  /v1/bundle     the loaded bundle's summary as JSON.
//   POST /v1/events     with EVENTS_URL: a batch of events (JSON, at most
//                       256 KiB and 1000 events), answered 202 at once and
//                       forwarded; without it 404, as edgerec serve answers.
// Errors: 400 with {"error": message} for a request the worker or the
// module refuses (the module's message verbatim), 415 for another
// Content-Type, 405 / 404 for other methods and paths, 503 when the module
// or bundle cannot be loaded or the instance trapped (the next request
// makes a new one).
//
// One instance per isolate, made on the first request and reused: an
// isolate runs one request at a time through synchronous calls.
//
// Events never hold an answer back: they are posted after it, in
// ctx.waitUntil (the runtime keeps the isolate alive for them), with a
// time limit; those a collector cannot take now wait in the isolate's
// queue, which is bounded (the oldest dropped). Each request posts only
// what it takes out of the queue, as Workers forbid a request to wait on
// I/O another request started. With EVENTS_URL set the worker stamps a
// request_id on requests without one, as edgerec serve does, so that a
// client's takes join the impression.

import { decode } from '@msgpack/msgpack';
import { EdgeRec, EdgeRecError, EventLog, EVENT_LIMITS, EVENTS_VERSION, checkRequest, encodeRequest } from '../edgerec.js';

/** Events kept per isolate while a collector is away; beyond, the oldest are dropped. */
export const EVENTS_QUEUE = 1000;
/** How long a POST of events may take before it is given up (and its events queued again). */
export const EVENTS_TIMEOUT_MS = 5000;

// queue holds impressions waiting to be posted; stats counts what became
// of events (the worker's tests read them).
const queue = [];
export const eventStats = { sent: 0, dropped: 0, failed: 0, forwarded: 0 };

let instance = null; // a promise of an EdgeRec

// bundleSource returns what EdgeRec.load reads the bundle from: an R2
// object body ({body, size}) streamed into the module, or bytes.
async function bundleSource(env) {
  const b = env.BUNDLE;
  if (!b) throw new Error('no BUNDLE binding');
  if (b instanceof ArrayBuffer || ArrayBuffer.isView(b)) return b;
  const key = env.BUNDLE_KEY || 'demo.bundle';
  if (typeof b.get === 'function') {
    // An R2 bucket has head(); a KV namespace has not.
    const v = typeof b.head === 'function' ? await b.get(key) : await b.get(key, 'arrayBuffer');
    if (v) return v;
    throw new Error(`bundle ${key} not found`);
  }
  throw new Error('BUNDLE must be bytes or a KV/R2 binding');
}

/** The error for a Worker deployed without the entry that passes the module in. */
export const NO_WASM_BINDING = 'no RECOMMENDER_WASM binding: import the module and pass it as shown in web-demo/README.md';

function recommender(env) {
  if (!instance) {
    instance = (async () => {
      if (env.RECOMMENDER_WASM === undefined || env.RECOMMENDER_WASM === null) throw new Error(NO_WASM_BINDING);
      return EdgeRec.load(env.RECOMMENDER_WASM, await bundleSource(env), { stdout: () => {}, stderr: (l) => console.warn(l) });
    })();
    instance.catch(() => { instance = null; });
  }
  return instance;
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

// mediaType returns the request's Content-Type without its parameters.
function mediaType(request) {
  return (request.headers.get('Content-Type') || '').split(';')[0].trim();
}

// requestType returns how a recommend body of media type ct is read, as
// edgerec serve reads it (host/server): 'json' (also without a type, or
// curl -d's form type), 'msgpack' (application/msgpack or
// application/x-msgpack), or null for another type (415). Unlike the
// node, text/plain is read as JSON too: it is what fetch sends for a
// string body without headers, and what the worker has always read.
function requestType(ct) {
  ct = ct.toLowerCase();
  if (ct === '' || ct === 'application/json' || ct === 'application/x-www-form-urlencoded' || ct === 'text/plain') return 'json';
  if (ct === 'application/msgpack' || ct === 'application/x-msgpack') return 'msgpack';
  return null;
}

function enqueue(evs) {
  queue.push(...evs);
  if (queue.length > EVENTS_QUEUE) eventStats.dropped += queue.splice(0, queue.length - EVENTS_QUEUE).length;
}

// postEvents posts a batch to the collector; it resolves to the answer's
// status, or 0 when none came.
async function postEvents(env, body) {
  try {
    const resp = await fetch(env.EVENTS_URL, {
      method: 'POST', body, headers: { 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(EVENTS_TIMEOUT_MS),
    });
    await resp.body?.cancel();
    return resp.status;
  } catch {
    return 0;
  }
}

// flushEvents posts the queued impressions when there are EVENTS_BATCH of
// them; a batch the collector cannot take now (no answer, 429, 5xx) goes
// back in the queue, one it refuses (4xx) is dropped and counted.
async function flushEvents(env) {
  const batch = Math.min(Math.max(1, Number(env.EVENTS_BATCH) || 1), EVENT_LIMITS.batchEvents);
  if (queue.length < batch) return;
  const evs = queue.splice(0, Math.min(queue.length, EVENT_LIMITS.batchEvents));
  let body = JSON.stringify({ version: EVENTS_VERSION, events: evs });
  let n = evs.length;
  while (body.length > EVENT_LIMITS.batchBytes && n > 1) {
    n = Math.ceil(n / 2);
    body = JSON.stringify({ version: EVENTS_VERSION, events: evs.slice(0, n) });
  }
  if (n < evs.length) queue.unshift(...evs.slice(n));
  const status = await postEvents(env, body);
  if (status >= 200 && status < 300) eventStats.sent += n;
  else if (status >= 400 && status < 500 && status !== 429) eventStats.dropped += n;
  else {
    eventStats.failed += n;
    queue.unshift(...evs.slice(0, n));
    if (queue.length > EVENTS_QUEUE) eventStats.dropped += queue.splice(EVENTS_QUEUE).length;
  }
}

// impression queues the list of resp (the answer, or a function that
// decodes it) as shown (request: the decoded request) and posts the queue
// after the answer. Nothing here may fail the
// answer: a list the schema refuses (a user id over its limit) is not logged.
function impression(env, ctx, request, resp) {
  try {
    const log = new EventLog({ user: typeof request.user_id === 'string' ? request.user_id : '', maxPending: 1 });
    log.impression(typeof resp === 'function' ? resp() : resp, request.context || {});
    enqueue(log.pending());
  } catch {
    eventStats.dropped++;
  }
  const done = flushEvents(env);
  if (ctx && typeof ctx.waitUntil === 'function') ctx.waitUntil(done);
}

// forwardEvents serves POST /v1/events: a client's batch, checked for
// size and shape only (the collector validates the events), answered 202
// and posted on in ctx.waitUntil.
async function forwardEvents(request, env, ctx) {
  if (!env.EVENTS_URL) return json(404, { error: 'events are off: set the EVENTS_URL binding' });
  if (request.method !== 'POST') {
    return new Response(JSON.stringify({ error: 'use POST' }), { status: 405, headers: { Allow: 'POST', 'Content-Type': 'application/json' } });
  }
  const declared = Number(request.headers.get('Content-Length'));
  if (declared > EVENT_LIMITS.batchBytes) return json(413, { error: `batch over the limit of ${EVENT_LIMITS.batchBytes} bytes; send several batches` });
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > EVENT_LIMITS.batchBytes) return json(413, { error: `batch over the limit of ${EVENT_LIMITS.batchBytes} bytes; send several batches` });
  const body = new TextDecoder().decode(bytes);
  let batch;
  try {
    batch = JSON.parse(body);
  } catch (err) {
    return json(400, { error: `malformed JSON: ${err.message}` });
  }
  const evs = batch && batch.events;
  if (!Array.isArray(evs) || evs.length === 0) return json(400, { error: 'the batch holds no events' });
  if (evs.length > EVENT_LIMITS.batchEvents) return json(400, { error: `more than ${EVENT_LIMITS.batchEvents} events in a batch` });
  const done = postEvents(env, body).then((status) => {
    if (status >= 200 && status < 300) eventStats.forwarded += evs.length;
    else eventStats.failed += evs.length;
  });
  if (ctx && typeof ctx.waitUntil === 'function') ctx.waitUntil(done);
  return json(202, { accepted: evs.length });
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/v1/events') return forwardEvents(request, env, ctx);
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
    const ct = mediaType(request);
    const type = requestType(ct);
    if (type === null) {
      return json(415, { error: `Content-Type ${JSON.stringify(ct)}: send application/json or application/msgpack` });
    }
    // A JSON body is read and checked before the module is asked, as the
    // node checks it: a client's mistake is 400, whatever the instance.
    let req;
    if (type === 'json') {
      try {
        req = JSON.parse(await request.text());
      } catch (err) {
        return json(400, { error: `malformed JSON request: ${err.message}` });
      }
      try {
        req = checkRequest(req, { json: true });
      } catch (err) {
        return json(400, { error: err.message });
      }
    }
    let rec;
    try {
      rec = await recommender(env);
    } catch (err) {
      return json(503, { error: `recommender unavailable: ${err.message}` });
    }
    const logging = Boolean(env.EVENTS_URL);
    try {
      if (type === 'msgpack') {
        let body = new Uint8Array(await request.arrayBuffer());
        req = null;
        if (logging) {
          // Decoded only to stamp a request id and log the list; a body
          // that does not decode goes to the module as it is, for its error.
          try { req = decode(body); } catch { req = null; }
          if (req && typeof req === 'object' && !Array.isArray(req) && !req.request_id) {
            req.request_id = crypto.randomUUID();
            body = encodeRequest(req);
          }
        }
        const out = rec.recommendBytes(body);
        if (req && typeof req === 'object') impression(env, ctx, req, () => decode(out));
        return new Response(out, { headers: { 'Content-Type': 'application/msgpack' } });
      }
      if (logging && !req.request_id) req.request_id = crypto.randomUUID();
      const resp = rec.recommend(req);
      if (logging) impression(env, ctx, req, resp);
      return json(200, resp);
    } catch (err) {
      if (err instanceof EdgeRecError && (err.kind === 'guest' || err.kind === 'input')) return json(400, { error: err.message });
      if (rec.broken) instance = null; // a trap: the next request makes a new instance
      return json(503, { error: err.message });
    }
  },
};

