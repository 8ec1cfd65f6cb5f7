/**
 * The end of a build, after every shard attempt reported: winners -> manifest -> two-phase publish
 * -> run record gets the manifest ref -> loser cleanup -> `BuildResult` (reference `BuildResult`,
 * `BuildStats`, `BuildDurations`).
 */
import type { ObjectStore } from "@shardy/store";
import type { BuildMeta, Manifest, ShardMeta } from "../manifest/types.ts";
import type { PublishCheck } from "./checks.ts";
import { type CleanupLosersResult, cleanupLosers } from "./cleanup-losers.ts";
import type { CurrentState, PublishMode } from "./current-state.ts";
import type { PublishLogger } from "./logger.ts";
import { type PublishSnapshotResult, publishSnapshot } from "./publish-snapshot.ts";
import type { RetryPolicy } from "./retry.ts";
import { type ShardAttemptResult, selectWinners } from "./winners.ts";

export interface BuildDurations {
  shardingMs: number;
  writeMs: number;
  manifestMs: number;
  totalMs: number;
}

export interface BuildStats {
  durations: BuildDurations;
  numAttemptResults: number;
  numWinners: number;
  /** Sum of the winners' row counts. */
  rowsWritten: number;
}

export interface BuildResult {
  runId: string;
  winners: ShardMeta[];
  manifestRef: string;
  stats: BuildStats;
  runRecordRef: string | null;
}

/** What publishing needs from a run record (`RunRecordLifecycle` satisfies it). */
export interface RunRecordHandle {
  readonly ref: string | null;
  setManifestRef(manifestRef: string): Promise<void>;
}

export interface PublishBuildOptions {
  store: ObjectStore;
  prefix: string;
  /** Build metadata; `numDbs` bounds the db ids attempts may name. */
  build: BuildMeta;
  custom?: Record<string, unknown>;
  attempts: readonly ShardAttemptResult[];
  expectedCurrent?: CurrentState | null;
  mode?: PublishMode;
  checks?: readonly PublishCheck[];
  retry?: Partial<RetryPolicy>;
  currentPointerKey?: string;
  runRecord?: RunRecordHandle;
  /** Delete losing attempts after the flip (default true). */
  cleanupLosers?: boolean;
  /** Timings measured by the caller before publishing. */
  timings?: { shardingMs?: number; writeMs?: number; startedAt?: number };
  logger?: PublishLogger;
  now?: () => Date;
  signal?: AbortSignal;
}

export interface PublishBuildOutcome {
  result: BuildResult;
  publish: PublishSnapshotResult;
  cleanup: CleanupLosersResult | null;
}

export async function publishBuild(options: PublishBuildOptions): Promise<PublishBuildOutcome> {
  const t0 = performance.now();
  const { winners, numAttempts, allAttemptUrls } = selectWinners(options.attempts, options.build.numDbs);
  const manifest: Manifest = { build: options.build, shards: winners, custom: options.custom ?? {} };
  const publish = await publishSnapshot({
    store: options.store,
    prefix: options.prefix,
    manifest,
    expectedCurrent: options.expectedCurrent,
    mode: options.mode,
    checks: options.checks,
    retry: options.retry,
    currentPointerKey: options.currentPointerKey,
    now: options.now,
    signal: options.signal,
  });
  const manifestMs = performance.now() - t0;
  await options.runRecord?.setManifestRef(publish.manifestRef);

  const cleanup =
    options.cleanupLosers === false
      ? null
      : await cleanupLosers({
          store: options.store,
          winners,
          allAttemptUrls,
          logger: options.logger,
          signal: options.signal,
        });

  const shardingMs = options.timings?.shardingMs ?? 0;
  const writeMs = options.timings?.writeMs ?? 0;
  const totalMs =
    options.timings?.startedAt !== undefined
      ? performance.now() - options.timings.startedAt
      : shardingMs + writeMs + (performance.now() - t0);
  return {
    result: {
      runId: options.build.runId,
      winners,
      manifestRef: publish.manifestRef,
      stats: {
        durations: { shardingMs, writeMs, manifestMs, totalMs },
        numAttemptResults: numAttempts,
        numWinners: winners.length,
        rowsWritten: winners.reduce((sum, w) => sum + w.rowCount, 0),
      },
      runRecordRef: options.runRecord?.ref ?? null,
    },
    publish,
    cleanup,
  };
}
