/**
 * The reader's answers as snake_case records, the field names of the reference CLI's JSON output
 * (`cli/output.py`). Shared by the CLI and the HTTP server so both speak one shape.
 */
import { formatPydanticDatetime } from "@shardy/core";
import type { ReaderHealth, ShardDetail, SnapshotInfo } from "./types.ts";

export function snapshotInfoRecord(i: SnapshotInfo): Record<string, unknown> {
  return {
    run_id: i.runId,
    num_dbs: i.numDbs,
    sharding: {
      strategy: i.sharding.strategy,
      hash_algorithm: i.sharding.hashAlgorithm,
      cel_expr: i.sharding.celExpr,
      cel_columns: i.sharding.celColumns,
      routing_values: i.sharding.routingValues,
    },
    created_at: formatPydanticDatetime(i.createdAt),
    manifest_ref: i.manifestRef,
    row_count: i.rowCount,
    key_encoding: i.keyEncoding,
    hash_algorithm: i.hashAlgorithm,
    non_empty_shards: i.nonEmptyShards,
    backend: i.backend,
    pinned: i.pinned,
    fell_back: i.fellBack,
    current_ref: i.currentRef,
  };
}

export function shardDetailRecord(d: ShardDetail): Record<string, unknown> {
  return {
    db_id: d.dbId,
    row_count: d.rowCount,
    db_bytes: d.dbBytes,
    min_key: d.minKey,
    max_key: d.maxKey,
    attempt: d.attempt,
    db_url: d.dbUrl,
  };
}

export function healthRecord(h: ReaderHealth): Record<string, unknown> {
  return {
    status: h.status,
    manifest_ref: h.manifestRef,
    manifest_age_seconds: h.manifestAgeMs / 1000,
    num_shards: h.numShards,
    is_closed: h.isClosed,
    reasons: h.reasons,
  };
}
