// Type-checked by `npm run typecheck`: the deploy entry of web-demo/README.md
// ("The edge worker") against worker/worker.d.ts.
import worker, { type Env, type ExecutionContextLike } from '../worker/worker.js';

declare const wasm: WebAssembly.Module;

export default {
  fetch: (request: Request, env: Omit<Env, 'RECOMMENDER_WASM'>, ctx: ExecutionContextLike) =>
    worker.fetch(request, { ...env, RECOMMENDER_WASM: wasm }, ctx),
};

// @ts-expect-error: the module is required
export const missing: Env = { BUNDLE: new Uint8Array(0) };
