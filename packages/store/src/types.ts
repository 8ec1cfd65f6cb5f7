/**
 * The object-store contract every shardy component talks to. Keys are store-relative
 * ("prefix/manifests/.../manifest"), never URLs; a store is bound to one bucket or root.
 */

export interface ObjectMeta {
  key: string;
  size: number;
  /** Opaque entity tag, quotes included as the server sent it (S3: `"d41d8..."`). */
  etag: string;
  lastModified: Date;
}

export interface GetResult extends ObjectMeta {
  body: Uint8Array;
}

/** Byte range, `end` exclusive. `end` past the object's size is clamped. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PutOptions {
  contentType?: string;
  /** Put only if the current object's ETag equals this value (compare-and-swap). */
  ifMatch?: string;
  /** `"*"`: put only if no object exists at the key (create-only). */
  ifNoneMatch?: "*";
  signal?: AbortSignal;
}

export interface PutResult {
  etag: string;
}

export interface ListOptions {
  /** With `"/"`, keys below the next `/` after the prefix are folded into `commonPrefixes`. */
  delimiter?: string;
  signal?: AbortSignal;
}

export interface PutFileOptions {
  /** The caller gives the file up: the store may move it (the path is gone afterwards). */
  move?: boolean;
  contentType?: string;
  signal?: AbortSignal;
}

export interface ListResult {
  objects: ObjectMeta[];
  /** Folded prefixes, each ending with the delimiter, sorted. */
  commonPrefixes: string[];
}

export interface StoreCapabilities {
  /** Honors `ifMatch` / `ifNoneMatch` atomically. */
  conditionalPut: boolean;
  /** `putStream` uploads in parts without holding the whole object in memory. */
  multipart: boolean;
}

export interface ObjectStore {
  /** `s3://bucket`, `file:///abs/root`, `memory://name`: identifies the store in URLs. */
  readonly baseUrl: string;
  readonly capabilities: StoreCapabilities;

  /** Whole object, or `undefined` when the key does not exist. */
  get(key: string, options?: { signal?: AbortSignal }): Promise<GetResult | undefined>;
  /** Bytes `[start, end)`; throws `ObjectStoreError` when the key does not exist. */
  getRange(key: string, range: ByteRange, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
  /** Size and ETag, or `undefined` when the key does not exist. */
  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectMeta | undefined>;
  /** Throws `PreconditionFailedError` when a condition does not hold. */
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult>;
  /** Streams `body` (multipart where supported). Conditions are not supported here. */
  putStream(
    key: string,
    body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    options?: { contentType?: string; signal?: AbortSignal },
  ): Promise<PutResult>;
  /**
   * Optional: stores a local file as `key` without reading it through JS (a local store renames
   * or copies it). Callers fall back to `putStream` when a store lacks it.
   */
  putFile?(key: string, path: string, options?: PutFileOptions): Promise<PutResult>;
  /** All keys under `prefix` (plain string prefix), sorted by key. */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  delete(key: string): Promise<void>;
  /**
   * Deletes every object under `prefix` treated as a whole path segment: `a/b` removes `a/b`
   * and `a/b/...`, never `a/bc`. Returns the number of objects deleted.
   */
  deletePrefix(prefix: string, options?: { signal?: AbortSignal }): Promise<number>;
  close?(): Promise<void>;
}
