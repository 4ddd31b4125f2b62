// r2.js — a stand-in for R2 behind workerd's r2Bucket binding, for the
// workerd test and edge-scale: workerd turns the binding's get() and
// head() into HTTP requests to a service, and this loopback server
// answers them from files, streamed from disk. What it speaks is the
// binding's wire form as Miniflare's R2 simulator answers it (a
// `cf-r2-request` header naming the operation; the object's metadata as
// JSON, `cf-r2-metadata-size` bytes long, then its bytes; errors in a
// `cf-r2-error` header). Only get and head of whole objects are served:
// the worker needs no more.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';

const NO_SUCH_KEY = 10007;

/**
 * serveR2 starts the stand-in on a free loopback port, serving the object
 * named key from the file objects[key]. It resolves to { port, gets,
 * close }: gets counts the get requests answered.
 */
export async function serveR2(objects) {
  const stats = { gets: 0 };
  const server = createServer((req, res) => {
    let op;
    try {
      op = JSON.parse(req.headers['cf-r2-request'] || 'null');
    } catch {
      op = null;
    }
    req.resume();
    const fail = (status, v4code, message) => res.writeHead(status, { 'cf-r2-error': JSON.stringify({ version: 1, v4code, message }) }).end();
    if (!op || (op.method !== 'get' && op.method !== 'head')) return fail(400, 10029, `operation ${op && op.method} not served here`);
    const file = objects[op.object];
    if (!file) return fail(404, NO_SUCH_KEY, 'The specified key does not exist.');
    const { size, mtimeMs } = statSync(file);
    const meta = Buffer.from(JSON.stringify({
      name: op.object, version: '1', size, etag: `${size}-${Math.floor(mtimeMs)}`, uploaded: Math.floor(mtimeMs),
      httpFields: {}, customFields: [], checksums: {},
    }));
    const headers = { 'cf-r2-metadata-size': String(meta.length), 'Content-Type': 'application/json' };
    if (op.method === 'head') return res.writeHead(200, { ...headers, 'Content-Length': meta.length }).end(meta);
    stats.gets++;
    res.writeHead(200, { ...headers, 'Content-Length': meta.length + size });
    res.write(meta);
    createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, stats, close: () => new Promise((r) => server.close(r)) };
}

/** r2Service returns the capnp service for a stand-in on port, named name. */
export function r2Service(name, port) {
  return `(name = "${name}", external = (address = "127.0.0.1:${port}", http = ()))`;
}
