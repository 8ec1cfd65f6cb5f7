/**
 * The shards one thread writes during a build. Each shard's attempt 0 is fed live as partitioned
 * batches arrive (encode + buffer), and sealed when the input ends. With `shard_retry`, the rows
 * are also spooled to local disk so later attempts can replay them; a failed live attempt then
 * stops taking rows, and the retry runs from the spool after the input ends.
 */
import { join } from "node:path";
import type { RetryConfig } from "@shardy/core";
import { isRetryable } from "@shardy/errors";
import type { RecordBatch } from "apache-arrow";
import { batchToIpc } from "./ipc.ts";
import {
  attemptUrl,
  runShardAttempts,
  ShardAttempt,
  type ShardWriteOptions,
  writeShardAttempt,
} from "./shard-loop.ts";
import type { ShardResult } from "./shard-result.ts";
import { Spool } from "./spool.ts";

export interface ShardHostOptions extends Omit<ShardWriteOptions, "dbId"> {
  retry: RetryConfig | null;
  /** Number of the first attempt (default 0; an engine retrying a whole task passes its own). */
  startAttempt?: number;
}

class ShardFeed {
  readonly #options: ShardWriteOptions;
  readonly #retry: RetryConfig | null;
  readonly #spool: Spool | undefined;
  readonly #start: number;
  #live: ShardAttempt | undefined;
  #liveError: unknown;

  constructor(options: ShardWriteOptions, retry: RetryConfig | null, startAttempt = 0) {
    this.#options = options;
    this.#retry = retry;
    this.#start = startAttempt;
    if (retry && retry.max_retries > 0) {
      const t = options.target;
      this.#spool = new Spool(
        join(
          t.localRoot,
          `run_id=${t.runId}`,
          "_spool",
          `db=${String(options.dbId).padStart(5, "0")}.arrows`,
        ),
      );
    }
    this.#live = new ShardAttempt(options, startAttempt);
  }

  async write(batch: RecordBatch, ipc?: Uint8Array): Promise<void> {
    this.#spool?.append(ipc ?? batchToIpc(batch));
    if (this.#live === undefined) return;
    try {
      await this.#live.write(batch);
    } catch (err) {
      const live = this.#live;
      this.#live = undefined;
      this.#liveError = err;
      await live.abort();
      if (!this.#spool || !isRetryable(err)) throw err;
    }
  }

  async finish(): Promise<ShardResult> {
    const o = this.#options;
    try {
      return await runShardAttempts(
        {
          dbId: o.dbId,
          retry: this.#retry,
          startAttempt: this.#start,
          urlFor: (attempt) => attemptUrl(o.target, o.dbId, attempt),
          signal: o.signal,
          onEvent: o.onEvent,
        },
        async (attempt) => {
          if (attempt === this.#start) {
            const live = this.#live;
            if (live === undefined) throw this.#liveError;
            try {
              return await live.finish();
            } catch (err) {
              await live.abort();
              throw err;
            }
          }
          return writeShardAttempt(o, attempt, this.#spool!.batches());
        },
      );
    } finally {
      this.#spool?.remove();
    }
  }

  async abort(): Promise<void> {
    await this.#live?.abort();
    this.#live = undefined;
    this.#spool?.remove();
  }
}

/**
 * Asks the runtime to collect now: a sealed shard leaves its whole write buffer as garbage, and
 * collecting before the next shard keeps the peak RSS near the live data (Bun; a no-op elsewhere).
 */
function releaseMemory(full = false): void {
  (globalThis as { Bun?: { gc?: (force: boolean) => void } }).Bun?.gc?.(full);
}

export class ShardHost {
  readonly #options: ShardHostOptions;
  readonly #feeds = new Map<number, ShardFeed>();

  constructor(options: ShardHostOptions) {
    this.#options = options;
  }

  /** Shards that received rows so far. */
  get shardIds(): number[] {
    return [...this.#feeds.keys()].sort((a, b) => a - b);
  }

  async write(dbId: number, batch: RecordBatch, ipc?: Uint8Array): Promise<void> {
    let feed = this.#feeds.get(dbId);
    if (!feed) {
      const { retry, startAttempt, ...rest } = this.#options;
      feed = new ShardFeed({ ...rest, dbId }, retry, startAttempt);
      this.#feeds.set(dbId, feed);
    }
    await feed.write(batch, ipc);
  }

  /**
   * Seals every shard in id order, `concurrency` at a time (default 1: the lowest peak memory;
   * 2 overlaps one shard's upload with the next one's build). Results in id order.
   */
  async finishAll(onResult?: (result: ShardResult) => void, concurrency = 1): Promise<ShardResult[]> {
    const ids = this.shardIds;
    // The input phase leaves garbage (decoded batches); collect it fully before the sealing peak.
    releaseMemory(true);
    const results: ShardResult[] = new Array(ids.length);
    let next = 0;
    let failed: unknown;
    const lane = async () => {
      while (failed === undefined && next < ids.length) {
        const i = next++;
        const dbId = ids[i]!;
        try {
          const result = await this.#feeds.get(dbId)!.finish();
          this.#feeds.delete(dbId);
          results[i] = result;
          onResult?.(result);
          releaseMemory();
        } catch (err) {
          failed ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, ids.length)) }, lane));
    if (failed !== undefined) throw failed;
    return results;
  }

  async abortAll(): Promise<void> {
    const feeds = [...this.#feeds.values()];
    this.#feeds.clear();
    await Promise.allSettled(feeds.map((f) => f.abort()));
  }
}
