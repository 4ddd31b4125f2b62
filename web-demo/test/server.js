// server.js — a tiny static server with the two routes `edgerec serve --web`
// provides: web-demo/ at /, the module at GET /recommender.wasm and the
// bundle at GET /v1/bundle/file. The browser test and the benchmark use it
// so they do not depend on the Go server. With `events`, it also plays a
// node that takes events: it names POST /v1/events in the Edgerec-Events
// header of the bundle's answer, as the page expects, and keeps the
// batches posted there (`received`). Run it by hand:
//
//   node test/server.js --wasm ../bin/recommender.wasm --bundle ../out/web/demo.bundle [--port 8080]
import http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const webRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** serve starts the server on port (0: any free port) and resolves to
 * {url, close, received}: received holds the events posted to /v1/events
 * when `events` is set. */
export async function serve({ wasm, bundle, port = 0, host = '127.0.0.1', isolate = false, events = false }) {
  const received = [];
  // isolate: serve cross-origin isolated (COOP + COEP), which gives pages a
  // fine performance.now() (the benchmark wants it).
  const extra = isolate ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      let file;
      let type;
      const headers = {};
      if (events && req.method === 'POST' && url.pathname === '/v1/events') {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        let batch;
        try {
          batch = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: err.message }));
          return;
        }
        if (!batch || !Array.isArray(batch.events) || batch.events.length === 0) {
          res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'the batch holds no events' }));
          return;
        }
        received.push(...batch.events);
        res.writeHead(202, { 'Content-Type': 'application/json' }).end(JSON.stringify({ accepted: batch.events.length }));
        return;
      }
      if (url.pathname === '/recommender.wasm') {
        file = wasm;
        type = 'application/wasm';
      } else if (url.pathname === '/v1/bundle/file') {
        file = bundle;
        type = 'application/octet-stream';
        if (events) headers['Edgerec-Events'] = '/v1/events';
      } else {
        const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
        file = path.join(webRoot, path.normalize(rel));
        if (!file.startsWith(webRoot + path.sep)) {
          res.writeHead(403).end('forbidden');
          return;
        }
        type = TYPES[path.extname(file)] || 'application/octet-stream';
      }
      const st = await stat(file).catch(() => null);
      if (!st || !st.isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${url.pathname}`);
        return;
      }
      res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store', ...extra, ...headers });
      res.end(await readFile(file));
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(err));
    }
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const { port: p } = server.address();
  return { url: `http://${host}:${p}/`, received, close: () => new Promise((r) => server.close(r)) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { parseArgs } = await import('node:util');
  let args;
  try {
    ({ values: args } = parseArgs({ options: { wasm: { type: 'string' }, bundle: { type: 'string' }, port: { type: 'string', default: '8080' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    console.error(`server.js: ${err.message}\nusage: node test/server.js --wasm FILE --bundle FILE [--port N]`);
    process.exit(2);
  }
  if (args.help || !args.wasm || !args.bundle) {
    console.error('usage: node test/server.js --wasm FILE --bundle FILE [--port N]\nServes web-demo/ at /, FILE at /recommender.wasm and the bundle at /v1/bundle/file.');
    process.exit(args.help ? 0 : 2);
  }
  for (const f of [args.wasm, args.bundle]) {
    if (!(await stat(f).catch(() => null))) {
      console.error(`server.js: ${f} does not exist (make build; make web-bundle)`);
      process.exit(1);
    }
  }
  const s = await serve({ wasm: path.resolve(args.wasm), bundle: path.resolve(args.bundle), port: Number(args.port) });
  console.log(`serving the demo at ${s.url}`);
}
