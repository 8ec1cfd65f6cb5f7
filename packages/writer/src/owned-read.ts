/**
 * The shared-read path of a hash-routed build from Arrow IPC files: every writer thread reads the
 * whole input itself (zero-copy decoding, one kernel routing call per batch) and keeps only the
 * rows of the shards it owns. No rows cross threads, so reading, routing and gathering run on
 * every core at once instead of on the main thread alone.
 */
import type { KeyEncoding } from "@shardy/core";
import type { Kernel } from "@shardy/kernel";
import { arrowSource } from "./inputs/arrow-ipc.ts";
import type { InputReadOptions } from "./inputs/types.ts";
import { checkKeysFit, keyColumnOf } from "./keys.ts";
import { decodeDictionaries, groupByShardCopied } from "./partition.ts";
import { HashRowRouter } from "./routing.ts";
import type { ShardHost } from "./shard-host.ts";

/** What a worker needs to read the input on its own (structured-cloneable). */
export interface OwnedReadPlan {
  files: string[];
  columns: string[] | null;
  batchRows?: number;
  numDbs: number;
  /** Writer threads; thread `t` owns the shards `d` with `d % threads === t`. */
  threads: number;
  thread: number;
}

/** The shards thread `thread` of `threads` owns, ascending. */
export function ownedShards(numDbs: number, threads: number, thread: number): number[] {
  const out: number[] = [];
  for (let d = thread; d < numDbs; d += threads) out.push(d);
  return out;
}

/** Reads every file of `plan` and writes this thread's shards into `host`; returns rows read. */
export async function readOwnedRows(
  plan: OwnedReadPlan,
  ctx: { keyCol: string; keyEncoding: KeyEncoding; kernel: Kernel; host: ShardHost; signal?: AbortSignal },
): Promise<number> {
  const router = new HashRowRouter(ctx.kernel, plan.numDbs);
  const order = ownedShards(plan.numDbs, plan.threads, plan.thread);
  const options: InputReadOptions = {
    columns: plan.columns,
    batchRows: plan.batchRows,
    keyCol: ctx.keyCol,
    keyEncoding: ctx.keyEncoding,
    signal: ctx.signal,
    // Every row kept is copied (gathered) before the next batch is read.
    reuseBuffers: true,
  };
  let rows = 0;
  for (const file of plan.files) {
    for await (const item of arrowSource(file).read(options)) {
      ctx.signal?.throwIfAborted();
      if (item.batch.numRows === 0) continue;
      const batch = decodeDictionaries(item.batch);
      // The main thread reads the same rows and reports bad input with these same checks.
      const keys = keyColumnOf(batch, ctx.keyCol, item.file, item.columns);
      checkKeysFit(keys, ctx.keyEncoding, ctx.keyCol, item.describeRow);
      const grouped = groupByShardCopied(batch, router.assign(batch, keys), plan.numDbs, order);
      for (const r of grouped.ranges) {
        const whole = r.start === 0 && r.end === grouped.batch.numRows;
        await ctx.host.write(r.dbId, whole ? grouped.batch : grouped.batch.slice(r.start, r.end));
      }
      rows += batch.numRows;
    }
  }
  return rows;
}
