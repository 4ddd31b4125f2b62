// EdgeRec.events(): request ids the module echoes, events built from its
// answers in the schema of host/events/EVENTS.md, batches posted to an
// events URL (a stub fetch here) or kept on the device without one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EdgeRec, EventLog, EdgeRecError, EVENTS_VERSION } from '../edgerec.js';
import { fixtures, wasmBytes } from './fixtures.js';

const fx = fixtures();
const rec = await EdgeRec.load(await WebAssembly.compile(wasmBytes()), fx.bundle, { stdout: () => {}, stderr: () => {} });

// stubFetch answers each POST with the next status of `statuses` (then
// 202) and records the bodies.
function stubFetch(statuses = []) {
  const posts = [];
  const fn = async (url, init) => {
    posts.push({ url, body: JSON.parse(init.body), type: init.headers['Content-Type'] });
    const status = statuses.length > 0 ? statuses.shift() : 202;
    if (status === 'network') throw new TypeError('fetch failed');
    return new Response(JSON.stringify(status === 202 ? { accepted: 1 } : { error: `status ${status}` }), { status });
  };
  return { fn, posts };
}

test('the module echoes the request id the log adds', () => {
  const log = rec.events();
  const req = log.request({ k: 5 });
  assert.match(req.request_id, /^[0-9a-f]{16}-[0-9a-z]+$/);
  const resp = rec.recommend(req);
  assert.equal(resp.request_id, req.request_id);
  assert.notEqual(log.request({ k: 5 }).request_id, req.request_id, 'fresh ids');
  assert.equal(log.request({ request_id: 'mine-1' }).request_id, 'mine-1');
  assert.throws(() => rec.recommend({ k: 5, request_id: 'has space' }), (err) => err instanceof EdgeRecError && /request_id/.test(err.message));
});

test('events are built from the answer, and kept local without a URL', () => {
  const log = rec.events({ user: 'session-7' });
  const resp = rec.recommend(log.request({ k: 4, context: { region: 'eu', device: 'mobile' } }));
  log.impression(resp, { context: { region: 'eu', device: 'mobile' } });
  log.take(resp, 2, { kind: 'watch', dwellMs: 1500 });
  log.skip(resp, 0, { dwellMs: 300 });
  log.take('i0001', undefined, { kind: 'buy' });
  const evs = log.pending();
  assert.equal(evs.length, 4);
  const [imp, take, skip, other] = evs;
  assert.equal(imp.type, 'impression');
  assert.equal(imp.request_id, resp.request_id);
  assert.equal(imp.bundle_version, resp.bundle_version);
  assert.equal(imp.region, 'eu');
  assert.equal(imp.user, 'session-7');
  assert.deepEqual(imp.items, resp.items.map((it, i) => ({ item: it.id, position: i + 1, source: it.source, score: it.score })));
  assert.deepEqual({ ...take, time_ms: 0 }, { type: 'take', request_id: resp.request_id, item: resp.items[2].id, position: 3, kind: 'watch', dwell_ms: 1500, time_ms: 0, user: 'session-7' });
  assert.equal(skip.type, 'skip');
  assert.equal(skip.position, 1);
  assert.equal(other.request_id, undefined);
  assert.ok(Math.abs(other.time_ms - Date.now()) < 60000);
  return log.flush().then(() => assert.equal(log.pending().length, 4, 'no URL: nothing sent'));
});

test('the log refuses events that break the schema', () => {
  const log = rec.events();
  assert.throws(() => log.take('i1', undefined, { kind: 'like' }), /kind "like"/);
  assert.throws(() => log.take('i1', undefined, { requestId: 'a b' }), /request_id/);
  assert.throws(() => log.impression({ items: [] }), /no request_id/);
  assert.throws(() => log.take({ request_id: 'r', items: [] }, 3), /no item at index 3/);
  assert.throws(() => new EventLog({ batchSize: 5000 }), /batchSize/);
  assert.equal(log.pending().length, 0);
});

test('an event the node would refuse throws where it is recorded, and never enters the batch', async () => {
  const { fn, posts } = stubFetch();
  const log = rec.events({ url: 'http://node.test/v1/events', batchSize: 100, fetch: fn });
  const resp = rec.recommend(log.request({ k: 4 }));
  const now = Date.now();
  const refuse = (call, want) => assert.throws(call, (err) => {
    assert.ok(err instanceof EdgeRecError, `${err} is not an EdgeRecError`);
    assert.equal(err.kind, 'input');
    assert.match(err.message, want);
    return true;
  });
  log.take(resp, 0, { kind: 'watch', time: now });
  // The node's rules (host/events Validate): integer Unix milliseconds
  // within 720h before and 24h after now, position 0..500, dwell 0..a day,
  // strings without control characters.
  refuse(() => log.take(resp, 1, { time: now + 0.5 }), /^take: time \d+\.5 is not integer milliseconds \(Math\.round\(\.\.\.\): \d+\)$/);
  refuse(() => log.take(resp, 1, { time: performance.timeOrigin + performance.now() + 0.25 }), /integer milliseconds/);
  refuse(() => log.take(resp, 1, { time: Math.floor(now / 1000) }), /^take: time \d+ \(1970-.*\) is not within 720h before and 24h after now \(.*\): this looks like Unix seconds; want milliseconds/);
  refuse(() => log.skip('i1', undefined, { time: now - 31 * 24 * 3600 * 1000 }), /^skip: time \d+ .* is not within 720h before/);
  refuse(() => log.take('i1', undefined, { time: now + 25 * 3600 * 1000 }), /is not within 720h before and 24h after now/);
  refuse(() => log.take('i1', undefined, { time: '2026-01-01' }), /^take: time "2026-01-01" is not a time/);
  refuse(() => log.take('i1', undefined, { position: 1.5 }), /^take: position 1\.5: want an integer in \[0, 500\]/);
  refuse(() => log.take('i1', undefined, { position: 501 }), /^take: position 501/);
  refuse(() => log.take('i1', undefined, { position: -1 }), /^take: position -1/);
  refuse(() => log.skip(resp, 0, { dwellMs: -5 }), /^skip: dwellMs -5: want milliseconds in \[0, 86400000\]/);
  refuse(() => log.skip(resp, 0, { dwellMs: 86400001 }), /^skip: dwellMs 86400001/);
  refuse(() => log.skip(resp, 0, { dwellMs: NaN }), /^skip: dwellMs NaN/);
  refuse(() => log.take(resp, '1'), /no item at index "1"/);
  refuse(() => log.take('i\n1', undefined, {}), /^item "i\\n1" holds a control character/);
  log.take('i2', undefined, { kind: 'buy', time: 0, position: 0, dwellMs: 86400000 }); // at the limits: 0 is "when received"
  log.skip(resp, 2, { dwellMs: 12.6 }); // dwell times are rounded
  assert.deepEqual(log.pending().map((e) => e.item), [resp.items[0].id, 'i2', resp.items[2].id], 'only the good events are kept');
  assert.equal(log.pending()[2].dwell_ms, 13);
  await log.flush();
  assert.equal(posts.length, 1);
  assert.equal(posts[0].body.events.length, 3, 'the good events are sent, in one batch');
  assert.equal(log.dropped, 0);
});

test('local events are bounded: the oldest are dropped and counted', () => {
  const log = rec.events({ maxPending: 3 });
  for (let i = 0; i < 5; i++) log.take(`i${i}`, undefined, {});
  assert.deepEqual(log.pending().map((e) => e.item), ['i2', 'i3', 'i4']);
  assert.equal(log.dropped, 2);
  log.clear();
  assert.equal(log.pending().length, 0);
});

test('batches are posted to the URL; refused ones dropped, unreachable ones kept', async () => {
  const { fn, posts } = stubFetch([503, 'network', 400]);
  const errors = [];
  const log = rec.events({ url: 'http://node.test/v1/events', batchSize: 4, fetch: fn, onError: (e) => errors.push(e.message) });
  for (let i = 0; i < 3; i++) log.take(`i${i}`, undefined, { kind: 'click' });
  assert.equal(posts.length, 0, 'below batchSize: nothing sent yet');

  await log.flush(); // 503: kept
  assert.equal(log.pending().length, 3);
  await log.flush(); // network error: kept
  assert.equal(log.pending().length, 3);
  await log.flush(); // 400: dropped
  assert.equal(log.pending().length, 0);
  assert.equal(log.dropped, 3);
  assert.equal(errors.length, 3);
  assert.match(errors[2], /events refused: status 400/);

  for (let i = 0; i < 9; i++) log.take(`j${i}`, undefined, { kind: 'watch' }); // reaching 4 starts a flush
  await log.flush();
  assert.equal(log.pending().length, 0);
  const sent = posts.slice(3).flatMap((p) => p.body.events);
  assert.deepEqual(sent.map((e) => e.item), Array.from({ length: 9 }, (_, i) => `j${i}`), 'every event once, in order');
  for (const p of posts) {
    assert.equal(p.url, 'http://node.test/v1/events');
    assert.equal(p.type, 'application/json');
    assert.equal(p.body.version, EVENTS_VERSION);
    assert.ok(p.body.events.length <= 4);
  }
});
