/**
 * The single-host build (`bun run build-snapshot`): input files -> Arrow record batches -> shard
 * ids from the kernel -> rows partitioned per shard -> shard writers on worker threads -> shard
 * results -> winners -> manifest -> `_CURRENT` -> BuildResult. Nothing is published unless every
 * shard was written; a failed or aborted build removes the shard objects it wrote.
 */
import { rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import {
  type CelShardedWriteConfig,
  type CurrentState,
  type HashShardedWriteConfig,
  type PublishCheck,
  type PublishMode,
  readCurrentState,
  runShardsPrefix,
  validateCelConfig,
  validateHashConfig,
  withRunRecord,
} from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import { celExprCheck, getKernel, type Kernel } from "@shardy/kernel";
import type { ObjectStore } from "@shardy/store";
import type { RecordBatch, Table } from "apache-arrow";
import type { ShardAdapterFactory } from "./adapter.ts";
import { adapterFactoryFromConfig } from "./adapters/index.ts";
import { emit, type WriterEventListener } from "./events.ts";
import { openInputs } from "./inputs/index.ts";
import {
  type CsvOptions,
  DEFAULT_BATCH_ROWS,
  type InputBatch,
  type InputFormat,
  type InputReadOptions,
  type InputSource,
} from "./inputs/types.ts";
import { checkKeysFit, keyColumnOf } from "./keys.ts";
import { ownedShards } from "./owned-read.ts";
import { decodeDictionaries, groupByShard, groupByShardCopied, type Partitioned } from "./partition.ts";
import { type ProgressListener, ProgressTracker } from "./progress.ts";
import { publishShardResults, type SnapshotBuildResult } from "./publish.ts";
import { type Clock, createWriteLimiters } from "./rate-limiter.ts";
import {
  type BatchStream,
  celInputColumns,
  discoverCelRouting,
  HashRowRouter,
  type RowRouter,
  shardingSpecOf,
} from "./routing.ts";
import { ShardHost } from "./shard-host.ts";
import { defaultLocalRoot, type ShardTarget } from "./shard-loop.ts";
import type { ShardResult } from "./shard-result.ts";
import { openSnapshotLocation } from "./store.ts";
import { ValueSpec } from "./value-spec.ts";
import { WorkerPool } from "./workers/pool.ts";

/** Record batches given directly instead of files. */
export type BatchInput = readonly RecordBatch[] | Table | AsyncIterable<RecordBatch>;

export interface ColumnInput {
  /** Key column name (the manifest's `key_col`). */
  key_col: string;
  value_spec: ValueSpec;
}

export interface BuildSnapshotOptions {
  /** File paths or globs, input sources, or record batches. */
  inputs: readonly (string | InputSource)[] | BatchInput;
  /** Format of every file; default: by extension. */
  format?: InputFormat;
  csv?: CsvOptions;
  /**
   * A hash-sharded write config (`validateHashConfig`) or a CEL one (`validateCelConfig`, chosen by
   * `strategy: "cel"` or a `cel_expr`); grouped or flat form. Direct CEL routing and
   * `infer_routing_values_from_data` read the input twice: a first pass evaluates the expression
   * to learn the shard count or the tokens, the second writes.
   */
  config: unknown;
  input: ColumnInput;
  /**
   * Threads that write shards; default one per core. The calling thread is one of them (it also
   * reads and routes the input), so `workers: n` starts `n - 1` worker threads; 0 or 1 writes every
   * shard in the calling thread (required for a custom `store`, `adapterFactory` or
   * `ValueSpec.callableEncoder`, which cannot be sent to a worker).
   */
  workers?: number;
  /** Worker script (a compiled executable passes its embedded entry). */
  workerUrl?: string | URL;
  /** Use this store instead of opening `storage.s3_prefix` (implies in-process writers). */
  store?: ObjectStore;
  /** Use this backend instead of `kv.adapter_factory` (implies in-process writers). */
  adapterFactory?: ShardAdapterFactory;
  kernel?: Kernel;
  /** Row count for `max_keys_per_shard` (skips the count pass). */
  knownRowCount?: number;
  /**
   * Bytes all shard writers together may buffer before spilling sorted runs to local disk.
   * Default 128 MiB: sealing a SQLite shard needs transient memory of its own, so the process
   * peak is several times this (about 1 GB for 10M rows in 16 shards on 2 threads).
   */
  memoryBudgetBytes?: number;
  /** Rows per input batch. Default 65 536. */
  batchRows?: number;
  /** `_CURRENT` move: compare-and-swap against the pointer seen at start (default) or last writer wins. */
  publishMode?: PublishMode;
  checks?: readonly PublishCheck[];
  /** Write a run record under `runs/` (default true). */
  runRecord?: boolean;
  /** Run record `writer_type` (default "python", the reference's single-host writer). */
  writerType?: string;
  onProgress?: ProgressListener;
  onEvent?: WriterEventListener;
  signal?: AbortSignal;
  /** Clock for retry backoff and rate limits of in-process writers (tests). */
  clock?: Clock;
}

export const DEFAULT_MEMORY_BUDGET_BYTES = 128 * 1024 * 1024;
const MIN_SHARD_MEMORY = 1024 * 1024;
/**
 * A shard writer's buffer grows by doubling, so it may hold up to about twice its budget (plus
 * the index); each writer gets its share of the total divided by this factor.
 */
const BUFFER_GROWTH_FACTOR = 2.5;
const MAX_SHARD_MEMORY = 256 * 1024 * 1024;

/** Where partitioned batches go: worker threads, or shard writers in this thread. */
interface ShardExecutor {
  /** Shard order for `groupByShard` (undefined: ascending). */
  shardOrder(numDbs: number): number[] | undefined;
  write(grouped: Partitioned): Promise<void>;
  finish(): Promise<ShardResult[]>;
  abort(): Promise<void>;
}

function isBatchInput(inputs: BuildSnapshotOptions["inputs"]): inputs is BatchInput {
  if (Symbol.asyncIterator in (inputs as object)) return true;
  if ("batches" in (inputs as object) && "schema" in (inputs as object)) return true; // Table
  const arr = inputs as readonly unknown[];
  return (
    Array.isArray(arr) &&
    arr.length > 0 &&
    typeof arr[0] === "object" &&
    arr[0] !== null &&
    "numRows" in arr[0]
  );
}

/** Record batches as an input source (named `<batches>` in messages). */
export function batchSource(batches: BatchInput, name = "<batches>"): InputSource {
  const list: readonly RecordBatch[] | undefined = Array.isArray(batches)
    ? (batches as readonly RecordBatch[])
    : "batches" in (batches as object)
      ? (batches as Table).batches
      : undefined;
  let used = false;
  return {
    file: name,
    format: "arrow",
    size: 0,
    async *read(opts: InputReadOptions): AsyncGenerator<InputBatch> {
      if (list === undefined) {
        if (used)
          throw new ConfigValidationError(`${name}: an async iterable of batches can be read only once`);
        used = true;
      }
      const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
      let firstRow = 0;
      for await (const full of list ?? (batches as AsyncIterable<RecordBatch>)) {
        for (let start = 0; start < full.numRows; start += batchRows) {
          const batch = full.numRows <= batchRows ? full : full.slice(start, start + batchRows);
          const base = firstRow;
          yield {
            batch,
            file: name,
            firstRow: base,
            bytes: 0,
            describeRow: (row) => `row ${base + row} of ${name}`,
          };
          firstRow += batch.numRows;
        }
      }
    },
    async countRows() {
      if (list === undefined) {
        throw new ConfigValidationError(
          "max_keys_per_shard needs the row count: pass knownRowCount with an async iterable of batches",
          { field: "max_keys_per_shard" },
        );
      }
      return list.reduce((s, b) => s + b.numRows, 0);
    },
  };
}

function resolveSources(options: BuildSnapshotOptions): InputSource[] {
  const { inputs } = options;
  if (isBatchInput(inputs)) return [batchSource(inputs)];
  const list = inputs as readonly (string | InputSource)[];
  const patterns = list.filter((i): i is string => typeof i === "string");
  const given = list.filter((i): i is InputSource => typeof i !== "string");
  const files = patterns.length > 0 ? openInputs(patterns, { format: options.format }) : [];
  if (files.length + given.length === 0) {
    throw new ConfigValidationError("no inputs given; pass file paths, globs or record batches", {
      field: "inputs",
    });
  }
  return [...files, ...given];
}

function neededColumns(keyCol: string, spec: ValueSpec, routingColumns: readonly string[]): string[] | null {
  const cols = spec.columns();
  return cols === null ? null : [...new Set([keyCol, ...cols, ...routingColumns])];
}

/** A CEL config is recognised by `strategy: "cel"` or a `cel_expr` (flat or under `sharding`). */
function isCelConfig(raw: unknown): boolean {
  if (!raw || typeof raw !== "object") return false;
  const o = raw as Record<string, unknown>;
  if (o.strategy === "cel" || "cel_expr" in o) return true;
  const sharding = o.sharding as Record<string, unknown> | null | undefined;
  return !!sharding && typeof sharding === "object" && "cel_expr" in sharding;
}

/** Validates either config kind; CEL expressions are compiled by `kernel` (errors carry a caret line). */
export function validateWriteConfig(
  raw: unknown,
  kernel: Kernel,
): HashShardedWriteConfig | CelShardedWriteConfig {
  if (isCelConfig(raw)) return validateCelConfig(raw, { checkCelExpr: celExprCheck(kernel) });
  return validateHashConfig(raw);
}

function checkColumnInput(input: ColumnInput): void {
  if (!input || typeof input.key_col !== "string" || input.key_col === "") {
    throw new ConfigValidationError('input.key_col must name the key column, e.g. { key_col: "id" }', {
      field: "input.key_col",
    });
  }
  if (!(input.value_spec instanceof ValueSpec)) {
    throw new ConfigValidationError(
      "input.value_spec must be a ValueSpec: ValueSpec.binaryCol(col), ValueSpec.jsonCols(cols?) or ValueSpec.callableEncoder(fn)",
      { field: "input.value_spec" },
    );
  }
}

/** Resolves `num_dbs`: configured, or `max(1, ceil(rows / max_keys_per_shard))` (reference). */
async function resolveNumDbs(
  config: HashShardedWriteConfig,
  options: BuildSnapshotOptions,
  sources: InputSource[],
  readOptions: InputReadOptions,
  progress: ProgressTracker,
): Promise<{ numDbs: number; totalRows: number | null }> {
  if (config.sharding.num_dbs !== null) return { numDbs: config.sharding.num_dbs, totalRows: null };
  const maxKeys = config.sharding.max_keys_per_shard!;
  let rows = options.knownRowCount;
  if (rows === undefined) {
    progress.setPhase("counting");
    rows = 0;
    for (const source of sources) rows += await source.countRows({ ...readOptions, columns: [] });
  } else if (!Number.isSafeInteger(rows) || rows < 0) {
    throw new ConfigValidationError(`knownRowCount must be an integer >= 0, got ${rows}`, {
      field: "knownRowCount",
    });
  }
  return { numDbs: Math.max(1, Math.ceil(rows / maxKeys)), totalRows: rows };
}

/**
 * Shard `d` is written by thread `d % threads`: thread 0 is the calling thread (a `ShardHost`
 * here), threads 1.. are the pool's workers. Rows are grouped in that order so every thread's
 * share of a batch is one contiguous range.
 */
class SplitExecutor implements ShardExecutor {
  readonly #threads: number;

  /**
   * `ownedRead`: the workers read the input themselves (`WorkerPool.startRead`), so this thread
   * keeps only its own shards' rows and sends nothing.
   */
  constructor(
    readonly host: ShardHost,
    readonly pool: WorkerPool | undefined,
    private readonly onLocalResult: (result: ShardResult) => void,
    private readonly ownedRead = false,
  ) {
    this.#threads = 1 + (pool?.size ?? 0);
  }

  #owner(dbId: number): number {
    return dbId % this.#threads;
  }

  shardOrder(numDbs: number): number[] | undefined {
    if (this.#threads === 1) return undefined;
    if (this.ownedRead) return ownedShards(numDbs, this.#threads, 0);
    return Array.from({ length: numDbs }, (_, d) => d).sort(
      (a, b) => this.#owner(a) - this.#owner(b) || a - b,
    );
  }

  async write(grouped: Partitioned): Promise<void> {
    const { batch, ranges } = grouped;
    // A worker reading on its own fails without a `send` noticing: stop reading at once.
    if (this.ownedRead) this.pool?.throwIfFailed();
    let i = 0;
    while (i < ranges.length) {
      const owner = this.#owner(ranges[i]!.dbId);
      let j = i;
      while (j < ranges.length && this.#owner(ranges[j]!.dbId) === owner) j++;
      const mine = ranges.slice(i, j);
      if (owner === 0) {
        for (const r of mine) {
          const whole = r.start === 0 && r.end === batch.numRows;
          await this.host.write(r.dbId, whole ? batch : batch.slice(r.start, r.end));
        }
      } else {
        await this.pool!.send(owner - 1, batch, mine);
      }
      i = j;
    }
  }

  async finish(): Promise<ShardResult[]> {
    // The calling thread seals its shards while the workers seal theirs.
    const [local, remote] = await Promise.all([
      this.host.finishAll(this.onLocalResult),
      this.pool ? this.pool.finish() : Promise.resolve([]),
    ]);
    return [...local, ...remote].sort((a, b) => a.dbId - b.dbId);
  }

  async abort(): Promise<void> {
    await Promise.allSettled([this.host.abortAll(), this.pool?.abort()]);
  }
}

/**
 * Whether every input is an Arrow IPC file named by path: then each writer thread can read the
 * input itself (cheap zero-copy decoding) instead of the main thread shipping rows to it.
 */
function ownedReadFiles(options: BuildSnapshotOptions, sources: readonly InputSource[]): boolean {
  if (isBatchInput(options.inputs)) return false;
  const list = options.inputs as readonly (string | InputSource)[];
  return list.every((i) => typeof i === "string") && sources.every((src) => src.format === "arrow");
}

/**
 * With the shared read every worker must have seen the rows this thread saw: a file replaced
 * between the reads would otherwise leave shards from two different inputs.
 */
async function checkWorkersReadAll(
  pool: WorkerPool,
  rows: number,
  sources: readonly InputSource[],
): Promise<void> {
  const seen = await pool.readsDone();
  const other = seen.find((n) => n !== rows);
  if (other === undefined) return;
  throw new ConfigValidationError(
    `the input changed while it was read: one writer thread read ${rows} rows and another ${other} from ` +
      `${sources.map((s) => s.file).join(", ")}; do not modify input files during a build`,
    { field: "inputs" },
  );
}

/** A `binary_col` value column must exist; say so here, where the file is known. */
function checkValueColumns(batch: RecordBatch, spec: ValueSpec, item: InputBatch): void {
  if (spec.kind !== "binary_col") return;
  const col = spec.columns()![0]!;
  if (batch.schema.fields.some((f) => f.name === col)) return;
  const names = item.columns ?? batch.schema.fields.map((f) => f.name);
  throw new ConfigValidationError(
    `binary_col value column ${JSON.stringify(col)} is not in ${item.file}; its columns are ${JSON.stringify(names)}`,
    { field: "input.value_spec" },
  );
}

/** Adds the file (and row) to errors raised while routing one input batch. */
function inInput(err: unknown, item: InputBatch): unknown {
  if (!(err instanceof ConfigValidationError)) return err;
  if (err.message.includes(item.file)) return err;
  return new ConfigValidationError(`${item.file} (batch starting at row ${item.firstRow}): ${err.message}`, {
    field: err.field,
    cause: err,
  });
}

export async function buildSnapshot(options: BuildSnapshotOptions): Promise<SnapshotBuildResult> {
  const startedAt = performance.now();
  const signal = options.signal;
  signal?.throwIfAborted();
  const kernel = options.kernel ?? (await getKernel());
  const config = validateWriteConfig(options.config, kernel);
  checkColumnInput(options.input);
  const { key_col: keyCol, value_spec: valueSpec } = options.input;
  const location = openSnapshotLocation(config.storage, options.store);
  const sources = resolveSources(options);
  const runId = config.output.run_id ?? crypto.randomUUID().replaceAll("-", "");
  const readOptions: InputReadOptions = {
    columns: neededColumns(keyCol, valueSpec, config.strategy === "cel" ? celInputColumns(config) : []),
    batchRows: options.batchRows,
    keyCol,
    keyEncoding: config.kv.key_encoding,
    csv: options.csv,
    signal,
  };
  const totalBytes = sources.reduce((s, src) => s + src.size, 0);
  const progress = new ProgressTracker(options.onProgress, totalBytes);
  let numDbs: number;
  let totalRows: number | null = null;
  let router: RowRouter;
  let routingValues: readonly (bigint | string | Uint8Array)[] | null = null;
  if (config.strategy === "hash") {
    ({ numDbs, totalRows } = await resolveNumDbs(config, options, sources, readOptions, progress));
    router = new HashRowRouter(kernel, numDbs);
  } else {
    progress.setPhase("counting");
    const cel = await discoverCelRouting(kernel, config, () =>
      readBatches(sources, readOptions, keyCol, signal),
    );
    ({ numDbs, routingValues } = cel);
    router = cel.router;
  }
  progress.state.numDbs = numDbs;
  progress.state.totalRows = totalRows;

  const inProcess =
    options.store !== undefined || options.adapterFactory !== undefined || !valueSpec.transferable;
  const threads = inProcess ? 1 : Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  if (inProcess && (options.workers ?? 0) > 1) {
    throw new ConfigValidationError(
      "workers > 1 cannot be combined with a custom store, adapterFactory or callableEncoder (they cannot be sent " +
        "to a worker thread); use workers: 0, or config-based storage/backends and ValueSpec.moduleEncoder",
      { field: "workers" },
    );
  }
  const budget = options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
  const shardMemoryBytes = Math.min(
    MAX_SHARD_MEMORY,
    Math.max(MIN_SHARD_MEMORY, Math.floor(budget / numDbs / BUFFER_GROWTH_FACTOR)),
  );
  const adapters =
    options.adapterFactory ??
    adapterFactoryFromConfig(config.kv.adapter_factory, { memoryBudgetBytes: shardMemoryBytes });
  const localRoot = config.output.local_root ?? defaultLocalRoot();
  // CAS base: the pointer as it was before this build wrote anything.
  const expectedCurrent: CurrentState | null = await readCurrentState(
    { store: location.store, prefix: location.prefix },
    { signal },
  );

  const body = async (runRecord?: Parameters<typeof publishShardResults>[0]["runRecord"]) => {
    emit(options.onEvent, { event: "write.started", run_id: runId, num_dbs: numDbs });
    const target: ShardTarget = {
      store: location.store,
      s3Prefix: config.storage.s3_prefix,
      runId,
      shardPrefix: config.output.shard_prefix,
      dbPathTemplate: config.output.db_path_template,
      localRoot,
    };
    const onResult = (r: ShardResult) => {
      progress.state.shardsDone++;
      progress.state.rowsWritten += r.rowCount + r.duplicates;
      progress.report();
    };
    const host = new ShardHost({
      target,
      keyCol,
      valueSpec,
      keyEncoding: config.kv.key_encoding,
      batchSize: config.kv.batch_size,
      adapters,
      kernel,
      limiters: createWriteLimiters(config.rate_limits, {
        share: threads,
        clock: options.clock,
        onThrottled: options.onEvent,
      }),
      excludeColumn: config.shard_id_col,
      retry: config.retry.shard_retry,
      signal,
      onEvent: options.onEvent,
    });
    const pool =
      threads > 1
        ? new WorkerPool({
            workers: threads - 1,
            workerUrl: options.workerUrl,
            onEvent: options.onEvent,
            init: {
              storage: config.storage,
              target: {
                s3Prefix: target.s3Prefix,
                runId,
                shardPrefix: target.shardPrefix,
                dbPathTemplate: target.dbPathTemplate,
                localRoot,
              },
              keyCol,
              valueSpec: valueSpec.toWire(),
              keyEncoding: config.kv.key_encoding,
              batchSize: config.kv.batch_size,
              adapter: adapters.toConfig() ?? config.kv.adapter_factory,
              shardMemoryBytes,
              retry: config.retry.shard_retry,
              rateLimits: config.rate_limits,
              rateShare: threads,
              excludeColumn: config.shard_id_col,
              events: options.onEvent !== undefined,
              kernelModule: kernel.module,
            },
            onResult,
          })
        : undefined;
    const ownedRead = pool !== undefined && config.strategy === "hash" && ownedReadFiles(options, sources);
    const executor: ShardExecutor = new SplitExecutor(host, pool, onResult, ownedRead);

    let published = false;
    const onAbort = () => {
      void executor.abort();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (pool) await pool.ready();
      if (pool && ownedRead) {
        const files = sources.map((src) => src.file);
        pool.startRead((index) => ({
          files,
          columns: readOptions.columns ? [...readOptions.columns] : null,
          batchRows: readOptions.batchRows,
          numDbs,
          threads,
          thread: index + 1,
        }));
      }
      progress.setPhase("reading");
      const shardsSeen = new Set<number>();
      const order = executor.shardOrder(numDbs);
      // With the shared read this thread keeps only gathered copies of its own rows.
      const mainReadOptions = { ...readOptions, reuseBuffers: ownedRead };
      for (const source of sources) {
        for await (const item of source.read(mainReadOptions)) {
          signal?.throwIfAborted();
          if (item.batch.numRows === 0) continue;
          const batch = decodeDictionaries(item.batch);
          let ids: Int32Array;
          try {
            const keys = keyColumnOf(batch, keyCol, item.file, item.columns);
            checkValueColumns(batch, valueSpec, item);
            checkKeysFit(keys, config.kv.key_encoding, keyCol, item.describeRow);
            ids = router.assign(batch, keys, item);
          } catch (err) {
            throw inInput(err, item);
          }
          const grouped = ownedRead
            ? groupByShardCopied(batch, ids, numDbs, order)
            : groupByShard(batch, ids, numDbs, order);
          for (let d = 0; d < numDbs; d++) if (grouped.counts[d]! > 0) shardsSeen.add(d);
          await executor.write(grouped);
          progress.state.rowsRead += batch.numRows;
          progress.state.bytesRead += item.bytes;
          progress.report();
        }
      }
      const shardingMs = performance.now() - startedAt;
      progress.state.totalRows = progress.state.rowsRead;
      progress.state.shardsTotal = shardsSeen.size;
      emit(options.onEvent, {
        event: "write.sharding_completed",
        elapsed_ms: Math.round(shardingMs),
        rows: progress.state.rowsRead,
      });

      progress.setPhase("writing");
      const writeStarted = performance.now();
      const [results] = await Promise.all([
        executor.finish(),
        ownedRead ? checkWorkersReadAll(pool!, progress.state.rowsRead, sources) : undefined,
      ]);
      const writeMs = performance.now() - writeStarted;
      emit(options.onEvent, {
        event: "write.shards_completed",
        elapsed_ms: Math.round(writeMs),
        num_results: results.length,
      });

      progress.setPhase("publishing");
      signal?.throwIfAborted();
      published = true; // from here on a failure may leave a manifest that references the shards
      const result = await publishShardResults({
        config,
        keyCol,
        runId,
        numDbs,
        sharding: shardingSpecOf(config, routingValues),
        results,
        location,
        adapters,
        expectedCurrent,
        mode: options.publishMode,
        checks: options.checks,
        runRecord,
        timings: { shardingMs, writeMs, startedAt },
        rowsRead: progress.state.rowsRead,
        bytesRead: progress.state.bytesRead,
        signal,
        onEvent: options.onEvent,
      });
      progress.setPhase("done");
      emit(options.onEvent, {
        event: "write.completed",
        elapsed_ms: Math.round(performance.now() - startedAt),
        rows_written: result.stats.rowsWritten,
      });
      return result;
    } catch (err) {
      if (!published) {
        await executor.abort().catch(() => {});
        await deleteRunShards(location.store, location.prefix, config, runId);
      }
      // An abort stops the workers, which fails whatever waited on them: report the abort itself.
      throw signal?.aborted ? signal.reason : err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      pool?.terminate();
      router.dispose();
      rmSync(join(localRoot, `run_id=${runId}`), { recursive: true, force: true });
    }
  };

  if (options.runRecord === false) return body();
  return withRunRecord(
    {
      store: location.store,
      prefix: location.prefix,
      runId,
      s3Prefix: config.storage.s3_prefix,
      shardPrefix: config.output.shard_prefix,
      dbPathTemplate: config.output.db_path_template,
      writerType: options.writerType ?? "python",
      registryPrefix: config.output.run_registry_prefix,
    },
    (run) => body(run),
  );
}

/** Best-effort removal of every shard object of an unpublished run. */
async function deleteRunShards(
  store: ObjectStore,
  prefix: string,
  config: HashShardedWriteConfig | CelShardedWriteConfig,
  runId: string,
): Promise<void> {
  try {
    const key = runShardsPrefix(prefix, config.output.shard_prefix, runId);
    await store.deletePrefix(key);
  } catch {
    // Orphans of a failed run are harmless (never referenced) and `shardy cleanup` removes them.
  }
}

/** Input batches with their key column, for the CEL first pass. */
async function* readBatches(
  sources: readonly InputSource[],
  readOptions: InputReadOptions,
  keyCol: string,
  signal: AbortSignal | undefined,
): BatchStream {
  for (const source of sources) {
    for await (const item of source.read(readOptions)) {
      signal?.throwIfAborted();
      if (item.batch.numRows === 0) continue;
      const batch = decodeDictionaries(item.batch);
      yield { batch, keys: keyColumnOf(batch, keyCol, item.file, item.columns), item };
    }
  }
}
