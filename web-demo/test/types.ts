// Type-checked by `npm run typecheck` (tsc --noEmit): uses of the API that
// must compile against edgerec.d.ts, and one that must not.
import { EdgeRec, EdgeRecError, type Request, type Response } from '../edgerec.js';

export async function example(wasm: ArrayBuffer, bundle: Uint8Array): Promise<string[]> {
  const rec = await EdgeRec.load(wasm, bundle);
  let filter = rec.bloomAdd(null, ['i0001'], { expected: 2000, fpRate: 0.01 });
  filter = rec.bloomAdd(filter, ['i0002']);
  const req: Request = {
    k: 10,
    context: { region: 'eu', age: 30 },
    history: [{ item: 'i0001', time: 1_700_000_000 }],
    consumed: filter,
    sources: { twotower: 1, explore: 0 },
    order: { mmr_lambda: 0.5, explore_every: 4 },
    debug: true,
  };
  try {
    const resp: Response = rec.recommend(req);
    const page = rec.catalog({ offset: 0, limit: 100 });
    const titles = new Map(page.items.map((it) => [it.id, it.title]));
    return resp.items.map((it) => `${titles.get(it.id)} (${it.source}${it.because ? `, because ${it.because}` : ''})`);
  } catch (err) {
    if (err instanceof EdgeRecError && err.kind === 'guest') return [err.message];
    throw err;
  }
}

// @ts-expect-error: k is a number
export const bad: Request = { k: '10' };

// Streams: a fetch Response, a ReadableStream with its length, an R2 body.
export async function streamed(wasm: WebAssembly.Module, stream: ReadableStream<Uint8Array>, r2: { body: ReadableStream<Uint8Array>; size: number; key: string }): Promise<number> {
  const rec = await EdgeRec.load(wasm, fetch('v1/bundle/file'));
  const a = await rec.loadBundle(stream, { length: 1024 });
  const b = await rec.loadBundle(r2);
  const c = rec.loadBundle(new Uint8Array(8)).items; // bytes: a Summary at once
  const d = await EdgeRec.load(wasm, stream, { length: 1024, stdout: () => {} });
  return a.items + b.items + c + (d.summary?.items ?? 0);
}

// @ts-expect-error: a stream's summary is a promise
export const notAtOnce = (rec: EdgeRec, s: ReadableStream<Uint8Array>): number => rec.loadBundle(s).items;
