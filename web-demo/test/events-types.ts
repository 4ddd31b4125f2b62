// Type-checked with tsc against edgerec.d.ts: the event log's API as a
// page uses it, and misuses that must not compile.
import { EdgeRec, EventLog, type LoggedEvent, type Response } from '../edgerec.js';

export async function example(rec: EdgeRec): Promise<LoggedEvent[]> {
  const log: EventLog = rec.events({ url: '/v1/events', user: 'session-1', batchSize: 50, onError: (e) => console.warn(e.message) });
  const req = log.request({ k: 10, context: { region: 'eu' } });
  const id: string = req.request_id;
  const resp: Response = rec.recommend(req);
  log.impression(resp, req);
  log.take(resp, 0, { kind: 'watch', dwellMs: 1200 });
  log.skip(resp, 1);
  log.take('i0042', undefined, { requestId: id, position: 3, kind: 'buy' });
  await log.flush();
  return log.pending();
}

export function bad(log: EventLog, resp: Response): void {
  // @ts-expect-error: 'like' is not a take kind
  log.take(resp, 0, { kind: 'like' });
}
