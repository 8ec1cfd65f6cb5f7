/**
 * Shard results -> published snapshot: winners, manifest (`custom` gets the backend's fields and
 * the per-shard checksums), two-phase publish with CAS on `_CURRENT`, loser cleanup, BuildResult.
 * `buildSnapshot` ends here, and so does `shardy publish` for the Dask/Ray shells.
 */
import {
  type BuildMeta,
  type BuildResult,
  type BuildStats,
  BYTES_HEX_TAG,
  bytesToHex,
  type CelShardedWriteConfig,
  type CleanupLosersResult,
  type CurrentState,
  type HashShardedWriteConfig,
  type PublishCheck,
  type PublishMode,
  type PyJsonValue,
  publishBuild,
  type RunRecordHandle,
  readCurrentState,
  type ShardingSpec,
  selectWinners,
  utcNow,
} from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import type { ShardAdapterFactory } from "./adapter.ts";
import { adapterFactoryFromConfig } from "./adapters/index.ts";
import { emit, type WriterEventListener } from "./events.ts";
import { shardingSpecOf } from "./routing.ts";
import type { ShardResult } from "./shard-result.ts";
import { openSnapshotLocation, type SnapshotLocation } from "./store.ts";

/** Additive per-shard checksum map in the manifest's `custom` (read by `@shardy/sqlite` readers). */
export const SHARD_CHECKSUMS_KEY = "shard_checksums";

export interface SnapshotBuildStats extends BuildStats {
  /** Rows read from the inputs (or received), duplicates included. */
  rowsRead: number;
  /** Rows replaced by a later row with the same key (last write wins). */
  duplicates: number;
  bytesRead: number;
  /** `rowsRead` per second of `totalMs`. */
  rowsPerSecond: number;
}

export interface SnapshotBuildResult extends BuildResult {
  numDbs: number;
  stats: SnapshotBuildStats;
  /** What loser cleanup deleted (null when disabled). */
  cleanup: CleanupLosersResult | null;
}

export interface PublishShardResultsOptions {
  config: HashShardedWriteConfig | CelShardedWriteConfig;
  /**
   * The manifest's `sharding`; default from the config (a CEL build whose routing values were
   * inferred passes them here).
   */
  sharding?: ShardingSpec;
  /** The key column name recorded in the manifest (`key_col`). */
  keyCol: string;
  runId: string;
  numDbs: number;
  results: readonly ShardResult[];
  /** Default: opened from `config.storage`. */
  location?: SnapshotLocation;
  /** Backend whose manifest fields to add; default from `config.kv.adapter_factory`. */
  adapters?: ShardAdapterFactory;
  /**
   * `_CURRENT` as seen when the build started, for compare-and-swap. Default: read right before
   * publishing (guards only the publish itself against a concurrent flip).
   */
  expectedCurrent?: CurrentState | null;
  mode?: PublishMode;
  checks?: readonly PublishCheck[];
  runRecord?: RunRecordHandle;
  cleanupLosers?: boolean;
  timings?: { shardingMs?: number; writeMs?: number; startedAt?: number };
  rowsRead?: number;
  bytesRead?: number;
  signal?: AbortSignal;
  onEvent?: WriterEventListener;
}

export async function publishShardResults(options: PublishShardResultsOptions): Promise<SnapshotBuildResult> {
  const { config, results, numDbs } = options;
  if (!Number.isInteger(numDbs) || numDbs < 1) {
    throw new ConfigValidationError(`num_dbs must be an integer >= 1 to publish, got ${numDbs}`, {
      field: "num_dbs",
    });
  }
  const location = options.location ?? openSnapshotLocation(config.storage);
  const adapters = options.adapters ?? adapterFactoryFromConfig(config.kv.adapter_factory);
  const started = performance.now();

  // Winners are selected again inside publishBuild; here only to know whose checksums to record.
  const { winners } = selectWinners(results, numDbs);
  const winnerUrls = new Set(winners.map((w) => w.dbUrl));
  const checksums: Record<string, string> = {};
  for (const r of results) {
    if (r.checksum && r.dbUrl !== null && winnerUrls.has(r.dbUrl)) checksums[String(r.dbId)] = r.checksum;
  }
  const custom: Record<string, unknown> = {
    ...(config.manifest.custom_manifest_fields as Record<string, PyJsonValue>),
    ...adapters.manifestCustom(),
  };
  if (Object.keys(checksums).length > 0) custom[SHARD_CHECKSUMS_KEY] = checksums;

  const build: BuildMeta = {
    runId: options.runId,
    createdAt: utcNow(),
    numDbs,
    s3Prefix: config.storage.s3_prefix,
    keyCol: options.keyCol,
    sharding: options.sharding ?? shardingSpecOf(config),
    dbPathTemplate: config.output.db_path_template,
    shardPrefix: config.output.shard_prefix,
    formatVersion: 4,
    keyEncoding: config.kv.key_encoding,
  };
  const expectedCurrent =
    options.expectedCurrent !== undefined
      ? options.expectedCurrent
      : await readCurrentState(
          { store: location.store, prefix: location.prefix },
          { signal: options.signal },
        );
  const outcome = await publishBuild({
    store: location.store,
    prefix: location.prefix,
    build,
    custom,
    attempts: results,
    expectedCurrent,
    mode: options.mode ?? "cas",
    checks: options.checks,
    runRecord: options.runRecord,
    cleanupLosers: options.cleanupLosers,
    timings: options.timings,
    signal: options.signal,
  });
  emit(options.onEvent, {
    event: "write.manifest_published",
    manifest_ref: outcome.result.manifestRef,
    elapsed_ms: Math.round(performance.now() - started),
  });
  const rowsRead = options.rowsRead ?? results.reduce((s, r) => s + r.rowCount + r.duplicates, 0);
  const stats = outcome.result.stats;
  return {
    ...outcome.result,
    numDbs,
    stats: {
      ...stats,
      rowsRead,
      duplicates: results
        .filter((r) => r.dbUrl !== null && winnerUrls.has(r.dbUrl))
        .reduce((s, r) => s + r.duplicates, 0),
      bytesRead: options.bytesRead ?? 0,
      rowsPerSecond: stats.durations.totalMs > 0 ? (rowsRead * 1000) / stats.durations.totalMs : 0,
    },
    cleanup: outcome.cleanup,
  };
}

/** A BuildResult as snake_case JSON-ready data (the reference's field names; ints exact). */
export function buildResultToWire(result: SnapshotBuildResult): PyJsonValue {
  const d = result.stats.durations;
  return {
    run_id: result.runId,
    manifest_ref: result.manifestRef,
    run_record_ref: result.runRecordRef,
    num_dbs: result.numDbs,
    winners: result.winners.map((w) => ({
      db_id: w.dbId,
      db_url: w.dbUrl,
      attempt: w.attempt,
      row_count: w.rowCount,
      db_bytes: w.dbBytes,
      min_key: w.minKey instanceof Uint8Array ? { [BYTES_HEX_TAG]: bytesToHex(w.minKey) } : w.minKey,
      max_key: w.maxKey instanceof Uint8Array ? { [BYTES_HEX_TAG]: bytesToHex(w.maxKey) } : w.maxKey,
      checkpoint_id: w.checkpointId,
      writer_info: {
        attempt: w.writerInfo.attempt,
        duration_ms: w.writerInfo.durationMs,
        stage_id: w.writerInfo.stageId,
        task_attempt_id: w.writerInfo.taskAttemptId,
      },
    })),
    stats: {
      durations: {
        sharding_ms: Math.round(d.shardingMs),
        write_ms: Math.round(d.writeMs),
        manifest_ms: Math.round(d.manifestMs),
        total_ms: Math.round(d.totalMs),
      },
      num_attempt_results: result.stats.numAttemptResults,
      num_winners: result.stats.numWinners,
      rows_written: result.stats.rowsWritten,
      rows_read: result.stats.rowsRead,
      duplicates: result.stats.duplicates,
      bytes_read: result.stats.bytesRead,
      rows_per_second: Math.round(result.stats.rowsPerSecond),
    },
  };
}
