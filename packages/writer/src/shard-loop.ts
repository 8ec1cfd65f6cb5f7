/**
 * One shard attempt (reference `_shard_writer.py::write_shard_core`): Arrow record batches in ->
 * keys encoded by the kernel, values by the `ValueSpec` -> `batch_size` writes through the rate
 * limiters -> seal (build + upload) -> `ShardResult`. `writeShardWithRetry` runs attempts per
 * `shard_retry`: each attempt has its own `attempt=NN` URL and scratch dir, only retryable errors
 * are retried, with exponential backoff, and every URL tried is kept for loser cleanup.
 */
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type KeyEncoding, keyForUrl, type RetryConfig, shardAttemptUrl } from "@shardy/core";
import {
  ConfigValidationError,
  isRetryable,
  ShardAssignmentError,
  ShardWriteError,
  ShardyError,
} from "@shardy/errors";
import { getKernel, type Kernel } from "@shardy/kernel";
import type { ObjectStore } from "@shardy/store";
import type { Binary, RecordBatch, Vector } from "apache-arrow";
import type { ShardAdapter, ShardAdapterFactory, ShardSealResult } from "./adapter.ts";
import { emit, type WriterEventListener } from "./events.ts";
import {
  checkKeysFit,
  compareBytes,
  decodeLogicalKey,
  type KeyKind,
  keyColumnOf,
  keyKindOf,
} from "./keys.ts";
import { type BinaryValues, PairBatch } from "./pairs.ts";
import { decodeDictionaries } from "./partition.ts";
import { type Clock, systemClock, type WriteLimiters } from "./rate-limiter.ts";
import type { ShardResult } from "./shard-result.ts";
import type { ValueSpec } from "./value-spec.ts";

/** Where a build's shard attempts go. */
export interface ShardTarget {
  store: ObjectStore;
  /** The snapshot prefix as a URL of `store` (`s3://bucket/prefix`, `file:///root`, ...). */
  s3Prefix: string;
  runId: string;
  shardPrefix: string;
  dbPathTemplate: string;
  /** Local scratch root; attempts use `<localRoot>/run_id=<r>/db=NNNNN/attempt=NN/`. */
  localRoot: string;
}

export interface ShardWriteOptions {
  target: ShardTarget;
  dbId: number;
  keyCol: string;
  valueSpec: ValueSpec;
  keyEncoding: KeyEncoding;
  /** Rows per adapter write (`kv.batch_size`). */
  batchSize: number;
  adapters: ShardAdapterFactory;
  /** Default: the process-wide kernel. */
  kernel?: Kernel;
  limiters?: WriteLimiters;
  /** Check that every key routes to `dbId` under `numDbs` (hash routing) before writing it. */
  verifyRouting?: { numDbs: number };
  /** Column left out of `json_cols` values (the temporary shard-id column). */
  excludeColumn?: string;
  /** Engine task ids for `writer_info` (Spark-style); null by default. */
  stageId?: number | null;
  taskAttemptId?: number | null;
  signal?: AbortSignal;
  onEvent?: WriterEventListener;
}

/** Default local scratch root, like the reference's `tempfile.gettempdir()/shardyfusion`. */
export function defaultLocalRoot(): string {
  return join(tmpdir(), "shardyfusion");
}

export function attemptUrl(target: ShardTarget, dbId: number, attempt: number): string {
  return shardAttemptUrl(
    target.s3Prefix,
    target.shardPrefix,
    target.runId,
    target.dbPathTemplate,
    dbId,
    attempt,
  );
}

/** `<localRoot>/run_id=<r>/db=NNNNN/attempt=NN` (always `db=NNNNN`, like the reference). */
export function attemptLocalDir(target: ShardTarget, dbId: number, attempt: number): string {
  return join(
    target.localRoot,
    `run_id=${target.runId}`,
    `db=${String(dbId).padStart(5, "0")}`,
    `attempt=${String(attempt).padStart(2, "0")}`,
  );
}

/** A batch's key bytes as one `BinaryValues` (the kernel returns one chunk per 64 Ki rows). */
function flattenBinary(vector: Vector<Binary>): BinaryValues {
  if (vector.data.length === 1) {
    const d = vector.data[0]!;
    return {
      offsets: (d.valueOffsets as Int32Array).subarray(0, d.length + 1),
      data: (d.values as Uint8Array) ?? new Uint8Array(0),
    };
  }
  let total = 0;
  for (const d of vector.data) {
    const o = d.valueOffsets as Int32Array;
    total += o[d.length]! - o[0]!;
  }
  const data = new Uint8Array(total);
  const offsets = new Int32Array(vector.length + 1);
  let row = 0;
  let pos = 0;
  for (const d of vector.data) {
    const o = d.valueOffsets as Int32Array;
    const bytes = d.values as Uint8Array;
    data.set(bytes.subarray(o[0]!, o[d.length]!), pos);
    for (let i = 0; i < d.length; i++) offsets[row + i + 1] = pos + (o[i + 1]! - o[0]!);
    pos += o[d.length]! - o[0]!;
    row += d.length;
  }
  return { offsets, data };
}

/**
 * One attempt, fed batch by batch. The adapter opens on the first row, so a shard that receives
 * no rows writes nothing and reports `db_url: null` (an empty shard the manifest omits).
 */
export class ShardAttempt {
  readonly dbUrl: string;
  readonly dbKey: string;
  readonly localDir: string;
  readonly #o: ShardWriteOptions;
  readonly #attempt: number;
  readonly #started = performance.now();
  #kernel: Kernel | undefined;
  #adapter: ShardAdapter | undefined;
  #keyKind: KeyKind | undefined;
  #pending: PairBatch[] = [];
  #pendingRows = 0;
  #rowsIn = 0;
  #state: "open" | "sealed" | "failed" = "open";

  constructor(options: ShardWriteOptions, attempt: number) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new ConfigValidationError(`batch_size must be an integer >= 1, got ${options.batchSize}`, {
        field: "kv.batch_size",
      });
    }
    this.#o = options;
    this.#attempt = attempt;
    this.dbUrl = attemptUrl(options.target, options.dbId, attempt);
    this.dbKey = keyForUrl(options.target.store, this.dbUrl);
    this.localDir = attemptLocalDir(options.target, options.dbId, attempt);
    emit(options.onEvent, { event: "write.shard.started", db_id: options.dbId, attempt });
  }

  get attempt(): number {
    return this.#attempt;
  }

  /** Rows fed so far. */
  get rows(): number {
    return this.#rowsIn;
  }

  async write(batch: RecordBatch): Promise<void> {
    if (this.#state !== "open") {
      throw new ShardWriteError(`shard attempt ${this.dbUrl} is ${this.#state}; it takes no more rows`);
    }
    const n = batch.numRows;
    if (n === 0) return;
    try {
      const pairs = await this.#encode(batch);
      await this.#add(pairs);
    } catch (err) {
      throw this.#wrap(err);
    }
  }

  async #encode(input: RecordBatch): Promise<PairBatch> {
    const o = this.#o;
    const batch = decodeDictionaries(input);
    o.signal?.throwIfAborted();
    const keys = keyColumnOf(batch, o.keyCol);
    const kind = keyKindOf(keys.type, o.keyCol);
    if (this.#keyKind !== undefined && kind !== this.#keyKind) {
      throw new ConfigValidationError(
        `key column ${JSON.stringify(o.keyCol)} changed from ${this.#keyKind} to ${kind} keys within shard ${o.dbId}; ` +
          "all keys of a snapshot must have one type (the reference rejects mixed int/str keys)",
        { field: "input.key_col" },
      );
    }
    this.#keyKind = kind;
    const base = this.#rowsIn;
    checkKeysFit(keys, o.keyEncoding, o.keyCol, (row) => `row ${base + row} of shard ${o.dbId}`);
    this.#kernel ??= o.kernel ?? (await getKernel());
    if (o.verifyRouting) this.#verifyRouting(keys, o.verifyRouting.numDbs, base);
    const encodedKeys = flattenBinary(this.#kernel.encodeKeys(keys, o.keyEncoding));
    const values = await o.valueSpec.encode(batch, { excludeColumn: o.excludeColumn });
    if (values.offsets.length !== batch.numRows + 1) {
      throw new ConfigValidationError(
        `value encoder ${o.valueSpec.description} produced ${values.offsets.length - 1} values for ${batch.numRows} rows`,
        { field: "value_spec" },
      );
    }
    this.#rowsIn += batch.numRows;
    return new PairBatch(batch.numRows, encodedKeys, values);
  }

  #verifyRouting(keys: Vector, numDbs: number, base: number): void {
    const ids = this.#kernel!.routeBatch(keys, numDbs);
    const want = this.#o.dbId;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] !== want) {
        throw new ShardAssignmentError(
          `row ${base + i} of shard ${want} has key ${String(keys.get(i))}, which routes to shard ${ids[i]} ` +
            `with num_dbs=${numDbs}: the rows were partitioned with a different num_dbs or routing; ` +
            "re-partition them by the kernel's shard id",
        );
      }
    }
  }

  async #add(pairs: PairBatch): Promise<void> {
    const o = this.#o;
    const size = o.batchSize;
    // Rate limits are taken per batch before it is written, so rows wait for their batch to
    // fill. Without limits they go straight to the adapter (which copies them): batches are
    // only counted, and no row is copied just to wait.
    const waits = o.limiters?.ops !== undefined || o.limiters?.bytes !== undefined;
    let at = 0;
    while (at < pairs.length) {
      const take = Math.min(pairs.length - at, size - this.#pendingRows);
      const part = pairs.slice(at, at + take);
      this.#pendingRows += take;
      at += take;
      if (!waits) {
        this.#adapter ??= await this.#open();
        await this.#adapter.writeBatch(part);
      } else {
        // Rows that wait for the batch to fill get buffers of their own (see PairBatch.compact).
        this.#pending.push(this.#pendingRows >= size ? part : part.compact());
      }
      if (this.#pendingRows >= size) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    if (this.#pendingRows === 0) return;
    const o = this.#o;
    const pending = this.#pending;
    const rows = this.#pendingRows;
    this.#pending = [];
    this.#pendingRows = 0;
    if (pending.length > 0) {
      if (o.limiters?.ops) await o.limiters.ops.acquire(rows, o.signal);
      if (o.limiters?.bytes) {
        let bytes = 0;
        for (const p of pending) bytes += p.byteLength;
        await o.limiters.bytes.acquire(bytes, o.signal);
      }
      this.#adapter ??= await this.#open();
      for (const p of pending) await this.#adapter.writeBatch(p);
    }
    emit(o.onEvent, { event: "write.batch_written", db_id: o.dbId, batch_size: rows });
  }

  async #open(): Promise<ShardAdapter> {
    mkdirSync(this.localDir, { recursive: true });
    return this.#o.adapters.open({
      store: this.#o.target.store,
      dbUrl: this.dbUrl,
      dbKey: this.dbKey,
      localDir: this.localDir,
      dbId: this.#o.dbId,
      attempt: this.#attempt,
      signal: this.#o.signal,
    });
  }

  /** Flushes, seals (build + upload) and reports the attempt. */
  async finish(): Promise<ShardResult> {
    if (this.#state !== "open") throw new ShardWriteError(`shard attempt ${this.dbUrl} is ${this.#state}`);
    const o = this.#o;
    try {
      await this.#flush();
      let sealed: ShardSealResult | undefined;
      if (this.#adapter) {
        o.signal?.throwIfAborted();
        sealed = await this.#adapter.seal();
        await this.#adapter.close();
      }
      this.#state = "sealed";
      this.#removeLocalDir();
      const durationMs = Math.round(performance.now() - this.#started);
      const result = this.#result(sealed, durationMs);
      emit(o.onEvent, {
        event: "write.shard.completed",
        db_id: o.dbId,
        attempt: this.#attempt,
        row_count: result.rowCount,
        duration_ms: durationMs,
      });
      return result;
    } catch (err) {
      throw this.#wrap(err);
    }
  }

  #result(sealed: ShardSealResult | undefined, durationMs: number): ShardResult {
    const o = this.#o;
    const kind = this.#keyKind ?? "int";
    const empty = sealed === undefined || sealed.rowCount === 0;
    const decode = (k: Uint8Array | undefined) =>
      k === undefined ? null : decodeLogicalKey(k, o.keyEncoding, kind);
    if (sealed?.minKey && sealed.maxKey && compareBytes(sealed.minKey, sealed.maxKey) > 0) {
      throw new ShardWriteError(`backend ${o.adapters.kind} reported min_key > max_key for ${this.dbUrl}`);
    }
    return {
      dbId: o.dbId,
      dbUrl: empty ? null : this.dbUrl,
      attempt: this.#attempt,
      rowCount: sealed?.rowCount ?? 0,
      dbBytes: sealed?.dbBytes ?? 0,
      minKey: empty ? null : decode(sealed?.minKey),
      maxKey: empty ? null : decode(sealed?.maxKey),
      checkpointId: empty ? null : (sealed?.checkpointId ?? crypto.randomUUID().replaceAll("-", "")),
      writerInfo: {
        attempt: this.#attempt,
        durationMs,
        stageId: o.stageId ?? null,
        taskAttemptId: o.taskAttemptId ?? null,
      },
      duplicates: sealed?.duplicates ?? 0,
      checksum: empty ? null : (sealed?.checksum ?? null),
      allAttemptUrls: empty ? [] : [this.dbUrl],
      backend: { kind: o.adapters.kind, ...(sealed?.details ?? {}) },
    };
  }

  /** Drops the attempt: adapter abort, then the attempt's remote prefix and local dir. */
  async abort(): Promise<void> {
    if (this.#state === "sealed") return;
    this.#state = "failed";
    this.#pending = [];
    try {
      await this.#adapter?.abort();
    } catch {
      // Best effort; the prefix delete below catches what the adapter left.
    }
    if (this.#adapter) {
      try {
        await this.#o.target.store.deletePrefix(this.dbKey);
      } catch {
        // A failed attempt is never published; loser cleanup retries this prefix later.
      }
    }
    this.#removeLocalDir();
  }

  #removeLocalDir(): void {
    try {
      rmSync(this.localDir, { recursive: true, force: true });
    } catch {
      // Scratch space only.
    }
  }

  /** Data errors stay as they are; anything unexpected becomes a retryable `ShardWriteError`. */
  #wrap(err: unknown): unknown {
    if (err instanceof ShardyError) return err;
    if (this.#o.signal?.aborted) return err;
    return new ShardWriteError(
      `shard ${this.#o.dbId} attempt ${this.#attempt} (${this.dbUrl}) failed: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
}

export type BatchSource = AsyncIterable<RecordBatch> | Iterable<RecordBatch>;

/** Runs one attempt over `batches`; on any failure the attempt is aborted and the error rethrown. */
export async function writeShardAttempt(
  options: ShardWriteOptions,
  attempt: number,
  batches: BatchSource,
): Promise<ShardResult> {
  const run = new ShardAttempt(options, attempt);
  try {
    for await (const batch of batches) await run.write(batch);
    return await run.finish();
  } catch (err) {
    await run.abort();
    throw err;
  }
}

export interface RetryOptions {
  dbId: number;
  /** `null`: a single attempt. */
  retry: RetryConfig | null;
  /** First attempt number (default 0). */
  startAttempt?: number;
  /** Attempt URL of attempt `n` (kept for cleanup even when the attempt fails). */
  urlFor: (attempt: number) => string;
  signal?: AbortSignal;
  clock?: Clock;
  onEvent?: WriterEventListener;
}

/**
 * The reference's `_run_attempts_with_retry`: `1 + max_retries` attempts, retrying only errors
 * with `retryable = true`, sleeping `initial_backoff * multiplier^k` in between. The winner's
 * `allAttemptUrls` lists every URL tried.
 */
export async function runShardAttempts(
  options: RetryOptions,
  run: (attempt: number) => Promise<ShardResult>,
): Promise<ShardResult> {
  const start = options.startAttempt ?? 0;
  const maxAttempts = 1 + (options.retry?.max_retries ?? 0);
  const clock = options.clock ?? systemClock;
  const urls: string[] = [];
  for (let k = 0; ; k++) {
    const attempt = start + k;
    urls.push(options.urlFor(attempt));
    try {
      const result = await run(attempt);
      return { ...result, allAttemptUrls: result.dbUrl === null ? [] : [...urls] };
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      const last = k + 1 >= maxAttempts;
      if (!isRetryable(err) || options.signal?.aborted) throw err;
      if (last) {
        if (maxAttempts > 1) {
          emit(options.onEvent, {
            event: "write.shard.retry_exhausted",
            db_id: options.dbId,
            attempts: maxAttempts,
            error: message,
          });
          throw new ShardWriteError(
            `shard ${options.dbId} failed in all ${maxAttempts} attempts (${urls.join(", ")}); last error: ${message}`,
            { cause: err },
          );
        }
        throw err;
      }
      const retry = options.retry!;
      const backoffMs = retry.initial_backoff_ms * retry.backoff_multiplier ** k;
      emit(options.onEvent, {
        event: "write.shard.retried",
        db_id: options.dbId,
        attempt: attempt + 1,
        backoff_s: backoffMs / 1000,
        error: message,
      });
      await clock.sleep(backoffMs, options.signal);
    }
  }
}

/**
 * Writes one shard with retries. `source(attempt)` must yield the same rows every time it is
 * called (a replayable input: a file, a spool, an in-memory table).
 */
export function writeShardWithRetry(
  options: ShardWriteOptions,
  source: (attempt: number) => BatchSource,
  retry: RetryConfig | null,
  extra: { startAttempt?: number; clock?: Clock } = {},
): Promise<ShardResult> {
  return runShardAttempts(
    {
      dbId: options.dbId,
      retry,
      startAttempt: extra.startAttempt,
      urlFor: (attempt) => attemptUrl(options.target, options.dbId, attempt),
      signal: options.signal,
      clock: extra.clock,
      onEvent: options.onEvent,
    },
    (attempt) => writeShardAttempt(options, attempt, source(attempt)),
  );
}
