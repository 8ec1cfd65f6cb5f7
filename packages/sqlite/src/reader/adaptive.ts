/**
 * Chooses between the download and the range reader per snapshot (reference-format §6,
 * `decide_access_mode`): range when any shard is at least 16 MiB or all shards together at least
 * 2 GiB, download otherwise. Both thresholds and the mode itself can be overridden.
 */
import { ConfigValidationError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import type { ShardReader } from "../contract.ts";
import type { SqlJsOptions } from "../drivers/sqljs.ts";
import type { SqliteDriver } from "../drivers/types.ts";
import type { LocalFs } from "../util/local-fs.ts";
import { SqliteDownloadReader } from "./download-reader.ts";
import { SqliteRangeReader } from "./range-reader.ts";

export const DEFAULT_PER_SHARD_THRESHOLD = 16 * 1024 * 1024;
export const DEFAULT_TOTAL_BUDGET = 2 * 1024 * 1024 * 1024;

export type AccessMode = "download" | "range";
export type AccessModeOption = AccessMode | "auto";

export interface AccessThresholds {
  perShardThreshold?: number;
  totalBudget?: number;
}

export function decideAccessMode(
  shards: ReadonlyArray<{ dbBytes: number }>,
  thresholds?: AccessThresholds,
): AccessMode {
  const perShard = thresholds?.perShardThreshold ?? DEFAULT_PER_SHARD_THRESHOLD;
  const total = thresholds?.totalBudget ?? DEFAULT_TOTAL_BUDGET;
  let sum = 0;
  for (const s of shards) {
    if (s.dbBytes >= perShard) return "range";
    sum += s.dbBytes;
  }
  return sum >= total ? "range" : "download";
}

/** One shard as the manifest describes it. */
export interface ShardRef {
  dbId: number;
  dbUrl: string;
  dbBytes: number;
  checkpointId?: string | null;
  /** From `custom.shard_checksums[db_id]`, when the writer recorded one. */
  checksum?: string;
}

export interface SqliteReaderFactoryOptions extends AccessThresholds {
  store: ObjectStore;
  /** "auto" (default) decides per snapshot from the shards' sizes. */
  mode?: AccessModeOption;
  /** Download cache root (download mode). */
  localRoot?: string;
  driver?: SqliteDriver;
  mmapSize?: number;
  pageCachePages?: number;
  sqljs?: SqlJsOptions;
  fs?: LocalFs;
}

/** Opens shard readers for one snapshot, in the mode chosen once for all its shards. */
export class SqliteReaderFactory {
  readonly mode: AccessMode;

  constructor(
    private readonly options: SqliteReaderFactoryOptions,
    snapshotShards: ReadonlyArray<{ dbBytes: number }>,
  ) {
    const mode = options.mode ?? "auto";
    if (mode !== "auto" && mode !== "download" && mode !== "range") {
      throw new ConfigValidationError(
        `sqlite mode ${JSON.stringify(mode)} is not "download", "range" or "auto"`,
        {
          field: "sqlite_mode",
        },
      );
    }
    this.mode = mode === "auto" ? decideAccessMode(snapshotShards, options) : mode;
    if (this.mode === "download" && !options.localRoot) {
      throw new ConfigValidationError("download mode needs localRoot (the local cache directory)", {
        field: "local_root",
      });
    }
  }

  open(shard: ShardRef, signal?: AbortSignal): Promise<ShardReader> {
    const o = this.options;
    if (this.mode === "range") {
      return SqliteRangeReader.open({
        store: o.store,
        dbUrl: shard.dbUrl,
        pageCachePages: o.pageCachePages,
        sqljs: o.sqljs,
        signal,
      });
    }
    return SqliteDownloadReader.open({
      store: o.store,
      dbUrl: shard.dbUrl,
      dbId: shard.dbId,
      checkpointId: shard.checkpointId,
      localRoot: o.localRoot!,
      expectedChecksum: shard.checksum,
      expectedBytes: shard.dbBytes,
      driver: o.driver,
      mmapSize: o.mmapSize,
      fs: o.fs,
      signal,
    });
  }
}
