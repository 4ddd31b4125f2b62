// Cross-host parity: the loader running recommender.wasm in Node (through
// the WASI shim) must answer exactly as the wazero host did when `edgerec
// parity` wrote the fixtures, and its Bloom helpers must produce the bytes
// Go's core/bloom produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decode } from '@msgpack/msgpack';
import { EdgeRec, EdgeRecError } from '../edgerec.js';
import { wasmBytes, fixtures, stripTimings } from './fixtures.js';

const fx = fixtures();
const quiet = { stdout: () => {}, stderr: () => {} };
const rec = await EdgeRec.load(wasmBytes(), fx.bundle, quiet);

test('load_bundle returns the summary wazero got', () => {
  assert.deepEqual(rec.summary, decode(fx.summary));
});

for (const c of fx.recommend) {
  test(`recommend: ${c.name}`, () => {
    if (c.error) {
      // Raw bytes: some of these cannot be built as an object.
      assert.throws(() => rec.recommendBytes(c.input), (err) => {
        assert.ok(err instanceof EdgeRecError, `${err} is not an EdgeRecError`);
        assert.equal(err.kind, 'guest');
        assert.equal(err.message, c.error);
        return true;
      });
      return;
    }
    const want = decode(c.output);
    // The same bytes in: the same bytes out (timings aside).
    const raw = decode(rec.recommendBytes(c.input));
    assert.deepEqual(stripTimings(raw), stripTimings(want));
    if (!want.debug) assert.deepEqual(rec.recommendBytes(c.input), c.output);
    // The request decoded to a JS object and re-encoded by the loader.
    const obj = decode(c.input);
    assert.deepEqual(stripTimings(rec.recommend(obj)), stripTimings(want));
  });
}

test('recommend errors are EdgeRecErrors with the module message', () => {
  assert.throws(() => rec.recommend({ k: 501 }), { name: 'EdgeRecError', kind: 'guest', message: 'k = 501 is out of range [0, 500]' });
  assert.throws(() => rec.recommend(null), { name: 'EdgeRecError', kind: 'input' });
  // A fraction where the module wants an integer, or a wrong type, is
  // refused by the loader naming the field, not at a msgpack byte offset.
  const input = (message) => ({ name: 'EdgeRecError', kind: 'input', message });
  assert.throws(() => rec.recommend({ k: 2.5 }), input('k is 2.5: want an integer'));
  assert.throws(() => rec.recommend({ k: 3, history: [{ item: 'i0001', time: 1767225600.5 }] }),
    input('history[0].time is 1767225600.5: want an integer (Unix seconds: Math.floor(Date.now() / 1000))'));
  assert.throws(() => rec.recommend({ k: 3, context: { age: 30.5 } }), input('context.age is 30.5: want an integer'));
  assert.throws(() => rec.recommend({ k: 3, context: { time: 1.5 } }), input('context.time is 1.5: want an integer (Unix seconds: Math.floor(Date.now() / 1000))'));
  assert.throws(() => rec.recommend({ k: 3, impressions: [{ item: 'i1', count: 1, last: 2.5 }] }), input('impressions[0].last is 2.5: want an integer (Unix seconds: Math.floor(Date.now() / 1000))'));
  assert.throws(() => rec.recommend({ k: 3, nprobe: 1e300 }), input('nprobe is 1e+300: want an integer'));
  assert.throws(() => rec.recommend({ k: 3, order: { explore_every: 0.5 } }), input('order.explore_every is 0.5: want an integer'));
  assert.throws(() => rec.recommend({ k: '3' }), input('k is "3": want an integer'));
  assert.throws(() => rec.recommend({ k: 3, sources: { popular: NaN } }), input('sources.popular is NaN: want a finite number'));
  assert.throws(() => rec.recommend({ k: 3, consumed: [1, 2] }), input('consumed is a list: want bytes, a Uint8Array'));
  assert.throws(() => rec.recommend({ k: 3, history: { item: 'i1' } }), input('history is an object: want a list'));
  assert.throws(() => rec.recommend({ k: 3, seed: 7 }), input('seed is 7: want a string'));
  // Fractional weights and lambdas still go (as float64); absent fields pass.
  assert.equal(rec.recommend({ k: 3, sources: { popular: 0.5 }, order: { mmr_lambda: 0.25 }, context: { age: null }, seed: undefined }).items.length, 3);
  // The instance stays usable.
  assert.equal(rec.recommend({ k: 3 }).items.length, 3);
  assert.equal(rec.broken, false);
});

for (const c of fx.bloom) {
  test(`bloom: ${c.name}`, () => {
    const op = decode(c.input);
    if (c.error) {
      assert.throws(() => rec.bloom(op), { name: 'EdgeRecError', kind: 'guest', message: c.error });
      return;
    }
    assert.deepEqual(rec.bloom(op), decode(c.output));
  });
}

test('bloom helpers make the filter Go makes, byte for byte', () => {
  const { expected, fp_rate: fpRate, items, filter } = fx.consumed;
  const fromNew = rec.bloomAdd(rec.bloomNew(expected, fpRate), items);
  assert.deepEqual(fromNew, filter);
  // Added one at a time, as the demo page does.
  let f = null;
  for (const id of items) f = rec.bloomAdd(f, [id], { expected, fpRate });
  assert.deepEqual(f, filter);
  assert.deepEqual(rec.bloomCheck(filter, items), items.map(() => true));
  assert.deepEqual(rec.bloomCheck(filter, []), []);
  assert.throws(() => rec.bloomCheck(new Uint8Array([1, 2, 3]), ['x']), { kind: 'guest', message: /^bloom: malformed filter/ });
});

for (const c of fx.catalog) {
  test(`catalog: ${c.name}`, () => {
    const req = c.input.length ? decode(c.input) : {};
    if (c.error) {
      assert.throws(() => rec.catalog(req), { name: 'EdgeRecError', kind: 'guest', message: c.error });
      return;
    }
    assert.deepEqual(rec.catalog(req), decode(c.output));
  });
}

test('catalogAll returns every item once', () => {
  const all = rec.catalogAll();
  assert.equal(all.items.length, all.total);
  assert.equal(new Set(all.items.map((it) => it.id)).size, all.total);
  assert.equal(all.total, rec.summary.items);
});

test('no bundle, bad module, bad bundle', async () => {
  const bare = await EdgeRec.instantiate(rec.module, quiet);
  assert.throws(() => bare.recommend({ k: 1 }), { kind: 'guest', message: 'no bundle loaded' });
  // Bloom works without a bundle.
  assert.equal(bare.bloomNew(10, 0.01).length, 32);
  assert.throws(() => bare.loadBundle(new Uint8Array([1, 2, 3])), { kind: 'guest', message: /^bundle: corrupt/ });
  await assert.rejects(EdgeRec.load(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]), fx.bundle), { kind: 'abi', message: /not an edgerec module/ });
  await assert.rejects(EdgeRec.load(new Uint8Array([1, 2, 3]), fx.bundle), { kind: 'abi', message: /^not a WebAssembly module/ });
  await assert.rejects(EdgeRec.load(rec.module, 'not bytes'), { kind: 'input', message: /the bundle must be an ArrayBuffer/ });
  // A failed load keeps the previous bundle.
  const two = await EdgeRec.load(rec.module, fx.bundle, quiet);
  assert.throws(() => two.loadBundle(fx.bundle.subarray(0, 100)), { kind: 'guest' });
  // A bundle whose writer compressed sections (before 2026-12-07) is
  // refused by name, with the way out (bundles/FORMAT.md §3).
  const compressed = new Uint8Array(readFileSync(new URL('../../core/bundle/testdata/v2.0.bundle', import.meta.url)));
  assert.throws(() => two.loadBundle(compressed), { kind: 'guest', message: /^bundle: section MANI is stored zstd-compressed, which the module does not read: rewrite the bundle with `edgerec bundle upgrade`/ });
  assert.equal(two.recommend({ k: 2 }).items.length, 2);
  two.close();
  assert.throws(() => two.recommend({ k: 2 }), { kind: 'closed' });
});
