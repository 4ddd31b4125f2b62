// The loader against tiny hand-made modules: a wrong ABI version is refused
// with both versions named, and a trap breaks the instance for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EdgeRec } from '../edgerec.js';

const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
const section = (id, body) => [id, ...leb(body.length), ...body];
const name = (s) => [...leb(s.length), ...new TextEncoder().encode(s)];
const vec = (items) => [...leb(items.length), ...items.flat()];

// tinyModule exports what the loader looks for; load_bundle and recommend
// execute `unreachable` (a trap).
function tinyModule(version) {
  const I32 = 0x7f, I64 = 0x7e;
  const types = vec([[0x60, 0, 0], [0x60, 0, 1, I32], [0x60, 1, I32, 1, I32], [0x60, 1, I32, 0], [0x60, 2, I32, I32, 1, I64]]);
  const funcs = vec([[0], [1], [2], [3], [4], [4]]);
  const memory = vec([[0, 1]]);
  const exp = (n, kind, idx) => [...name(n), kind, idx];
  const exports = vec([exp('memory', 2, 0), exp('_initialize', 0, 0), exp('edgerec_abi_version', 0, 1), exp('edgerec_alloc', 0, 2),
    exp('edgerec_free', 0, 3), exp('edgerec_load_bundle', 0, 4), exp('edgerec_recommend', 0, 5)]);
  const body = (...code) => [...leb(code.length + 1), 0, ...code];
  const code = vec([body(0x0b), body(0x41, version, 0x0b), body(0x41, 16, 0x0b), body(0x0b), body(0x00, 0x0b), body(0x00, 0x0b)]);
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(1, types), ...section(3, funcs), ...section(5, memory), ...section(7, exports), ...section(10, code)]);
}

test('a module of another ABI version is refused, naming both', async () => {
  await assert.rejects(EdgeRec.instantiate(tinyModule(2)), { name: 'EdgeRecError', kind: 'abi', message: 'module ABI version 2, loader supports 1' });
});

test('a trap breaks the instance; later calls say so', async () => {
  const rec = await EdgeRec.instantiate(tinyModule(1));
  assert.throws(() => rec.recommend({ k: 1 }), (err) => {
    assert.equal(err.name, 'EdgeRecError');
    assert.equal(err.kind, 'trap');
    assert.equal(err.export, 'edgerec_recommend');
    assert.match(err.message, /^edgerec_recommend trapped: unreachable/);
    assert.ok(err.cause instanceof WebAssembly.RuntimeError);
    return true;
  });
  assert.equal(rec.broken, true);
  assert.throws(() => rec.recommend({ k: 1 }), { kind: 'closed', message: /broken by an earlier trap/ });
  // A module without the newer exports: a clear message, not a TypeError.
  const other = await EdgeRec.instantiate(tinyModule(1));
  assert.throws(() => other.catalog(), { kind: 'abi', message: /no export edgerec_catalog/ });
  assert.throws(() => other.bloomNew(10, 0.01), { kind: 'abi', message: /no export edgerec_bloom/ });
});
