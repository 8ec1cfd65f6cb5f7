/**
 * The backend seam the shard loop drives: a factory opens one adapter per shard attempt; the loop
 * feeds it encoded pairs, seals it (build + upload), and aborts it on failure. One implementation
 * per backend wraps that backend's package (`@shardy/sqlite`, `@shardy/slatedb`).
 */
import type { AdapterFactoryConfig, SqlitePageSize } from "@shardy/core";
import type { ObjectStore } from "@shardy/store";
import type { PairBatch } from "./pairs.ts";

export interface ShardAdapterOpenOptions {
  store: ObjectStore;
  /** The attempt URL (`<s3_prefix>/shards/run_id=<r>/db=00000/attempt=00`), inside `store`. */
  dbUrl: string;
  /** Store-relative key of `dbUrl`. */
  dbKey: string;
  /** Local scratch directory of this attempt (created by the loop). */
  localDir: string;
  dbId: number;
  attempt: number;
  signal?: AbortSignal;
}

export interface ShardSealResult {
  /** The manifest's `db_bytes`. */
  dbBytes: number;
  /** Distinct keys stored. */
  rowCount: number;
  /** Puts that a later put of the same key replaced (last write wins). */
  duplicates: number;
  /** `"<algorithm>:<hex>"` of the shard file, when the backend computes one. */
  checksum: string | null;
  /** Backend checkpoint id; `null` lets the loop stamp a fresh uuid4 hex like the reference. */
  checkpointId: string | null;
  /** Smallest / largest encoded key stored, when the backend knows them. */
  minKey?: Uint8Array;
  maxKey?: Uint8Array;
  /** Backend details for logs and results (page size, sidecar, driver, ...). */
  details?: Record<string, unknown>;
}

export interface ShardAdapter {
  /** Adds pairs; bytes are copied, the caller may reuse its buffers. */
  writeBatch(pairs: PairBatch): void | Promise<void>;
  /** Builds the shard and uploads it; when this resolves the attempt's objects are complete. */
  seal(): Promise<ShardSealResult>;
  /** Releases resources after a successful seal. */
  close(): Promise<void>;
  /** Drops everything written, locally and (best effort) remotely. Safe after a failed seal. */
  abort(): Promise<void>;
}

export interface ShardAdapterFactory {
  /** `sqlite`, `slatedb`, `slatedb-local` or a custom name (shown in `writer_info`-adjacent results). */
  readonly kind: string;
  open(options: ShardAdapterOpenOptions): Promise<ShardAdapter>;
  /** Fields this backend adds to the manifest's `custom` (e.g. `sqlite_sidecar`). */
  manifestCustom(): Record<string, unknown>;
  /** The config that rebuilds this factory in a worker thread; `null` when it cannot be sent. */
  toConfig(): AdapterFactoryConfig | null;
}

export interface AdapterTuning {
  /** Bytes a writer may buffer before sorting and spilling to local disk. */
  memoryBudgetBytes?: number;
}

/** `custom.sqlite_sidecar` as the reference writes it (`inject_sqlite_sidecar_manifest_field`). */
export function sqliteSidecarCustom(pageSize: SqlitePageSize): Record<string, unknown> {
  return {
    sqlite_sidecar: { codec: "zstd", filename: "shard.sidecar", format_version: 8, page_size: pageSize },
  };
}
