// workerd.js — what the tests and benches that run the edge worker under
// workerd share: a free loopback port, workerd's binary, and the worker
// bundled as Workers tooling bundles it (esbuild; the module imported as a
// compiled Wasm module, which Workers require, next to it as
// recommender.wasm). `make web-deps` installs workerd and esbuild in
// test/workerd, apart from the page's packages.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { root, wasmPath } from './fixtures.js';

const toolsDir = path.join(root, 'web-demo', 'test', 'workerd');

/** workerd's binary (the platform package's, so that its pid is workerd's). */
export const workerdBin = path.join(toolsDir, 'node_modules', '@cloudflare', 'workerd-linux-64', 'bin', 'workerd');

/** requireWorkerd throws, saying how to install it, when workerd is missing. */
export function requireWorkerd() {
  if (!existsSync(workerdBin)) {
    throw new Error(`workerd is missing at ${workerdBin}: run 'make web-deps' from the repository root (it installs test/workerd's packages)`);
  }
}

/** freePort returns a TCP port on 127.0.0.1 that nothing listens on. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * buildWorker writes into dir the edge worker (web-demo/worker/worker.js)
 * bundled as worker.js, with the module as recommender.wasm beside it
 * handed to the worker as its RECOMMENDER_WASM binding: the entry a
 * Workers project would write.
 */
export async function buildWorker(dir) {
  requireWorkerd();
  const { build } = createRequire(path.join(toolsDir, 'package.json'))('esbuild');
  writeFileSync(path.join(dir, 'entry.js'), [
    `import worker from ${JSON.stringify(path.join(root, 'web-demo', 'worker', 'worker.js'))};`,
    `import wasm from './recommender.wasm';`,
    `export default { fetch: (request, env, ctx) => worker.fetch(request, { ...env, RECOMMENDER_WASM: wasm }, ctx) };`,
  ].join('\n'));
  await build({
    entryPoints: [path.join(dir, 'entry.js')], bundle: true, format: 'esm', outfile: path.join(dir, 'worker.js'),
    external: ['./recommender.wasm'], nodePaths: [path.join(root, 'web-demo', 'node_modules')], logLevel: 'silent',
  });
  copyFileSync(wasmPath, path.join(dir, 'recommender.wasm'));
}

/**
 * workerCapnp returns the capnp definition of a worker named name: the
 * worker and module buildWorker wrote, its BUNDLE binding (bundle.bin in
 * the same directory as data; with r2, an R2 bucket served by the service
 * of that name, such as test/r2.js's stand-in), then the extra bindings
 * and fields given as capnp text.
 */
export function workerCapnp(name, { bindings = [], fields = [], r2 = '' } = {}) {
  const bundle = r2 ? `(name = "BUNDLE", r2Bucket = "${r2}")` : '(name = "BUNDLE", data = embed "bundle.bin")';
  return `const ${name} :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "recommender.wasm", wasm = embed "recommender.wasm"),
  ],
  bindings = [ ${[bundle, ...bindings].join(',\n    ')} ],
  compatibilityDate = "2025-01-01",${fields.map((f) => `\n  ${f},`).join('')}
);
`;
}

/**
 * startWorkerd runs workerd on dir/config.capnp and returns the process
 * and a function that returns what it has printed so far.
 */
export function startWorkerd(dir) {
  let log = '';
  const proc = spawn(workerdBin, ['serve', path.join(dir, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  return { proc, log: () => log };
}
