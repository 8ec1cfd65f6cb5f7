/**
 * One shard attempt from a stream of record batches: what `shardy write-shard` runs for the Dask
 * and Ray shells (Arrow IPC on stdin -> this -> the shard result as JSON on stdout). Rows are
 * checked to belong to the shard, and with `shard_retry` they are spooled locally so a failed
 * attempt is retried under the next `attempt=NN` URL without re-reading the input.
 */
import { configuredNumDbs } from "@shardy/core";
import { ConfigValidationError, ShardAssignmentError } from "@shardy/errors";
import { getKernel, type Kernel } from "@shardy/kernel";
import type { ObjectStore } from "@shardy/store";
import { type Data, type RecordBatch, Type } from "apache-arrow";
import type { ShardAdapterFactory } from "./adapter.ts";
import { adapterFactoryFromConfig } from "./adapters/index.ts";
import type { WriterEventListener } from "./events.ts";
import { partitionByShard } from "./partition.ts";
import { type ColumnInput, validateWriteConfig } from "./pipeline.ts";
import { createWriteLimiters } from "./rate-limiter.ts";
import { ShardHost, type ShardHostOptions } from "./shard-host.ts";
import { defaultLocalRoot, type ShardTarget } from "./shard-loop.ts";
import type { ShardResult } from "./shard-result.ts";
import { openSnapshotLocation } from "./store.ts";
import { ValueSpec } from "./value-spec.ts";

export interface WriteShardOptions {
  /**
   * The build's config (same for every shard of the build), HASH or CEL. HASH rows are checked
   * to route to `dbId`; CEL rows were routed by the engine and are taken as given.
   */
  config: unknown;
  input: ColumnInput;
  dbId: number;
  /** The build's shard count; default `num_dbs` of the config. Rows routing elsewhere are rejected. */
  numDbs?: number;
  /** The build's run id; default `output.run_id` of the config (required one way or the other). */
  runId?: string;
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>;
  /** First attempt number (default 0). */
  attempt?: number;
  stageId?: number | null;
  taskAttemptId?: number | null;
  store?: ObjectStore;
  adapterFactory?: ShardAdapterFactory;
  kernel?: Kernel;
  /** Writer buffer before spilling sorted runs to local disk (default 256 MiB). */
  memoryBudgetBytes?: number;
  signal?: AbortSignal;
  onEvent?: WriterEventListener;
}

export async function writeShard(options: WriteShardOptions): Promise<ShardResult> {
  const kernel = options.kernel ?? (await getKernel());
  const config = validateWriteConfig(options.config, kernel);
  const { key_col: keyCol, value_spec: valueSpec } = options.input;
  if (typeof keyCol !== "string" || keyCol === "" || !(valueSpec instanceof ValueSpec)) {
    throw new ConfigValidationError("input needs key_col (a column name) and value_spec (a ValueSpec)", {
      field: "input",
    });
  }
  const runId = options.runId ?? config.output.run_id;
  if (!runId) {
    throw new ConfigValidationError(
      "write-shard needs the build's run id (every shard of a build shares it): set output.run_id or pass runId",
      { field: "output.run_id" },
    );
  }
  const numDbs = options.numDbs ?? configuredNumDbs(config);
  if (numDbs == null || !Number.isInteger(numDbs) || numDbs < 1) {
    throw new ConfigValidationError(
      `write-shard needs the build's num_dbs (got ${numDbs}); with max_keys_per_shard pass the resolved count`,
      { field: "num_dbs" },
    );
  }
  if (!Number.isInteger(options.dbId) || options.dbId < 0 || options.dbId >= numDbs) {
    throw new ConfigValidationError(`db_id must be an integer in [0, ${numDbs}), got ${options.dbId}`, {
      field: "db_id",
    });
  }
  const location = openSnapshotLocation(config.storage, options.store);
  const target: ShardTarget = {
    store: location.store,
    s3Prefix: config.storage.s3_prefix,
    runId,
    shardPrefix: config.output.shard_prefix,
    dbPathTemplate: config.output.db_path_template,
    localRoot: config.output.local_root ?? defaultLocalRoot(),
  };
  const host = new ShardHost({
    target,
    keyCol,
    valueSpec,
    keyEncoding: config.kv.key_encoding,
    batchSize: config.kv.batch_size,
    adapters:
      options.adapterFactory ??
      adapterFactoryFromConfig(config.kv.adapter_factory, { memoryBudgetBytes: options.memoryBudgetBytes }),
    kernel,
    limiters: createWriteLimiters(config.rate_limits, { onThrottled: options.onEvent }),
    verifyRouting: config.strategy === "hash" ? { numDbs } : undefined,
    excludeColumn: config.shard_id_col,
    stageId: options.stageId ?? null,
    taskAttemptId: options.taskAttemptId ?? null,
    retry: config.retry.shard_retry,
    startAttempt: options.attempt ?? 0,
    signal: options.signal,
    onEvent: options.onEvent,
  });
  try {
    for await (const batch of options.batches) {
      options.signal?.throwIfAborted();
      await host.write(options.dbId, batch);
    }
    const [result] = await host.finishAll();
    // No rows: an empty shard (the manifest omits it), like the reference's empty partitions.
    return (
      result ?? emptyShardResult(options.dbId, options.attempt ?? 0, config.kv.adapter_factory.kind, options)
    );
  } catch (err) {
    await host.abortAll();
    throw err;
  }
}

/** The result of a shard that received no rows: the manifest omits it (`db_url: null`). */
function emptyShardResult(
  dbId: number,
  attempt: number,
  backendKind: string,
  task: { stageId?: number | null; taskAttemptId?: number | null },
): ShardResult {
  return {
    dbId,
    dbUrl: null,
    attempt,
    rowCount: 0,
    dbBytes: 0,
    minKey: null,
    maxKey: null,
    checkpointId: null,
    writerInfo: {
      attempt,
      durationMs: 0,
      stageId: task.stageId ?? null,
      taskAttemptId: task.taskAttemptId ?? null,
    },
    duplicates: 0,
    checksum: null,
    allAttemptUrls: [],
    backend: { kind: backendKind },
  };
}

/** The shard-id column of `batch` as int32s; a missing column, a null or a non-integer type is an error. */
function shardIdsOf(batch: RecordBatch, column: string): Int32Array {
  const vector = batch.getChild(column);
  if (!vector) {
    throw new ConfigValidationError(
      `the stream has no shard-id column ${JSON.stringify(column)}; a multi-shard write needs each row's shard id there`,
      { field: "shard_id_col" },
    );
  }
  const out = new Int32Array(batch.numRows);
  let at = 0;
  for (const d of vector.data as Data[]) {
    if (d.nullCount > 0) {
      throw new ShardAssignmentError(`shard-id column ${JSON.stringify(column)} has null shard ids`);
    }
    if (d.typeId !== Type.Int) {
      throw new ConfigValidationError(
        `shard-id column ${JSON.stringify(column)} must hold integers, got ${String(d.type)}`,
        { field: "shard_id_col" },
      );
    }
    const values = (d.values as ArrayLike<number | bigint>) ?? [];
    for (let i = 0; i < d.length; i++) out[at++] = Number(values[d.offset + i]);
  }
  return out;
}

export interface WriteShardsOptions {
  host: ShardHostOptions;
  /** The shards this stream holds; a row of another shard is a `ShardAssignmentError`. */
  dbIds: readonly number[];
  /** The column carrying each row's shard id (the build's `shard_id_col`). */
  shardIdCol: string;
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>;
}

/**
 * Several shards from one stream (one `shardy write-shard --db-ids` process per engine
 * partition): batches split by their shard-id column, every listed shard written and sealed in
 * id order. One result per listed shard, in id order; a listed shard without rows is empty.
 */
export async function writeShards(options: WriteShardsOptions): Promise<ShardResult[]> {
  const ids = [...new Set(options.dbIds)].sort((a, b) => a - b);
  const bound = ids.length === 0 ? 0 : ids[ids.length - 1]! + 1;
  const listed = new Uint8Array(bound);
  for (const id of ids) listed[id] = 1;
  const host = new ShardHost(options.host);
  try {
    for await (const batch of options.batches) {
      options.host.signal?.throwIfAborted();
      if (batch.numRows === 0) continue;
      const shardIds = shardIdsOf(batch, options.shardIdCol);
      for (const id of shardIds) {
        if (!(id >= 0 && id < bound && listed[id] === 1)) {
          throw new ShardAssignmentError(
            `a row with shard id ${id} arrived, but this write takes shards [${ids.join(", ")}] only`,
          );
        }
      }
      for (const slice of partitionByShard(batch, shardIds, bound)) await host.write(slice.dbId, slice.batch);
    }
    const written = new Map((await host.finishAll()).map((r) => [r.dbId, r]));
    const attempt = options.host.startAttempt ?? 0;
    return ids.map(
      (id) => written.get(id) ?? emptyShardResult(id, attempt, options.host.adapters.kind, options.host),
    );
  } catch (err) {
    await host.abortAll();
    throw err;
  }
}
