/**
 * The backend-neutral shard contracts. The SQLite backend implements them here; the SlateDB
 * backend implements the same two interfaces, and both run the shared contract suites.
 */

/** What one finished shard attempt reports to the build (feeds the manifest's `shards` row). */
export interface ShardWriteResult {
  /** The attempt URL (`.../db=00000/attempt=00`), the manifest's `db_url`. */
  dbUrl: string;
  /** Distinct keys stored. */
  rowCount: number;
  /** Puts that replaced an earlier value for the same key (last write wins). */
  duplicateCount: number;
  /** Bytes of the shard's data object(s), the manifest's `db_bytes`. */
  dbBytes: number;
  /** `"<algorithm>:<hex>"` of the shard file, recorded in the manifest's `custom.shard_checksums`. */
  checksum?: string;
  /** Smallest and largest encoded key, `undefined` for an empty shard. */
  minKey?: Uint8Array;
  maxKey?: Uint8Array;
}

export interface ShardWriter<R extends ShardWriteResult = ShardWriteResult> {
  /** Adds one pair (already-encoded key). Bytes are copied; the caller may reuse its buffers. */
  put(key: Uint8Array, value: Uint8Array): void;
  /** Seals the shard, uploads it and reports it. No object a manifest could use exists before this resolves. */
  finish(): Promise<R>;
  /** Drops everything written so far, locally and remotely. Safe to call after a failed `finish`. */
  abort(): Promise<void>;
}

export interface ShardReader {
  /** The value stored under the encoded `key`, or `undefined`. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * The same answer synchronously, for readers whose data is local (the SQLite download reader):
   * a warm get then costs no promise at all. Readers that may need I/O leave it out.
   */
  getNow?(key: Uint8Array): Uint8Array | undefined;
  /** Values for `keys`, in the same order. */
  multiGet(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
  close(): Promise<void>;
}
