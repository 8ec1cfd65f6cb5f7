/**
 * In-memory model of a manifest (format_version 4) and of the `_CURRENT` pointer.
 * Field names are camelCase here; the wire names (snake_case) live only in the codecs.
 */

/** A min/max key as logged in the manifest: int keys are bigint (u64 may exceed 2^53). */
export type ManifestKey = bigint | string | Uint8Array | null;

/** A categorical CEL routing token. */
export type RoutingValue = bigint | string | Uint8Array;

export const MANIFEST_FORMAT_VERSION = 4;
export const CURRENT_FORMAT_VERSION = 1;
export const MANIFEST_CONTENT_TYPE = "application/x-sqlite3";
export const CURRENT_CONTENT_TYPE = "application/json";

export type KeyEncoding = "u64be" | "u32be" | "utf8" | "raw";

export interface ShardingSpec {
  strategy: "hash" | "cel";
  hashAlgorithm: "xxh3_64";
  celExpr: string | null;
  celColumns: Record<string, string> | null;
  routingValues: RoutingValue[] | null;
}

/** The sharding spec of a hash-routed snapshot (the reference writes all five keys, CEL ones null). */
export function hashSharding(): ShardingSpec {
  return { strategy: "hash", hashAlgorithm: "xxh3_64", celExpr: null, celColumns: null, routingValues: null };
}

export interface WriterInfo {
  attempt: number;
  durationMs: number;
  stageId: number | null;
  taskAttemptId: number | null;
}

export interface ShardMeta {
  dbId: number;
  dbUrl: string | null;
  attempt: number;
  rowCount: number;
  dbBytes: number;
  minKey: ManifestKey;
  maxKey: ManifestKey;
  checkpointId: string | null;
  writerInfo: WriterInfo;
}

export interface BuildMeta {
  runId: string;
  /** Parsed manifests give a `PreciseDate` (a `Date` that keeps microseconds); any `Date` builds. */
  createdAt: Date;
  numDbs: number;
  s3Prefix: string;
  keyCol: string;
  sharding: ShardingSpec;
  dbPathTemplate: string;
  shardPrefix: string;
  formatVersion: number;
  keyEncoding: KeyEncoding;
}

export interface Manifest {
  build: BuildMeta;
  /** Non-empty shards only, sorted by dbId. */
  shards: ShardMeta[];
  /** Free-form JSON object (`custom` column); our additive extensions live here. */
  custom: Record<string, unknown>;
}

export interface CurrentPointer {
  manifestRef: string;
  manifestContentType: string;
  runId: string;
  /** `PreciseDate` when parsed, so microseconds survive a rewrite. */
  updatedAt: Date;
  formatVersion: number;
}

/** A manifest as listed in history: where it is, whose it is, when it was published. */
export interface ManifestRef {
  ref: string;
  runId: string;
  publishedAt: Date;
}
