/**
 * Deferred cleanup of old runs' shard data (`<prefix>/<shards>/run_id=X/`). Manifests and run
 * records are never deleted. A run is deleted only when nothing protects it:
 *   - it is the current run, or the current manifest references its shards;
 *   - its run record is `running` with an unexpired lease, or the record cannot be read
 *     (reference weakness 6: the reference never consults the registry);
 *   - it is among the runs of the newest `keepLast` manifests;
 *   - with `olderThanMs`, it is younger than that (age = newest of its manifest publish time and
 *     record update time), or its age is unknown;
 *   - it is listed in `protectRunIds`.
 * Deletes are whole-segment (`run_id=run-1` never matches `run_id=run-10`, weakness 13).
 * Order matters: shard directories are listed before run records, so a build that starts during
 * cleanup has a record by the time its directory can be seen; `_CURRENT` is re-read just before
 * deleting.
 */
import { joinKey, type ObjectStore } from "@shardy/store";
import { listManifests } from "../history/list-manifests.ts";
import { loadCurrent, loadManifest } from "../history/load.ts";
import { utcNow } from "../publish/formats.ts";
import { consoleLogger, describeError, type PublishLogger } from "../publish/logger.ts";
import { DEFAULT_RUN_REGISTRY_PREFIX } from "./lifecycle.ts";
import { listRunRecords } from "./list-runs.ts";

export interface CleanupOldRunsOptions {
  store: ObjectStore;
  prefix: string;
  shardPrefix?: string;
  registryPrefix?: string;
  currentPointerKey?: string;
  /** Protect the runs of the newest N manifests. */
  keepLast?: number;
  /** Protect runs younger than this many milliseconds. */
  olderThanMs?: number;
  protectRunIds?: Iterable<string>;
  /** Report what would be deleted without deleting. */
  dryRun?: boolean;
  now?: () => Date;
  logger?: PublishLogger;
  signal?: AbortSignal;
}

export type ProtectionReason =
  | "current"
  | "referenced-by-current"
  | "running-lease"
  | "record-unreadable"
  | "keep-last"
  | "newer-than-cutoff"
  | "age-unknown"
  | "explicit";

export interface CleanupOldRunsResult {
  dryRun: boolean;
  /** Deleted runs (in a dry run: the runs that would be deleted, `objects` = objects under it). */
  deleted: { runId: string; prefix: string; objects: number }[];
  protected: { runId: string; reasons: ProtectionReason[] }[];
  failed: { runId: string; prefix: string; error: string }[];
}

const RUN_DIR = /^run_id=(?<runId>[^/]+)\/$/;

/** The run ids named by `run_id=X` segments in shard URLs. */
function runIdsInUrls(urls: Iterable<string | null>): Set<string> {
  const ids = new Set<string>();
  for (const url of urls) {
    for (const segment of url?.split("/") ?? []) {
      if (segment.startsWith("run_id=")) ids.add(segment.slice("run_id=".length));
    }
  }
  return ids;
}

export async function cleanupOldRuns(options: CleanupOldRunsOptions): Promise<CleanupOldRunsResult> {
  const { store, prefix, signal } = options;
  const logger = options.logger ?? consoleLogger;
  const now = (options.now ?? utcNow)();
  const shardsDir = `${joinKey(prefix, options.shardPrefix ?? "shards")}/`;
  if (options.keepLast !== undefined && !(Number.isSafeInteger(options.keepLast) && options.keepLast >= 0)) {
    throw new RangeError(`keepLast must be an integer >= 0, got ${options.keepLast}`);
  }
  if (options.olderThanMs !== undefined && !(options.olderThanMs >= 0)) {
    throw new RangeError(`olderThanMs must be >= 0, got ${options.olderThanMs}`);
  }

  // 1. Shard directories first (see the module comment for why the order matters).
  const listing = await store.list(shardsDir, { delimiter: "/", signal });
  const runs = new Map<string, string>();
  for (const common of listing.commonPrefixes) {
    const runId = RUN_DIR.exec(common.slice(shardsDir.length))?.groups?.runId;
    if (runId !== undefined) runs.set(runId, `${shardsDir}run_id=${runId}`);
  }

  const reasons = new Map<string, Set<ProtectionReason>>();
  const protect = (runId: string, reason: ProtectionReason) => {
    if (!runs.has(runId)) return;
    const set = reasons.get(runId) ?? new Set<ProtectionReason>();
    set.add(reason);
    reasons.set(runId, set);
  };

  // 2. Run records of those runs.
  const registry = await listRunRecords(store, prefix, {
    registryPrefix: options.registryPrefix ?? DEFAULT_RUN_REGISTRY_PREFIX,
    runIds: new Set(runs.keys()),
    signal,
  });
  const recordAge = new Map<string, number>();
  for (const { record } of registry.records) {
    if (record.status === "running" && record.leaseExpiresAt.getTime() > now.getTime()) {
      protect(record.runId, "running-lease");
    }
    recordAge.set(record.runId, Math.max(recordAge.get(record.runId) ?? 0, record.updatedAt.getTime()));
  }
  for (const bad of registry.invalid) {
    logger.warn(`run record ${bad.key} is unreadable (${bad.error}); run ${bad.runId} is kept`);
    protect(bad.runId, "record-unreadable");
  }

  // 3. Manifests: keep-last and publish times.
  const manifests = await listManifests(store, prefix, Number.POSITIVE_INFINITY, { signal });
  const publishedAt = new Map<string, number>();
  for (const m of manifests) {
    publishedAt.set(m.runId, Math.max(publishedAt.get(m.runId) ?? 0, m.publishedAt.getTime()));
  }
  if (options.keepLast !== undefined) {
    for (const m of manifests.slice(0, options.keepLast)) protect(m.runId, "keep-last");
  }
  if (options.olderThanMs !== undefined) {
    const cutoff = now.getTime() - options.olderThanMs;
    for (const runId of runs.keys()) {
      const ages = [publishedAt.get(runId), recordAge.get(runId)].filter((t) => t !== undefined);
      if (ages.length === 0) protect(runId, "age-unknown");
      else if (Math.max(...ages) >= cutoff) protect(runId, "newer-than-cutoff");
    }
  }
  for (const runId of options.protectRunIds ?? []) protect(runId, "explicit");

  // 4. The current snapshot, read last and again just before deleting.
  const protectCurrent = async () => {
    const pointer = await loadCurrent(
      { store, prefix, currentPointerKey: options.currentPointerKey },
      { signal },
    );
    if (pointer === null) return;
    protect(pointer.runId, "current");
    try {
      const manifest = await loadManifest(store, pointer.manifestRef, { signal });
      protect(manifest.build.runId, "current");
      for (const id of runIdsInUrls(manifest.shards.map((s) => s.dbUrl))) {
        if (id !== manifest.build.runId) protect(id, "referenced-by-current");
      }
    } catch (err) {
      logger.warn(`current manifest ${pointer.manifestRef} could not be read for cleanup`, err);
    }
  };
  await protectCurrent();

  const result: CleanupOldRunsResult = {
    dryRun: options.dryRun ?? false,
    deleted: [],
    protected: [...reasons].map(([runId, set]) => ({ runId, reasons: [...set] })),
    failed: [],
  };
  const victims = [...runs].filter(([runId]) => !reasons.has(runId));
  if (result.dryRun) {
    for (const [runId, runPrefix] of victims) {
      const objects = (await store.list(`${runPrefix}/`, { signal })).objects.length;
      result.deleted.push({ runId, prefix: runPrefix, objects });
    }
    return result;
  }

  await protectCurrent();
  for (const [runId, runPrefix] of victims) {
    if (reasons.has(runId)) {
      result.protected.push({ runId, reasons: [...(reasons.get(runId) ?? [])] });
      continue;
    }
    try {
      const objects = await store.deletePrefix(runPrefix, { signal });
      result.deleted.push({ runId, prefix: runPrefix, objects });
    } catch (err) {
      logger.warn(`cleanup could not delete ${runPrefix}`, err);
      result.failed.push({ runId, prefix: runPrefix, error: describeError(err) });
    }
  }
  return result;
}
