// edgerec.js — load recommender.wasm and ask it for recommendations, in
// browsers, Node 20 and V8 edge workers (Cloudflare-Workers-style runtimes).
//
//   import { EdgeRec } from 'edgerec-web';
//   const rec = await EdgeRec.load(wasmBytes, bundleBytes);
//   const resp = rec.recommend({ k: 10, history: [{ item: 'i0042' }] });
//
// It follows wasm/ABI.md export by export: WASI preview1 comes from
// @bjorn3/browser_wasi_shim (the same shim everywhere, so one code path
// serves every runtime), requests and responses travel as msgpack
// (@msgpack/msgpack), results are unpacked from one i64 (ptr << 32 | E | len),
// every buffer is freed exactly once, and an error result from the module is
// thrown as an EdgeRecError carrying the module's message verbatim.
//
// The ABI constants below mirror core/abi/abi.go.

import { WASI, File, OpenFile, ConsoleStdout } from '@bjorn3/browser_wasi_shim';
import { encode, decode } from '@msgpack/msgpack';

/** ABI version this loader speaks (core/abi.Version). */
export const ABI_VERSION = 1;

/** Export names (core/abi). */
export const EXPORTS = Object.freeze({
  version: 'edgerec_abi_version',
  alloc: 'edgerec_alloc',
  free: 'edgerec_free',
  loadBundle: 'edgerec_load_bundle',
  recommend: 'edgerec_recommend',
  bloom: 'edgerec_bloom',
  catalog: 'edgerec_catalog',
});

/** Limits the module enforces (core/api, core/bloom); checked here first so
 * that an oversized input fails without touching the instance. */
export const LIMITS = Object.freeze({
  requestBytes: 1 << 20, // api.MaxRequestBytes
  bloomOpBytes: 1 << 20, // bloom.MaxOpBytes
  bloomOpItems: 4096, // bloom.MaxOpItems
  catalogPage: 5000, // api.MaxCatalogPage
  k: 500, // api.MaxK
  listLen: 4096, // api.MaxListLen: the longest list or map a request may hold
  bundleBytes: 1 << 30, // the largest buffer edgerec_alloc hands out (abi.MaxAlloc)
});

const ERROR_FLAG = 1n << 31n;
const LEN_MASK = 0x7fffffffn;

/**
 * EdgeRecError is thrown for every failure. `kind` says what happened:
 * - 'guest': the module refused the input (message verbatim from the
 *   module, e.g. "k = -1 is out of range [0, 500]"); the instance is fine.
 * - 'trap': the module trapped (out of memory, a Go runtime abort); the
 *   instance is broken and every later call throws 'closed'. Load a new one.
 * - 'abi': the wasm file is not an edgerec module of this ABI version.
 * - 'input': the loader refused the input before calling the module.
 * - 'closed': the instance was closed or broken.
 */
export class EdgeRecError extends Error {
  constructor(message, { kind = 'guest', exportName = '', cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'EdgeRecError';
    this.kind = kind;
    this.export = exportName;
  }
}

/** toBytes returns a Uint8Array over an ArrayBuffer, a typed array or a
 * DataView (no copy). */
function toBytes(x, what) {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  throw new EdgeRecError(`${what} must be an ArrayBuffer or a typed array, not ${x === null ? 'null' : typeof x}`, { kind: 'input' });
}

/** isReadableStream says whether x is a WHATWG ReadableStream (by shape,
 * so that streams of another realm, or a runtime's own class, pass). */
function isReadableStream(x) {
  return x !== null && typeof x === 'object' && typeof x.getReader === 'function';
}

/** responseLength returns the length of a Response's body as it will be
 * read, or null when the headers do not say it: no Content-Length, a
 * content-encoded body (Content-Length counts the encoded bytes, the body
 * yields the decoded ones), or a cross-origin answer whose
 * Content-Encoding the server did not expose (it might be encoded). */
function responseLength(resp) {
  const cl = resp.headers.get('Content-Length');
  if (cl === null || !/^\d+$/.test(cl.trim())) return null;
  const enc = resp.headers.get('Content-Encoding');
  if (enc !== null && enc.trim().toLowerCase() !== 'identity') return null;
  if (enc === null && (resp.type === 'cors' || resp.type === 'opaque')) return null;
  return Number(cl.trim());
}

/** readAll reads a stream of byte chunks into one Uint8Array. */
async function readAll(stream) {
  const chunks = [];
  let n = 0;
  try {
    for (const reader = stream.getReader(); ;) {
      const { done, value } = await reader.read();
      if (done) break;
      const c = toBytes(value, 'a chunk of the bundle stream');
      chunks.push(c);
      n += c.length;
      if (n > LIMITS.bundleBytes) {
        reader.cancel().catch(() => {});
        throw new EdgeRecError(`the bundle stream is more than the module's limit of ${LIMITS.bundleBytes} bytes`, { kind: 'input', exportName: EXPORTS.loadBundle });
      }
    }
  } catch (err) {
    throw streamError(err);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

// STREAM_BUFFER is the buffer a byte stream is read into, reused from read
// to read. With the default reader every chunk is a new ArrayBuffer that
// waits for V8's collector after it is copied: loading a 1M-item bundle
// under Node left up to 33 MiB of them alive at once, which in a 128 MB
// isolate decides whether the bundle fits (web-demo/MEASUREMENTS.md).
const STREAM_BUFFER = 1 << 20;

/** byobReader returns a BYOB reader of a byte stream, or null for a
 * stream of any other kind. */
function byobReader(stream) {
  try {
    return stream.getReader({ mode: 'byob' });
  } catch {
    return null;
  }
}

/** streamError is err as the loader reports a failed bundle stream: an
 * EdgeRecError as it is, anything else as kind 'input'. */
function streamError(err) {
  if (err instanceof EdgeRecError) return err;
  return new EdgeRecError(`reading the bundle stream: ${err && err.message ? err.message : err}`, { kind: 'input', exportName: EXPORTS.loadBundle, cause: err });
}

/** cancel drops a stream the loader will not read, ignoring failures. */
async function cancel(stream) {
  try {
    await stream.cancel();
  } catch { /* already errored or locked: nothing to release */ }
}

/**
 * compile turns what the caller has into a WebAssembly.Module: a Module
 * (returned as is: edge workers import the wasm as a Module), bytes, or a
 * fetch Response (or a promise of one), compiled while it streams when the
 * server sends Content-Type application/wasm.
 */
async function compile(wasm) {
  wasm = await wasm;
  if (wasm instanceof WebAssembly.Module) return wasm;
  if (typeof Response !== 'undefined' && wasm instanceof Response) {
    if (!wasm.ok) throw new EdgeRecError(`fetching the module: HTTP ${wasm.status} ${wasm.statusText} for ${wasm.url}`, { kind: 'input' });
    const type = wasm.headers.get('Content-Type') || '';
    if (WebAssembly.compileStreaming && type.split(';')[0].trim() === 'application/wasm') {
      return WebAssembly.compileStreaming(wasm);
    }
    wasm = await wasm.arrayBuffer();
  }
  try {
    return await WebAssembly.compile(toBytes(wasm, 'the module'));
  } catch (err) {
    if (err instanceof EdgeRecError) throw err;
    throw new EdgeRecError(`not a WebAssembly module: ${err.message}`, { kind: 'abi', cause: err });
  }
}

/** EdgeRec is one instance of recommender.wasm holding at most one bundle.
 * Calls are synchronous and one at a time (the module is single-threaded);
 * make several instances for parallel workers. */
export class EdgeRec {
  /** Use EdgeRec.load or EdgeRec.instantiate. */
  constructor(instance, module) {
    this._x = instance.exports;
    this._module = module;
    this._closed = false;
    this._broken = false;
    this._summary = null;
  }

  /**
   * load compiles (or reuses) the module, instantiates it, and loads the
   * bundle: the usual way in.
   * @param wasm a WebAssembly.Module, the module's bytes, or a fetch
   *   Response (or a promise of one)
   * @param bundle the bundle: bytes (ArrayBuffer or typed array), or a
   *   stream of them — a fetch Response, a ReadableStream, an R2 object
   *   body ({body, size}), or a promise of one — which is copied into the
   *   module chunk by chunk when its length is known (see loadBundle)
   * @param options { stdout, stderr }: line callbacks for the guest's
   *   output (default console.log / console.warn); { length }: the
   *   bundle stream's length in bytes, when the source does not say it
   */
  static async load(wasm, bundle, options = {}) {
    const rec = await EdgeRec.instantiate(wasm, options);
    await rec.loadBundle(await bundle, { length: options.length });
    return rec;
  }

  /** instantiate makes an instance with no bundle loaded (Bloom helpers
   * work; recommend throws "no bundle loaded" until loadBundle). */
  static async instantiate(wasm, options = {}) {
    const module = await compile(wasm);
    const names = WebAssembly.Module.exports(module).map((e) => e.name);
    for (const n of [EXPORTS.version, '_initialize', 'memory']) {
      if (!names.includes(n)) {
        throw new EdgeRecError(`not an edgerec module: no export ${n}`, { kind: 'abi' });
      }
    }
    const stdout = options.stdout ?? ((line) => console.log(line));
    const stderr = options.stderr ?? ((line) => console.warn(line));
    const fds = [
      new OpenFile(new File([])),
      ConsoleStdout.lineBuffered(stdout),
      ConsoleStdout.lineBuffered(stderr),
    ];
    // debug: false, or the shim logs every WASI call.
    const wasi = new WASI([], [], fds, { debug: false });
    const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
    wasi.initialize(instance); // runs _initialize; the shim finds memory through it
    const v = instance.exports[EXPORTS.version]();
    if (v !== ABI_VERSION) {
      throw new EdgeRecError(`module ABI version ${v}, loader supports ${ABI_VERSION}`, { kind: 'abi' });
    }
    for (const n of [EXPORTS.alloc, EXPORTS.free, EXPORTS.loadBundle, EXPORTS.recommend]) {
      if (typeof instance.exports[n] !== 'function') {
        throw new EdgeRecError(`not an edgerec module: no export ${n}`, { kind: 'abi' });
      }
    }
    return new EdgeRec(instance, module);
  }

  /** The WebAssembly.Module, to instantiate more instances cheaply. */
  get module() { return this._module; }

  /** The loaded bundle's summary ({version, created, items, dim, format,
   * size_bytes}), or null. */
  get summary() { return this._summary; }

  /** True after a trap: the instance is unusable; make a new one. */
  get broken() { return this._broken; }

  /** Bytes of linear memory the instance holds now. */
  get memoryBytes() { return this._x.memory.buffer.byteLength; }

  /** events returns an EventLog: it records what this page showed and
   * what the user took, and posts them to `options.url` (edgerec serve's
   * /v1/events) in batches, or keeps them on the device when no URL is
   * given. See EventLog. */
  events(options = {}) { return new EventLog(options); }

  /** close drops the instance; later calls throw kind 'closed'. */
  close() { this._closed = true; }

  /**
   * loadBundle loads a bundle and returns its summary. On error the
   * previous bundle keeps serving.
   *
   * Given bytes (an ArrayBuffer or a typed array) it copies them into the
   * module and returns the summary at once. Given a stream — a fetch
   * Response (or a promise of one), a ReadableStream of bytes, or an R2
   * object body (what R2's get() returns: {body, size}) — it returns a
   * promise: when the stream's length is known (options.length, else the
   * Response's Content-Length when the body is not content-encoded, else
   * R2's size) it asks the module for a buffer of that length first and
   * writes each chunk into it as it arrives, so no copy of the whole
   * bundle is ever made in JS; a stream that ends short of the length or
   * runs past it is refused (kind 'input') and the buffer freed. Without a
   * known length it reads the whole stream first (a Response through
   * arrayBuffer()) and loads the bytes: the bundle is then held twice
   * while it loads, as with bytes.
   * @param bundle bytes, a Response, a ReadableStream or an R2 object body
   * @param options { length }: the stream's length in bytes
   */
  loadBundle(bundle, options = {}) {
    if (bundle instanceof ArrayBuffer || ArrayBuffer.isView(bundle)) return this._loadBytes(toBytes(bundle, 'the bundle'));
    return this._loadSource(bundle, options);
  }

  _loadBytes(b) {
    const out = this._call(EXPORTS.loadBundle, b, true);
    this._summary = decode(out);
    return this._summary;
  }

  async _loadSource(source, { length } = {}) {
    source = await source;
    let stream;
    let known = null; // the length the source declares, if any
    if (typeof Response !== 'undefined' && source instanceof Response) {
      if (!source.ok) throw new EdgeRecError(`fetching the bundle: HTTP ${source.status} ${source.statusText} for ${source.url}`, { kind: 'input' });
      if (source.bodyUsed) throw new EdgeRecError('the bundle Response\'s body was already read', { kind: 'input' });
      known = responseLength(source);
      if (length === undefined && known === null) return this._loadBytes(new Uint8Array(await source.arrayBuffer()));
      stream = source.body;
      if (stream === null) return this._loadBytes(new Uint8Array(0));
    } else if (isReadableStream(source)) {
      stream = source;
    } else if (source && typeof source === 'object' && isReadableStream(source.body) && typeof source.size === 'number') {
      stream = source.body; // an R2 object body
      known = source.size;
    } else {
      throw new EdgeRecError(`the bundle must be an ArrayBuffer or a typed array, a Response, a ReadableStream, or an R2 object body ({body, size}), not ${source === null ? 'null' : typeof source}`, { kind: 'input' });
    }
    const n = length ?? known;
    if (n === null) return this._loadBytes(await readAll(stream));
    if (!Number.isSafeInteger(n) || n < 0) {
      await cancel(stream);
      throw new EdgeRecError(`the bundle's length ${n} is not a byte count`, { kind: 'input', exportName: EXPORTS.loadBundle });
    }
    if (n > LIMITS.bundleBytes) {
      await cancel(stream);
      throw new EdgeRecError(`the bundle is ${n} bytes, more than the module's limit of ${LIMITS.bundleBytes} (${EXPORTS.alloc}'s largest buffer)`, { kind: 'input', exportName: EXPORTS.loadBundle });
    }
    return this._loadStream(stream, n);
  }

  /** _loadStream writes the n bytes of stream into one guest buffer, chunk
   * by chunk, then hands it to load_bundle. A byte stream (fetch's and
   * R2's bodies) is read into one reused buffer of STREAM_BUFFER bytes; any
   * other stream chunk by chunk as it gives them. */
  async _loadStream(stream, n) {
    const name = EXPORTS.loadBundle;
    let reader = byobReader(stream);
    let buf = reader ? new Uint8Array(STREAM_BUFFER) : null;
    if (!reader) reader = stream.getReader();
    let ptr = 0;
    try {
      if (n > 0) ptr = this._alloc(n, name); // 0 bytes: load_bundle(0, 0) refuses them
      let off = 0;
      for (;;) {
        // Ask a byte stream for at most one byte past the length, so that
        // an overlong stream shows itself.
        const { done, value } = buf
          ? await reader.read(new Uint8Array(buf.buffer, 0, Math.min(buf.byteLength, n - off + 1)))
          : await reader.read();
        if (done) break;
        // The buffer comes back transferred, in the view read: keep it.
        if (buf) buf = new Uint8Array(value.buffer);
        // Calls made on the instance while we waited may have grown its
        // memory (detaching older views) or ended it: check both now.
        this._usable(name);
        const chunk = toBytes(value, 'a chunk of the bundle stream');
        if (chunk.length > n - off) {
          throw new EdgeRecError(`the bundle stream ran past its declared length of ${n} bytes`, { kind: 'input', exportName: name });
        }
        new Uint8Array(this._x.memory.buffer, ptr + off, chunk.length).set(chunk);
        off += chunk.length;
      }
      this._usable(name);
      if (off < n) throw new EdgeRecError(`the bundle stream ended after ${off} of its declared ${n} bytes`, { kind: 'input', exportName: name });
    } catch (err) {
      if (ptr !== 0 && !this._broken) this._safeFree(ptr);
      await reader.cancel().catch(() => {});
      throw streamError(err);
    }
    reader.releaseLock();
    const out = this._invoke(name, ptr, n, true);
    this._summary = decode(out);
    return this._summary;
  }

  /** recommend runs one request (an object shaped like core/api.Request:
   * {k, history: [{item, time}], seed, context: {region, device, age, time},
   * consumed: Uint8Array, impressions, filters, sources, debug, ...}) and
   * returns the response ({items: [{id, score, source, because}],
   * bundle_version, arm, debug}). */
  recommend(request) {
    const b = encodeUnchecked(request);
    try {
      return decode(this.recommendBytes(b));
    } catch (err) {
      // The module names a malformed field by its msgpack byte offset;
      // the schema check names it in the request's own terms. It runs
      // only for a refused request, off the path of every answered one.
      if (err instanceof EdgeRecError && err.kind === 'guest') checkRequest(request);
      throw err;
    }
  }

  /** recommendBytes runs a msgpack-encoded request and returns the
   * msgpack-encoded response. */
  recommendBytes(request) {
    const b = toBytes(request, 'the request');
    if (b.length > LIMITS.requestBytes) {
      throw new EdgeRecError(`request is ${b.length} bytes, more than the limit of ${LIMITS.requestBytes}`, { kind: 'input', exportName: EXPORTS.recommend });
    }
    return this._call(EXPORTS.recommend, b, false);
  }

  /** catalog returns one page ({offset, limit}: limit ≤ 5000, default
   * 1000) of the loaded bundle's catalog: {bundle_version, total, offset,
   * items: [{id, title, categories, released, regions, available,
   * age_rating, popularity}], categories, fields: {region: [...], ...}}. */
  catalog(request = {}) {
    this._need(EXPORTS.catalog);
    const hasKeys = request && Object.keys(request).some((k) => request[k] !== undefined);
    const input = hasKeys ? encode(request, { ignoreUndefined: true }) : new Uint8Array(0);
    return decode(this._call(EXPORTS.catalog, input, false));
  }

  /** catalogAll walks the pages and returns the whole catalog as one page. */
  catalogAll() {
    const first = this.catalog({ limit: LIMITS.catalogPage });
    const items = first.items.slice();
    while (items.length < first.total) {
      const p = this.catalog({ offset: items.length, limit: LIMITS.catalogPage });
      if (p.items.length === 0) break;
      items.push(...p.items);
    }
    return { ...first, items };
  }

  /** bloom runs one raw Bloom-filter op ({op: 'new'|'add'|'check',
   * expected, fp_rate, filter, items}; wasm/ABI.md) and returns its result
   * ({filter} or {contains}). */
  bloom(op) {
    this._need(EXPORTS.bloom);
    if (op && Array.isArray(op.items) && op.items.length > LIMITS.bloomOpItems) {
      throw new EdgeRecError(`bloom: ${op.items.length} items, more than the limit of ${LIMITS.bloomOpItems}`, { kind: 'input', exportName: EXPORTS.bloom });
    }
    const b = encode(op, { ignoreUndefined: true });
    if (b.length > LIMITS.bloomOpBytes) {
      throw new EdgeRecError(`bloom: op is ${b.length} bytes, more than the limit of ${LIMITS.bloomOpBytes}`, { kind: 'input', exportName: EXPORTS.bloom });
    }
    return decode(this._call(EXPORTS.bloom, b, false));
  }

  /** bloomNew returns an empty consumed-items filter sized for `expected`
   * items at false-positive rate `fpRate`. */
  bloomNew(expected, fpRate) {
    return this.bloom({ op: 'new', expected, fp_rate: fpRate }).filter;
  }

  /** bloomAdd adds item ids to `filter` (or, when it is null or empty, to a
   * new filter sized by opts.expected and opts.fpRate, default 10000 and
   * 0.01) and returns the new filter bytes: store them and send them as
   * request.consumed. */
  bloomAdd(filter, items, { expected = 10000, fpRate = 0.01 } = {}) {
    const op = { op: 'add', items };
    if (filter && filter.length > 0) op.filter = toBytes(filter, 'the filter');
    else Object.assign(op, { expected, fp_rate: fpRate });
    return this.bloom(op).filter;
  }

  /** bloomCheck returns, for each id, whether the filter may contain it. */
  bloomCheck(filter, items) {
    if (items.length === 0) return [];
    return this.bloom({ op: 'check', filter: toBytes(filter, 'the filter'), items }).contains;
  }

  _need(name) {
    if (typeof this._x[name] !== 'function') {
      throw new EdgeRecError(`the module has no export ${name}: it was built before this loader; rebuild it (make build)`, { kind: 'abi', exportName: name });
    }
  }

  _usable(name) {
    if (this._broken) throw new EdgeRecError(`instance broken by an earlier trap; load a new one`, { kind: 'closed', exportName: name });
    if (this._closed) throw new EdgeRecError(`instance closed`, { kind: 'closed', exportName: name });
  }

  /** _alloc returns a guest buffer of n > 0 bytes for a call to name;
   * alloc's refusal throws 'input', a trap marks the instance broken. */
  _alloc(n, name) {
    this._usable(name);
    let ptr;
    try {
      ptr = this._x[EXPORTS.alloc](n) >>> 0;
    } catch (err) {
      this._broken = true;
      throw new EdgeRecError(`${EXPORTS.alloc} trapped: ${err && err.message ? err.message : err}`, { kind: 'trap', exportName: name, cause: err });
    }
    if (ptr === 0) throw new EdgeRecError(`${EXPORTS.alloc} refused ${n} bytes`, { kind: 'input', exportName: name });
    return ptr;
  }

  /** _call copies input into the guest, calls the export, copies the
   * payload out and frees both buffers (the input is the guest's after
   * load_bundle). Error results throw EdgeRecError('guest'); traps mark the
   * instance broken. */
  _call(name, input, guestOwnsInput) {
    this._usable(name);
    let ptr = 0;
    if (input.length > 0) {
      ptr = this._alloc(input.length, name);
      new Uint8Array(this._x.memory.buffer, ptr, input.length).set(input);
    }
    return this._invoke(name, ptr, input.length, guestOwnsInput);
  }

  /** _invoke calls the export on the guest buffer ptr holding n bytes
   * (0, 0 for none), frees it unless the guest owns it, and returns the
   * payload copied out. */
  _invoke(name, ptr, n, guestOwnsInput) {
    const x = this._x;
    let r;
    try {
      r = x[name](ptr, n);
      if (ptr !== 0 && !guestOwnsInput) x[EXPORTS.free](ptr);
    } catch (err) {
      this._broken = true;
      throw new EdgeRecError(`${name} trapped: ${err && err.message ? err.message : err}`, { kind: 'trap', exportName: name, cause: err });
    }
    r = BigInt.asUintN(64, r);
    const rptr = Number(r >> 32n);
    const len = Number(r & LEN_MASK);
    const isErr = (r & ERROR_FLAG) !== 0n;
    // Take the view now: the call may have grown (and detached) memory.
    const out = new Uint8Array(x.memory.buffer, rptr, len).slice();
    if (rptr !== 0) this._safeFree(rptr);
    if (isErr) throw new EdgeRecError(new TextDecoder().decode(out), { kind: 'guest', exportName: name });
    return out;
  }

  _safeFree(ptr) {
    try {
      this._x[EXPORTS.free](ptr);
    } catch (err) {
      this._broken = true;
      throw new EdgeRecError(`${EXPORTS.free} trapped: ${err.message}`, { kind: 'trap', exportName: EXPORTS.free, cause: err });
    }
  }
}

/** encodeRequest encodes a request object as msgpack, leaving out
 * undefined fields, after checking the known fields' types (checkRequest):
 * a fractional number where the module wants an integer (a time in
 * Date.now() / 1000, k = 2.5) would go as a float64 the module refuses at
 * a byte offset. Numbers go as @msgpack/msgpack writes them: integers as
 * msgpack integers, fractional ones (source weights, mmr_lambda) as
 * float64, which the module reads as any msgpack number. */
export function encodeRequest(request) {
  checkRequest(request);
  return encode(request, { ignoreUndefined: true });
}

// encodeUnchecked is encodeRequest without the schema check, which
// recommend runs only when the module refuses the request.
function encodeUnchecked(request) {
  return encode(requestObject(request), { ignoreUndefined: true });
}

// requestObject returns request when it is an object, and throws the
// loader's error otherwise.
function requestObject(request) {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new EdgeRecError('the request must be an object', { kind: 'input', exportName: EXPORTS.recommend });
  }
  return request;
}

// The fields of core/api.Request and what each holds: a type name, a list
// ({ list }), a map with string keys ({ map }) or an object ({ fields }).
const REQUEST_SCHEMA = {
  fields: {
    user_id: 'string', request_id: 'string', seed: 'string', experiment_key: 'string',
    context: {
      fields: {
        time: 'integer', region: 'string', device: 'string', gender: 'string', age: 'integer',
        attrs: { map: 'string' },
      },
    },
    history: { list: { fields: { item: 'string', time: 'integer' } } },
    consumed: 'bytes',
    impressions: { list: { fields: { item: 'string', count: 'integer', last: 'integer' } } },
    k: 'integer', nprobe: 'integer', debug: 'boolean',
    filters: { fields: { exclude: { list: 'string' }, allow: { list: 'string' }, ignore_availability: 'boolean' } },
    sources: { map: 'number' },
    order: { fields: { mmr_lambda: 'number', explore_every: 'integer', category_cap: 'integer' } },
  },
};

// Hints for integer fields a careless caller fills with a fraction.
const INTEGER_HINTS = {
  time: 'Unix seconds: Math.floor(Date.now() / 1000)',
  last: 'Unix seconds: Math.floor(Date.now() / 1000)',
};

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (v instanceof ArrayBuffer) return 'an ArrayBuffer';
  if (typeof v === 'string') return JSON.stringify(v.length > 32 ? `${v.slice(0, 32)}…` : v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * checkRequest checks the known fields of a request object against
 * core/api.Request's types and throws EdgeRecError (kind 'input') naming
 * the first field at fault and its value: integers (k, nprobe,
 * context.time and .age, history[].time, impressions[].count and .last,
 * order.explore_every and .category_cap) must be safe integers, weights
 * finite numbers, strings strings, consumed a Uint8Array. Absent
 * (undefined or null) fields pass; ranges are the module's to check.
 * Unknown fields pass (the module ignores them). encodeRequest calls it.
 *
 * With `json`, the request is one parsed from JSON and checked as
 * edgerec serve checks a JSON request (host/server): unknown fields are
 * refused at any depth, field names match without regard to case (as Go's
 * encoding/json matches them), `consumed` is base64 (standard alphabet,
 * padded), a list or map holds at most 4096 entries (api.MaxListLen:
 * the module's bound, said in the JSON field's terms), and messages start "malformed JSON request: "
 * as the node's do. It returns a copy for the module: names as the module
 * spells them, `consumed` decoded. Without `json` it returns the request.
 */
export function checkRequest(request, { json = false } = {}) {
  if (!json) return checkValue(requestObject(request), REQUEST_SCHEMA, '', json);
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new EdgeRecError('the request must be a JSON object', { kind: 'input', exportName: EXPORTS.recommend });
  }
  return checkValue(request, REQUEST_SCHEMA, '', json);
}

function requestError(message) {
  return new EdgeRecError(message, { kind: 'input', exportName: EXPORTS.recommend });
}

/** fromBase64 decodes standard, padded base64 (line breaks ignored) as
 * Go's encoding/base64.StdEncoding does, or returns the offset of the
 * first byte it cannot take. */
function fromBase64(s) {
  const clean = s.replace(/[\r\n]/g, '');
  const bad = clean.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return { at: s.indexOf(clean[bad]) };
  const pad = clean.indexOf('=');
  if (clean.length % 4 !== 0 || (pad >= 0 && (pad < clean.length - 2 || !/^=+$/.test(clean.slice(pad))))) {
    return { at: Math.max(0, pad >= 0 ? pad : clean.length - (clean.length % 4)) };
  }
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return { bytes: out };
}

function checkValue(v, schema, path, json) {
  const malformed = json ? 'malformed JSON request: ' : '';
  const fail = (want) => {
    throw requestError(`${malformed}${path} is ${describe(v)}: want ${want}`);
  };
  if (v === undefined || v === null) return v;
  switch (schema) {
    case 'string':
      if (typeof v !== 'string') fail('a string');
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') fail('true or false');
      return v;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) fail('a finite number');
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
        const hint = INTEGER_HINTS[path.slice(path.lastIndexOf('.') + 1)];
        fail(`an integer${hint ? ` (${hint})` : ''}`);
      }
      return v;
    case 'bytes': {
      if (!json) {
        if (!ArrayBuffer.isView(v)) fail('bytes, a Uint8Array');
        return v;
      }
      if (typeof v !== 'string') fail('base64, a string');
      const { bytes, at } = fromBase64(v);
      if (!bytes) throw requestError(`${malformed}${path}: illegal base64 data at input byte ${at}`);
      return bytes;
    }
    default:
      break;
  }
  if (schema.list) {
    if (!Array.isArray(v)) fail('a list');
    if (json && v.length > LIMITS.listLen) {
      throw requestError(`${path} has ${v.length} entries, more than the limit of ${LIMITS.listLen}`);
    }
    const out = v.map((x, i) => checkValue(x, schema.list, `${path}[${i}]`, json));
    return json ? out : v;
  }
  if (typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) fail('an object');
  if (schema.map) {
    const keys = Object.keys(v);
    if (json && keys.length > LIMITS.listLen) {
      throw requestError(`${path} has ${keys.length} entries, more than the limit of ${LIMITS.listLen}`);
    }
    for (const key of keys) checkValue(v[key], schema.map, `${path}.${key}`, json);
    return v;
  }
  const out = json ? {} : v;
  for (const key of Object.keys(v)) {
    let name = key;
    if (!Object.hasOwn(schema.fields, name)) {
      if (!json) continue;
      // Go's encoding/json takes a field name in any case ("K" for "k").
      name = Object.keys(schema.fields).find((f) => f.toLowerCase() === key.toLowerCase());
      if (name === undefined) throw requestError(`${malformed}unknown field ${JSON.stringify(key)}${path ? ` in ${path}` : ''}`);
    }
    const checked = checkValue(v[key], schema.fields[name], path ? `${path}.${name}` : name, json);
    if (json) out[name] = checked;
  }
  return out;
}

/** Events schema version written (host/events/EVENTS.md). */
export const EVENTS_VERSION = '1.0';

/** Limits of POST /v1/events (host/events): a batch is cut below them, and
 * an event outside them is refused where it is recorded. */
export const EVENT_LIMITS = Object.freeze({
  batchEvents: 1000, // events.MaxBatchEvents
  batchBytes: 256 << 10, // events.MaxBatchBytes
  items: 500, // events.MaxItems
  string: 128, // events.MaxString
  requestId: 64, // api.MaxRequestIDLen
  dwellMs: 24 * 3600 * 1000, // events.MaxDwell
  maxAgeMs: 30 * 24 * 3600 * 1000, // events.MaxAge: how long before now an event's time may lie
  maxSkewMs: 24 * 3600 * 1000, // events.MaxSkew: how long after now
});

const TAKE_KINDS = ['watch', 'buy', 'click'];

/** newRequestId returns a fresh request id: 16 random hex digits and a
 * counter, within api.ValidRequestID's rule. */
let idCounter = 0;
function newRequestId() {
  const r = new Uint8Array(8);
  globalThis.crypto.getRandomValues(r);
  idCounter = (idCounter + 1) % 0x7fffffff;
  return `${Array.from(r, (b) => b.toString(16).padStart(2, '0')).join('')}-${idCounter.toString(36)}`;
}

/**
 * EventLog records events in the schema of host/events/EVENTS.md —
 * impressions (a list shown), takes (watch, buy, click) and skips — and
 * sends them to an edge node's POST /v1/events in batches when `url` is
 * set, or keeps them on the device otherwise (pending() returns them).
 *
 *   const log = rec.events({ url: '/v1/events', user: sessionKey });
 *   const resp = rec.recommend(log.request({ k: 10, history }));
 *   log.impression(resp);                  // unless the node logs it
 *   log.take(resp, 2, { kind: 'watch' });  // the user took the third item
 *   await log.flush();
 *
 * Options: url (none: keep events local), user (the user id or an
 * anonymous session key, put on every event), batchSize (events per POST,
 * default 100; reaching it starts a flush), maxPending (events kept while
 * no URL is set or the node cannot be reached, default 1000: beyond it the
 * oldest are dropped and counted in `dropped`), fetch (default
 * globalThis.fetch), onError (called with an Error when a batch is refused
 * or cannot be sent).
 *
 * A batch the node refuses (4xx: it breaks the schema) is dropped and
 * reported; one it cannot take now (503, a network error) stays pending
 * for the next flush.
 */
export class EventLog {
  constructor({ url = '', user = '', batchSize = 100, maxPending = 1000, fetch: fetchFn, onError } = {}) {
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > EVENT_LIMITS.batchEvents) {
      throw new EdgeRecError(`batchSize ${batchSize} out of range [1, ${EVENT_LIMITS.batchEvents}]`, { kind: 'input' });
    }
    if (!Number.isInteger(maxPending) || maxPending < 1) {
      throw new EdgeRecError(`maxPending ${maxPending} must be a positive integer`, { kind: 'input' });
    }
    this.url = url;
    this.user = checkString(user, 'user');
    this.batchSize = batchSize;
    this.maxPending = maxPending;
    this.dropped = 0;
    this._fetch = fetchFn || (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : null);
    this._onError = onError || (() => {});
    this._pending = [];
    this._flushing = null;
    if (url && !this._fetch) throw new EdgeRecError('an events URL needs fetch', { kind: 'input' });
  }

  /** request returns `request` with a fresh request_id when it has none,
   * so that the answer carries the id the events name. */
  request(request) {
    if (request && request.request_id) return request;
    return { ...request, request_id: newRequestId() };
  }

  /** impression records that the list of `response` was shown (context:
   * the request's {region, device}, or the request itself). Skip it when
   * an edge node serves the list: the node logs it. */
  impression(response, context = {}) {
    if (!response || !response.request_id) {
      throw new EdgeRecError('impression: the response has no request_id: send the request through log.request()', { kind: 'input' });
    }
    const ctx = context.context || context;
    const items = (response.items || []).slice(0, EVENT_LIMITS.items).map((it, i) => ({
      item: it.id, position: i + 1, source: it.source, score: it.score,
    }));
    if (items.length === 0) return;
    this._add({
      type: 'impression', request_id: response.request_id, bundle_version: response.bundle_version,
      arm: response.arm, region: ctx.region, device: ctx.device, items,
    });
  }

  /** take records that the user took an item: `target` is a response and
   * `index` the item's index in it (0 first), or `target` is an item id
   * (then give opts.requestId and opts.position if known). opts: kind
   * ('watch', 'buy' or 'click'; default 'click'), dwellMs, time (Unix
   * milliseconds; default now). */
  take(target, index, opts = {}) {
    const e = this._about('take', target, index, opts);
    const kind = opts.kind || 'click';
    if (!TAKE_KINDS.includes(kind)) throw new EdgeRecError(`take: kind "${kind}": want watch, buy or click`, { kind: 'input' });
    e.kind = kind;
    this._add(e);
  }

  /** skip records that the user saw an item and moved on (same arguments
   * as take, without kind; opts.dwellMs: how long it was in view). */
  skip(target, index, opts = {}) {
    this._add(this._about('skip', target, index, opts));
  }

  /** pending returns a copy of the events not sent (all of them when no
   * URL is set). */
  pending() { return this._pending.slice(); }

  /** clear forgets the pending events (a privacy control for local mode). */
  clear() { this._pending = []; }

  /** flush posts the pending events in batches and resolves when done;
   * without a URL it does nothing. Concurrent calls share one flush. */
  flush() {
    if (!this.url || this._pending.length === 0) return Promise.resolve();
    if (!this._flushing) {
      this._flushing = this._send().finally(() => { this._flushing = null; });
    }
    return this._flushing;
  }

  async _send() {
    while (this._pending.length > 0) {
      const batch = this._pending.slice(0, this.batchSize);
      let body = JSON.stringify({ version: EVENTS_VERSION, events: batch });
      let n = batch.length;
      // Cut the batch below the node's byte limit.
      while (body.length > EVENT_LIMITS.batchBytes && n > 1) {
        n = Math.ceil(n / 2);
        body = JSON.stringify({ version: EVENTS_VERSION, events: batch.slice(0, n) });
      }
      let resp;
      try {
        resp = await this._fetch(this.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, keepalive: body.length < 60000 });
      } catch (err) {
        this._onError(new EdgeRecError(`sending events: ${err && err.message ? err.message : err}`, { kind: 'input', cause: err }));
        return; // kept for the next flush
      }
      if (resp.status === 202 || resp.ok) {
        this._pending.splice(0, n);
        continue;
      }
      let msg = `HTTP ${resp.status}`;
      try { msg = (await resp.json()).error || msg; } catch { /* not JSON */ }
      if (resp.status >= 400 && resp.status < 500 && resp.status !== 429) {
        // The node will never take these: drop them, say so.
        this._pending.splice(0, n);
        this.dropped += n;
        this._onError(new EdgeRecError(`events refused: ${msg}`, { kind: 'input' }));
        continue;
      }
      this._onError(new EdgeRecError(`events not taken now: ${msg}`, { kind: 'input' }));
      return; // kept for the next flush
    }
  }

  _about(type, target, index, opts) {
    let e;
    if (target && typeof target === 'object') {
      const it = Number.isInteger(index) && index >= 0 ? (target.items || [])[index] : undefined;
      if (!it) throw new EdgeRecError(`${type}: the response has no item at index ${describeEventValue(index)}`, { kind: 'input' });
      e = { type, request_id: target.request_id, item: it.id, position: index + 1 };
    } else {
      e = { type, request_id: opts.requestId, item: target, position: opts.position };
    }
    if (e.position !== undefined && e.position !== null) {
      if (!Number.isInteger(e.position) || e.position < 0 || e.position > EVENT_LIMITS.items) {
        throw new EdgeRecError(`${type}: position ${describeEventValue(e.position)}: want an integer in [0, ${EVENT_LIMITS.items}] (1: the first item shown; 0: unknown)`, { kind: 'input' });
      }
    }
    if (opts.dwellMs !== undefined) {
      // Fractional dwell times (performance.now() differences) are rounded.
      const d = typeof opts.dwellMs === 'number' ? Math.round(opts.dwellMs) : NaN;
      if (!(d >= 0 && d <= EVENT_LIMITS.dwellMs)) {
        throw new EdgeRecError(`${type}: dwellMs ${describeEventValue(opts.dwellMs)}: want milliseconds in [0, ${EVENT_LIMITS.dwellMs}] (a day)`, { kind: 'input' });
      }
      e.dwell_ms = d;
    }
    if (opts.time !== undefined) e.time_ms = checkEventTime(type, opts.time);
    return e;
  }

  _add(e) {
    if (e.time_ms === undefined) e.time_ms = Date.now();
    if (this.user) e.user = this.user;
    for (const k of Object.keys(e)) {
      if (e[k] === undefined || e[k] === '' || e[k] === null) delete e[k];
      else if (typeof e[k] === 'string') checkString(e[k], k);
    }
    if (e.request_id !== undefined && !validRequestId(e.request_id)) {
      throw new EdgeRecError(`${e.type}: request_id ${JSON.stringify(e.request_id)} is not 1 to 64 printable ASCII characters`, { kind: 'input' });
    }
    if (!e.item && e.type !== 'impression') throw new EdgeRecError(`${e.type}: no item`, { kind: 'input' });
    this._pending.push(e);
    if (this._pending.length > this.maxPending) {
      const over = this._pending.length - this.maxPending;
      this._pending.splice(0, over);
      this.dropped += over;
    }
    if (this.url && this._pending.length >= this.batchSize) {
      this.flush().catch((err) => this._onError(err));
    }
  }
}

function validRequestId(id) {
  return typeof id === 'string' && /^[\x21-\x7e]{1,64}$/.test(id);
}

function checkString(s, field) {
  if (typeof s !== 'string') throw new EdgeRecError(`${field} must be a string, not ${describeEventValue(s)}`, { kind: 'input' });
  if (new TextEncoder().encode(s).length > EVENT_LIMITS.string && field !== 'request_id') {
    throw new EdgeRecError(`${field} is longer than ${EVENT_LIMITS.string} bytes`, { kind: 'input' });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(s)) throw new EdgeRecError(`${field} ${JSON.stringify(s)} holds a control character`, { kind: 'input' });
  return s;
}

function describeEventValue(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'a list' : (v.constructor && v.constructor.name) || 'an object';
}

/** checkEventTime returns t if it is an event time the node takes (host/events
 * Validate): integer Unix milliseconds within EVENT_LIMITS.maxAgeMs before and
 * EVENT_LIMITS.maxSkewMs after now, or 0 (the node's time of receipt). */
function checkEventTime(type, t) {
  const fail = (why) => { throw new EdgeRecError(`${type}: time ${describeEventValue(t)} ${why}`, { kind: 'input' }); };
  if (typeof t !== 'number' || !Number.isFinite(t)) fail('is not a time: want Unix milliseconds, a number (Date.now())');
  if (!Number.isSafeInteger(t)) fail(`is not integer milliseconds (Math.round(...): ${Math.round(t)})`);
  if (t === 0) return t;
  const now = Date.now();
  if (t < now - EVENT_LIMITS.maxAgeMs || t > now + EVENT_LIMITS.maxSkewMs) {
    const h = (ms) => `${ms / 3600000}h`;
    const seconds = t * 1000 >= now - EVENT_LIMITS.maxAgeMs && t * 1000 <= now + EVENT_LIMITS.maxSkewMs;
    const when = Math.abs(t) <= 8.64e15 ? `(${new Date(t).toISOString()}) ` : '';
    fail(`${when}is not within ${h(EVENT_LIMITS.maxAgeMs)} before and ${h(EVENT_LIMITS.maxSkewMs)} after now (${new Date(now).toISOString()}): ` +
      (seconds ? 'this looks like Unix seconds; want milliseconds (× 1000)' : 'want Unix milliseconds'));
  }
  return t;
}

export default EdgeRec;
