/**
 * One shard attempt from a stream of record batches: what `shardy write-shard` runs for the Dask
 * and Ray shells (Arrow IPC on stdin -> this -> the shard result as JSON on stdout). Rows are
 * checked to belong to the shard, and with `shard_retry` they are spooled locally so a failed
 * attempt is retried under the next `attempt=NN` URL without re-reading the input.
 */
import { configuredNumDbs } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import { getKernel, type Kernel } from "@shardy/kernel";
import type { ObjectStore } from "@shardy/store";
import type { RecordBatch } from "apache-arrow";
import type { ShardAdapterFactory } from "./adapter.ts";
import { adapterFactoryFromConfig } from "./adapters/index.ts";
import type { WriterEventListener } from "./events.ts";
import { type ColumnInput, validateWriteConfig } from "./pipeline.ts";
import { createWriteLimiters } from "./rate-limiter.ts";
import { ShardHost } from "./shard-host.ts";
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
    if (result) return result;
    // No rows: an empty shard (the manifest omits it), like the reference's empty partitions.
    const attempt = options.attempt ?? 0;
    return {
      dbId: options.dbId,
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
        stageId: options.stageId ?? null,
        taskAttemptId: options.taskAttemptId ?? null,
      },
      duplicates: 0,
      checksum: null,
      allAttemptUrls: [],
      backend: { kind: config.kv.adapter_factory.kind },
    };
  } catch (err) {
    await host.abortAll();
    throw err;
  }
}
