// A compact bundle (bundle build --compact: product-quantization codes in
// place of the int8 rows), built without titles so that it is a lean
// format-4 bundle (bundles/FORMAT.md §8.1), in the loader under Node
// answers exactly as the wazero host did when `edgerec parity` wrote its
// fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '@msgpack/msgpack';
import { EdgeRec } from '../edgerec.js';
import { wasmBytes, fixtures, compactFixturesDir, stripTimings } from './fixtures.js';

const fx = fixtures(compactFixturesDir);
const quiet = { stdout: () => {}, stderr: () => {} };
const rec = await EdgeRec.load(wasmBytes(), fx.bundle, quiet);

test('compact: the lean bundle loads as format 4.0', () => {
  assert.equal(rec.summary.format, '4.0');
  assert.deepEqual(rec.summary, decode(fx.summary));
});

for (const c of fx.recommend.filter((c) => !c.error)) {
  test(`compact recommend: ${c.name}`, () => {
    assert.deepEqual(stripTimings(decode(rec.recommendBytes(c.input))), stripTimings(decode(c.output)));
  });
}

// The lean bundle stores no titles: its catalog pages carry none, and
// match the wazero host's page for page.
for (const c of fx.catalog.filter((c) => !c.error)) {
  test(`compact catalog: ${c.name}`, () => {
    const req = c.input.length ? decode(c.input) : {};
    const page = rec.catalog(req);
    assert.deepEqual(page, decode(c.output));
    assert.ok(page.items.every((it) => !it.title), 'no titles in a bundle built with --no-titles');
  });
}
