// fixtures.js finds what the tests need: the built module, and the parity
// fixtures written by `edgerec parity` (make web-test does both). Set
// EDGEREC_WASM and EDGEREC_FIXTURES to use others.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const wasmPath = process.env.EDGEREC_WASM || path.join(root, 'bin', 'recommender.wasm');
export const fixturesDir = process.env.EDGEREC_FIXTURES || path.join(root, 'out', 'web', 'fixtures');
// The same fixtures over a compact bundle (bundle build --compact).
export const compactFixturesDir = process.env.EDGEREC_COMPACT_FIXTURES || path.join(root, 'out', 'web', 'fixtures-compact');

function need(p, what) {
  if (!existsSync(p)) {
    throw new Error(`${what} ${p} is missing: run 'make web-test' from the repository root (it builds the module and writes the fixtures)`);
  }
  return p;
}

export function wasmBytes() {
  return readFileSync(need(wasmPath, 'the module'));
}

export function fixtures(dir = fixturesDir) {
  const fx = JSON.parse(readFileSync(need(path.join(dir, 'fixtures.json'), 'the parity fixtures'), 'utf8'));
  const b64 = (s) => (s ? new Uint8Array(Buffer.from(s, 'base64')) : new Uint8Array(0));
  const cases = (list) => (list || []).map((c) => ({ ...c, input: b64(c.input), output: c.output ? b64(c.output) : null }));
  return {
    bundle: readFileSync(need(path.join(dir, fx.bundle), 'the bundle')),
    summary: b64(fx.summary),
    recommend: cases(fx.recommend),
    bloom: cases(fx.bloom),
    catalog: cases(fx.catalog),
    bench: b64(fx.bench),
    consumed: { ...fx.consumed, filter: b64(fx.consumed.filter) },
    wazero: fx.wazero,
  };
}

// stripTimings zeroes the per-stage microseconds of a decoded response, the
// one part that differs between runs.
export function stripTimings(resp) {
  if (resp && resp.debug && Array.isArray(resp.debug.stages)) {
    resp = { ...resp, debug: { ...resp.debug, stages: resp.debug.stages.map((s) => ({ ...s, micros: 0 })) } };
  }
  return resp;
}
