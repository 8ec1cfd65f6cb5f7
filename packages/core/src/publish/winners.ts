/**
 * Deterministic winner selection among shard attempts (reference `_writer_core.py::select_winners`):
 * per db id the attempt with the smallest `(attempt, taskAttemptId ?? 2^63-1, dbUrl ?? "")` wins,
 * whatever order the engine reported results in. Winners without a `dbUrl` (empty shards) are
 * dropped, so manifests stay sparse.
 */
import { ShardCoverageError } from "@shardy/errors";
import type { ShardMeta } from "../manifest/types.ts";
import { compareCodePoints } from "./formats.ts";

/** One attempt's result as a shard writer reports it. */
export interface ShardAttemptResult extends ShardMeta {
  /** Every URL this attempt (and its failed retries) wrote to; used for loser cleanup. */
  allAttemptUrls?: readonly string[];
}

export interface WinnerSelection {
  /** Winning attempts with a `dbUrl`, sorted by `dbId`. */
  winners: ShardMeta[];
  /** How many attempt results were considered. */
  numAttempts: number;
  /** Every attempt URL seen, first-seen order, without duplicates. */
  allAttemptUrls: string[];
}

const NO_TASK_ATTEMPT_ID = 2n ** 63n - 1n;

/** Negative when `a` beats `b` under the reference comparator. */
export function compareAttempts(a: ShardMeta, b: ShardMeta): number {
  if (a.attempt !== b.attempt) return a.attempt < b.attempt ? -1 : 1;
  const ta = a.writerInfo.taskAttemptId == null ? NO_TASK_ATTEMPT_ID : BigInt(a.writerInfo.taskAttemptId);
  const tb = b.writerInfo.taskAttemptId == null ? NO_TASK_ATTEMPT_ID : BigInt(b.writerInfo.taskAttemptId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return compareCodePoints(a.dbUrl ?? "", b.dbUrl ?? "");
}

export function selectWinners(attempts: readonly ShardAttemptResult[], numDbs: number): WinnerSelection {
  if (!Number.isInteger(numDbs) || numDbs <= 0) {
    throw new RangeError(`numDbs must be a positive integer, got ${numDbs}`);
  }
  const extra = [
    ...new Set(attempts.map((a) => a.dbId).filter((id) => !Number.isInteger(id) || id < 0 || id >= numDbs)),
  ].sort((x, y) => x - y);
  if (extra.length > 0) {
    throw new ShardCoverageError(
      `Shard coverage mismatch; extra=[${extra.join(", ")}]: attempt results name db ids outside ` +
        `[0, ${numDbs}); the results belong to a build with a different num_dbs or routing is wrong`,
      { dbIds: extra },
    );
  }

  const best = new Map<number, ShardAttemptResult>();
  const urls = new Set<string>();
  for (const attempt of attempts) {
    const current = best.get(attempt.dbId);
    if (current === undefined || compareAttempts(attempt, current) < 0) best.set(attempt.dbId, attempt);
    const own = attempt.allAttemptUrls?.length
      ? attempt.allAttemptUrls
      : attempt.dbUrl
        ? [attempt.dbUrl]
        : [];
    for (const url of own) urls.add(url);
  }

  const winners = [...best.values()]
    .filter((w) => w.dbUrl != null)
    .sort((x, y) => x.dbId - y.dbId)
    .map(({ allAttemptUrls: _drop, ...meta }) => meta);
  return { winners, numAttempts: attempts.length, allAttemptUrls: [...urls] };
}
