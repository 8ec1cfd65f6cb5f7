/**
 * Writer metrics events, named and shaped like the reference's (`metrics/_events.py`, §12) so a
 * Prometheus/OTel bridge can map them the same way. Listeners must not throw.
 */
import type { ThrottledEvent } from "./rate-limiter.ts";

export type WriterEvent =
  | { event: "write.started"; run_id: string; num_dbs: number }
  | { event: "write.sharding_completed"; elapsed_ms: number; rows: number }
  | { event: "write.shard.started"; db_id: number; attempt: number }
  | { event: "write.shard.completed"; db_id: number; attempt: number; row_count: number; duration_ms: number }
  | { event: "write.batch_written"; db_id: number; batch_size: number }
  | { event: "write.shard.retried"; db_id: number; attempt: number; backoff_s: number; error: string }
  | { event: "write.shard.retry_exhausted"; db_id: number; attempts: number; error: string }
  | { event: "write.shards_completed"; elapsed_ms: number; num_results: number }
  | { event: "write.manifest_published"; manifest_ref: string; elapsed_ms: number }
  | { event: "write.completed"; elapsed_ms: number; rows_written: number }
  | ThrottledEvent;

export type WriterEventListener = (event: WriterEvent) => void;

/** Calls `listener`, never letting it break the write. */
export function emit(listener: WriterEventListener | undefined, event: WriterEvent): void {
  if (!listener) return;
  try {
    listener(event);
  } catch {
    // A metrics sink failing must not fail a build.
  }
}
