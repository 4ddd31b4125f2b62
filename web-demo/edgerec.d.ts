// Type declarations for edgerec.js. Field names follow core/api (msgpack
// names), so requests and responses look the same from Go, JSON and JS.

/** ABI version this loader speaks. */
export const ABI_VERSION: 1;

/** The module's export names (core/abi). */
export const EXPORTS: Readonly<{
  version: 'edgerec_abi_version';
  alloc: 'edgerec_alloc';
  free: 'edgerec_free';
  loadBundle: 'edgerec_load_bundle';
  recommend: 'edgerec_recommend';
  bloom: 'edgerec_bloom';
  catalog: 'edgerec_catalog';
}>;

/** Limits the module enforces; the loader checks them first. */
export const LIMITS: Readonly<{
  requestBytes: number;
  bloomOpBytes: number;
  bloomOpItems: number;
  catalogPage: number;
  k: number;
  /** The longest list or map a request may hold. */
  listLen: number;
  /** The largest bundle the module takes (edgerec_alloc's largest buffer). */
  bundleBytes: number;
}>;

/** What went wrong: see EdgeRecError. */
export type ErrorKind = 'guest' | 'trap' | 'abi' | 'input' | 'closed';

/** Thrown for every failure; `message` is the module's own for kind 'guest'. */
export class EdgeRecError extends Error {
  readonly name: 'EdgeRecError';
  readonly kind: ErrorKind;
  /** The export that failed, e.g. "edgerec_recommend" ('' if none). */
  readonly export: string;
}

export type Bytes = ArrayBuffer | ArrayBufferView;
/** fetch's Response (this file's `Response` is the module's answer). */
export type FetchResponse = globalThis.Response;
export type ModuleSource = WebAssembly.Module | Bytes | FetchResponse | Promise<FetchResponse>;

/** What R2's get() returns (an R2ObjectBody), as far as the loader reads it. */
export interface R2ObjectBodyLike {
  body: ReadableStream<Uint8Array>;
  /** The object's length in bytes. */
  size: number;
}

/** A bundle the loader reads as a stream: with a known length (a Response's
 * Content-Length on a body that is not content-encoded, R2's size, or the
 * `length` option) its chunks are written straight into the module; without
 * one it is read whole first. */
export type BundleStream = FetchResponse | ReadableStream<Uint8Array> | R2ObjectBodyLike;

export interface StreamOptions {
  /** The stream's length in bytes, when the source does not say it (it
   * overrides Content-Length and R2's size). A stream that ends short of
   * it or runs past it is refused (kind 'input'). */
  length?: number;
}

export interface Options extends StreamOptions {
  /** Called with each line the guest writes to stdout (default console.log). */
  stdout?: (line: string) => void;
  /** Called with each line the guest writes to stderr (default console.warn). */
  stderr?: (line: string) => void;
}

export interface Summary {
  version: string;
  /** Unix seconds. */
  created: number;
  items: number;
  dim: number;
  /** Bundle format version, "major.minor". */
  format: string;
  size_bytes: number;
}

export interface Context {
  /** Unix seconds; unset means the bundle's creation time. */
  time?: number;
  region?: string;
  device?: string;
  gender?: string;
  age?: number;
  attrs?: Record<string, string>;
}

export interface Event { item: string; time?: number }
export interface Impression { item: string; count?: number; last?: number }

export interface Filters {
  exclude?: string[];
  allow?: string[];
  ignore_availability?: boolean;
}

export type SourceName = 'twotower' | 'covisit' | 'popular' | 'trending' | 'fresh' | 'explore' | 'slim';

export interface Order {
  /** Relevance (1) against diversity (0), in [0, 1]. */
  mmr_lambda?: number;
  /** Every n-th position is an exploration slot (0: none). */
  explore_every?: number;
  /** At most this many items per category (0: no cap). */
  category_cap?: number;
}

export interface Request {
  user_id?: string;
  /** Names the request; the answer carries it back (1–64 printable ASCII
   * characters without spaces). EventLog.request adds a fresh one. */
  request_id?: string;
  context?: Context;
  /** Oldest first; unknown ids are ignored and counted. */
  history?: Event[];
  seed?: string;
  /** A consumed-items Bloom filter (bloomAdd's result). */
  consumed?: Uint8Array;
  impressions?: Impression[];
  /** 1..500; 0 or unset means 10. */
  k?: number;
  filters?: Filters;
  /** Weight per source in [0, 100]; 0 turns a source off. */
  sources?: Partial<Record<SourceName, number>>;
  debug?: boolean;
  experiment_key?: string;
  nprobe?: number;
  order?: Order;
}

export interface Item {
  id: string;
  score: number;
  source: SourceName | string;
  /** For covisit and slim: the history item this one comes from. */
  because?: string;
  /** The popularity back-fill added it once the enabled sources ran out. */
  backfill?: boolean;
}

export interface Stage { name: string; in: number; out: number; micros: number }

export interface Response {
  /** The request's request_id (or, from edgerec serve, the node's id). */
  request_id?: string;
  items: Item[];
  bundle_version: string;
  arm?: string;
  /** Where the module served the request other than as asked (api.Warn*). */
  warnings?: ("consumed_saturated" | "budget_exhausted" | string)[];
  /** History and seed ids the bundle does not hold, ignored; absent when 0. */
  unknown_items?: number;
  debug?: { stages: Stage[]; unknown_items: number; truncated: number; examined: number };
}

export interface CatalogRequest {
  offset?: number;
  /** At most 5000; 0 or unset means 1000. */
  limit?: number;
}

export interface CatalogItem {
  id: string;
  title: string;
  categories: string[];
  /** Unix seconds; 0 when unknown. */
  released: number;
  /** Licensed regions; empty means everywhere. */
  regions: string[];
  available: boolean;
  age_rating: number;
  popularity: number;
}

export interface CatalogPage {
  bundle_version: string;
  total: number;
  offset: number;
  items: CatalogItem[];
  categories: string[];
  /** Context values the query tower knows, per field ("region", "device", ...). */
  fields: Record<string, string[]>;
}

export interface BloomOp {
  op: 'new' | 'add' | 'check';
  expected?: number;
  fp_rate?: number;
  filter?: Uint8Array;
  items?: string[];
}

export interface BloomResult {
  filter?: Uint8Array;
  contains?: boolean[];
}

/** One instance of recommender.wasm holding at most one bundle. Calls are
 * synchronous and one at a time. */
export class EdgeRec {
  private constructor();
  /** Compile (or reuse) the module, instantiate it and load the bundle. */
  static load(wasm: ModuleSource, bundle: Bytes | BundleStream | Promise<BundleStream>, options?: Options): Promise<EdgeRec>;
  /** An instance without a bundle (Bloom helpers work). */
  static instantiate(wasm: ModuleSource, options?: Options): Promise<EdgeRec>;
  readonly module: WebAssembly.Module;
  readonly summary: Summary | null;
  /** True after a trap: make a new instance. */
  readonly broken: boolean;
  readonly memoryBytes: number;
  close(): void;
  /** Load a bundle; on error the previous one keeps serving. Bytes load at
   * once; a stream resolves when it has been read and loaded. */
  loadBundle(bundle: Bytes): Summary;
  loadBundle(bundle: BundleStream | Promise<BundleStream>, options?: StreamOptions): Promise<Summary>;
  recommend(request: Request): Response;
  /** msgpack in, msgpack out. */
  recommendBytes(request: Bytes): Uint8Array;
  catalog(request?: CatalogRequest): CatalogPage;
  /** Every page, as one. */
  catalogAll(): CatalogPage;
  bloom(op: BloomOp): BloomResult;
  /** An empty filter for `expected` items at false-positive rate `fpRate`. */
  bloomNew(expected: number, fpRate: number): Uint8Array;
  /** Add ids to `filter` (or to a new one sized by opts) and return it. */
  bloomAdd(filter: Uint8Array | null | undefined, items: string[], opts?: { expected?: number; fpRate?: number }): Uint8Array;
  /** Whether the filter may contain each id. */
  bloomCheck(filter: Uint8Array, items: string[]): boolean[];
  /** An event log (EventLog) for what this page shows and the user takes. */
  events(options?: EventLogOptions): EventLog;
}

/** The events schema version written (host/events/EVENTS.md). */
export const EVENTS_VERSION: '1.0';

/** Limits of POST /v1/events. */
export const EVENT_LIMITS: Readonly<{
  batchEvents: number;
  batchBytes: number;
  items: number;
  string: number;
  requestId: number;
  /** The longest dwell_ms (a day). */
  dwellMs: number;
  /** How long before now an event's time may lie (30 days), in ms. */
  maxAgeMs: number;
  /** How long after now an event's time may lie (a day), in ms. */
  maxSkewMs: number;
}>;

export type TakeKind = 'watch' | 'buy' | 'click';

/** One item of an impression: position 1 is the first shown. */
export interface ShownItem { item: string; position: number; source?: string; score?: number }

/** An event in the schema of host/events/EVENTS.md. */
export type LoggedEvent =
  | { type: 'impression'; request_id: string; time_ms: number; user?: string; bundle_version?: string; arm?: string; region?: string; device?: string; items: ShownItem[] }
  | { type: 'take'; item: string; kind: TakeKind; request_id?: string; position?: number; dwell_ms?: number; time_ms: number; user?: string }
  | { type: 'skip'; item: string; request_id?: string; position?: number; dwell_ms?: number; time_ms: number; user?: string };

export interface EventLogOptions {
  /** edgerec serve's POST /v1/events; none: events stay on the device. */
  url?: string;
  /** The user id or an anonymous session key, put on every event. */
  user?: string;
  /** Events per POST (1..1000, default 100); reaching it starts a flush. */
  batchSize?: number;
  /** Events kept unsent (default 1000); beyond it the oldest are dropped. */
  maxPending?: number;
  fetch?: typeof fetch;
  /** A batch refused (dropped) or not sent now (kept). */
  onError?: (err: EdgeRecError) => void;
}

/** Options of EventLog.take and skip. */
export interface ActionOptions {
  /** With an item id: the response's request_id and the item's position
   * (an integer, 1 the first shown, 0 unknown, at most 500). */
  requestId?: string;
  position?: number;
  /** 0 to a day, in ms; a fraction is rounded. */
  dwellMs?: number;
  /** Integer Unix milliseconds (Math.round a fraction first) within 30
   * days before and a day after now, as the node takes it; 0: when the
   * node receives it; default now. An event outside these rules throws
   * EdgeRecError kind 'input' and is not recorded. */
  time?: number;
}

/** Records impressions, takes and skips; posts them in batches to `url`,
 * or keeps them on the device without one. */
export class EventLog {
  constructor(options?: EventLogOptions);
  readonly url: string;
  /** Events dropped: over maxPending, or refused by the node. */
  readonly dropped: number;
  /** `request` with a fresh request_id when it has none. */
  request<R extends Request>(request: R): R & { request_id: string };
  /** The list of `response` was shown (skip it when edgerec serve served it). */
  impression(response: Response, context?: Context | { context?: Context }): void;
  /** The user took the item at `index` of `response`, or the item `id`. */
  take(response: Response, index: number, opts?: ActionOptions & { kind?: TakeKind }): void;
  take(id: string, index?: undefined, opts?: ActionOptions & { kind?: TakeKind }): void;
  /** The user saw the item and moved on. */
  skip(response: Response, index: number, opts?: ActionOptions): void;
  skip(id: string, index?: undefined, opts?: ActionOptions): void;
  /** The events not sent (all of them without a URL). */
  pending(): LoggedEvent[];
  /** Forget the pending events. */
  clear(): void;
  /** Post the pending events; resolves when done (at once without a URL). */
  flush(): Promise<void>;
}

/** msgpack-encode a request as the loader does, after checkRequest. */
export function encodeRequest(request: Request): Uint8Array;

/** Check a request's known fields against core/api.Request's types (safe
 * integers where the module wants integers, finite numbers, strings,
 * consumed as bytes), throwing EdgeRecError kind 'input' naming the field
 * and its value. With `json`, check a request parsed from JSON as edgerec
 * serve does (unknown fields refused, names matched in any case, consumed
 * as base64, lists of at most 4096) and return the request for the module. */
export function checkRequest(request: unknown, options?: { json?: boolean }): Request;

export default EdgeRec;
