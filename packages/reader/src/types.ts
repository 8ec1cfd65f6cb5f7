/** Public result shapes of `ShardedReader` (reference §10, camelCased). */
import type { KeyEncoding, ManifestKey, ShardingSpec } from "@shardy/core";

export interface SnapshotInfo {
  runId: string;
  numDbs: number;
  sharding: ShardingSpec;
  /** The manifest's `created_at` (when the build published it). */
  createdAt: Date;
  manifestRef: string;
  /** Sum of the shards' row counts. */
  rowCount: number;
  keyEncoding: KeyEncoding;
  hashAlgorithm: string;
  /** Shards holding at least one row. */
  nonEmptyShards: number;
  /** e.g. `sqlite:download`, `sqlite:range`, `slatedb`. */
  backend: string;
  /** True when the reader serves a pinned manifest and does not follow `_CURRENT`. */
  pinned: boolean;
  /** True when `_CURRENT`'s manifest was malformed and an older one is served. */
  fellBack: boolean;
  /** The ref `_CURRENT` named at load time (`null` when pinned). */
  currentRef: string | null;
  /** When this reader loaded the snapshot. */
  loadedAt: Date;
}

/** One shard of the snapshot; empty shards are padded in with `dbUrl: null` and zero counts. */
export interface ShardDetail {
  dbId: number;
  rowCount: number;
  dbBytes: number;
  minKey: ManifestKey;
  maxKey: ManifestKey;
  dbUrl: string | null;
  attempt: number;
  checkpointId: string | null;
}

export type HealthStatus = "healthy" | "degraded" | "unhealthy";

export interface ReaderHealth {
  status: HealthStatus;
  /** Why the status is not healthy (empty when healthy). */
  reasons: string[];
  manifestRef: string;
  /** Milliseconds since the manifest was created (not since the reader opened: reference weakness 9). */
  manifestAgeMs: number;
  numShards: number;
  isClosed: boolean;
}
