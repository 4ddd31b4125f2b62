// A compact bundle (bundle build --compact: product-quantization codes in
// place of the int8 rows) in the loader under Node answers exactly as the
// wazero host did when `edgerec parity` wrote its fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '@msgpack/msgpack';
import { EdgeRec } from '../edgerec.js';
import { wasmBytes, fixtures, compactFixturesDir, stripTimings } from './fixtures.js';

const fx = fixtures(compactFixturesDir);
const quiet = { stdout: () => {}, stderr: () => {} };
const rec = await EdgeRec.load(wasmBytes(), fx.bundle, quiet);

test('compact: the bundle loads as format 3 (3.1 with a popularity prior) or 4.0 (lean catalog columns)', () => {
  assert.match(rec.summary.format, /^(3\.[01]|4\.0)$/);
  assert.deepEqual(rec.summary, decode(fx.summary));
});

for (const c of fx.recommend.filter((c) => !c.error)) {
  test(`compact recommend: ${c.name}`, () => {
    assert.deepEqual(stripTimings(decode(rec.recommendBytes(c.input))), stripTimings(decode(c.output)));
  });
}
