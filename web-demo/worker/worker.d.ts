// Type declarations for worker.js, the edge-worker example
// (`edgerec-web/worker`). Request and Response are fetch's.
import type { R2ObjectBodyLike } from '../edgerec.js';

/** An R2 bucket binding, as far as the worker reads it. */
export interface R2BucketLike {
  get(key: string): Promise<R2ObjectBodyLike | null>;
  head(key: string): Promise<unknown>;
}

/** A KV namespace binding, as far as the worker reads it. */
export interface KVNamespaceLike {
  get(key: string, type: 'arrayBuffer'): Promise<ArrayBuffer | null>;
}

/** The worker's bindings (see worker.js and web-demo/README.md). */
export interface Env {
  /** The module: what `import wasm from './recommender.wasm'` gives, or its
   * bytes. A Worker cannot bind it itself: an entry passes it in. */
  RECOMMENDER_WASM: WebAssembly.Module | ArrayBuffer | ArrayBufferView;
  /** The bundle: bytes (a data binding), an R2 bucket or a KV namespace. */
  BUNDLE: ArrayBuffer | ArrayBufferView | R2BucketLike | KVNamespaceLike;
  /** The bundle's key in R2 or KV (default "demo.bundle"). */
  BUNDLE_KEY?: string;
  /** An events collector (an edge node's POST /v1/events). */
  EVENTS_URL?: string;
  /** Impressions per POST to EVENTS_URL (default 1). */
  EVENTS_BATCH?: string | number;
}

/** The part of a Workers ExecutionContext the worker uses. */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
}

/** Events kept per isolate while a collector is away. */
export const EVENTS_QUEUE: number;
/** How long a POST of events may take, in ms. */
export const EVENTS_TIMEOUT_MS: number;
/** The 503 message of a Worker deployed without RECOMMENDER_WASM. */
export const NO_WASM_BINDING: string;
/** What became of events in this isolate. */
export const eventStats: { sent: number; dropped: number; failed: number; forwarded: number };

declare const worker: {
  fetch(request: Request, env: Env, ctx?: ExecutionContextLike): Promise<Response>;
};
export default worker;
