/**
 * Shard reader factories. A snapshot names no backend explicitly, so it is inferred from the
 * manifest: `custom.sqlite_sidecar` (written by every SQLite writer that emits a sidecar) or a
 * `shard.db` object under a shard means SQLite; anything else is a SlateDB root. A factory is made
 * per snapshot, because the SQLite download/range choice depends on all its shard sizes.
 */
import { keyForUrl, type Manifest } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import type { Kernel } from "@shardy/kernel";
import type { SlateDbReaderOptions } from "@shardy/slatedb";
import {
  type AccessModeOption,
  DB_FILENAME,
  decideAccessMode,
  SHARD_CHECKSUMS_CUSTOM_KEY,
  type ShardReader,
  type SqliteDriver,
  SqliteReaderFactory,
  type SqlJsOptions,
  shardObjectKey,
} from "@shardy/sqlite";
import type { ObjectStore } from "@shardy/store";

export type { ShardReader } from "@shardy/sqlite";

export type BackendName = "sqlite" | "slatedb";

/** What a factory needs to open one non-empty shard. */
export interface ShardOpenInfo {
  dbId: number;
  dbUrl: string;
  dbBytes: number;
  rowCount: number;
  checkpointId: string | null;
  /** `"<algorithm>:<hex>"` from `custom.shard_checksums`, when the writer recorded one. */
  checksum?: string;
}

/** Opens shard readers for one snapshot. */
export interface ShardReaderFactory {
  /** For `snapshotInfo()`: e.g. `sqlite:download`, `sqlite:range`, `slatedb`. */
  readonly description: string;
  open(shard: ShardOpenInfo, signal?: AbortSignal): Promise<ShardReader>;
}

export interface SnapshotContext {
  store: ObjectStore;
  manifest: Manifest;
  manifestRef: string;
}

/** Makes the factory for a snapshot (called once per loaded manifest, on open and on refresh). */
export type ShardReaderFactoryProvider = (
  context: SnapshotContext,
) => ShardReaderFactory | Promise<ShardReaderFactory>;

export interface SqliteBackendOptions {
  /** `auto` (default) picks download or range from the shard sizes (reference §6). */
  mode?: AccessModeOption;
  /** Range mode when any shard is at least this big (default 16 MiB). */
  perShardThreshold?: number;
  /** Range mode when all shards together are at least this big (default 2 GiB). */
  totalBudget?: number;
  /** Download cache directory; default `<tmpdir>/shardy-reader/<hash of the snapshot location>`. */
  localRoot?: string;
  pageCachePages?: number;
  mmapSize?: number;
  driver?: SqliteDriver;
  /** sql.js options for the range reader (e.g. its wasm bytes in a single-file executable). */
  sqljs?: SqlJsOptions;
}

export interface SlateDbBackendOptions {
  /** Decoded-block cache per shard reader (bytes). */
  blockCacheBytes?: number;
  /**
   * Kernel for SlateDB's SipHash/CRC32 (default: the process-wide one). Edge workers pass theirs:
   * they cannot load the default from a file.
   */
  kernel?: Kernel;
}

export interface BackendOptions {
  /** `auto` (default) infers it from the manifest. */
  backend?: BackendName | "auto";
  sqlite?: SqliteBackendOptions;
  slatedb?: SlateDbBackendOptions;
}

/** Infers the backend of a snapshot; `undefined` when it has no non-empty shard to look at. */
export async function detectBackend(
  store: ObjectStore,
  manifest: Manifest,
  signal?: AbortSignal,
): Promise<BackendName | undefined> {
  if (manifest.custom.sqlite_sidecar !== undefined) return "sqlite";
  const first = manifest.shards.find((s) => s.dbUrl !== null);
  if (first?.dbUrl == null) return undefined;
  const head = await store.head(shardObjectKey(store, first.dbUrl, DB_FILENAME), { signal });
  return head === undefined ? "slatedb" : "sqlite";
}

/** Per-shard checksums the writer recorded in `custom.shard_checksums` (`{"<db_id>": "algo:hex"}`). */
export function shardChecksums(manifest: Manifest): Map<number, string> {
  const out = new Map<number, string>();
  const raw = manifest.custom[SHARD_CHECKSUMS_CUSTOM_KEY];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return out;
  for (const [id, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value === "string" && /^\d+$/.test(id)) out.set(Number(id), value);
  }
  return out;
}

/**
 * `<tmpdir>/shardy-reader/<snapshot hash>`: one cache directory per snapshot location, because the
 * download cache evicts other copies of a shard id within its root, and two unrelated snapshots
 * (each with a shard 0) must not evict each other's files.
 */
async function defaultLocalRoot(context: SnapshotContext): Promise<string> {
  // Only the download mode needs a directory; edge runtimes that use range mode never load node:os.
  const os = await import("node:os");
  const path = await import("node:path");
  const identity = `${context.store.baseUrl}|${context.manifest.build.s3Prefix}`;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(identity)));
  const hex = Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  return path.join(os.tmpdir(), "shardy-reader", hex);
}

export async function sqliteFactory(
  context: SnapshotContext,
  options: SqliteBackendOptions = {},
): Promise<ShardReaderFactory> {
  const nonEmpty = context.manifest.shards.filter((s) => s.dbUrl !== null);
  const requested = options.mode ?? "auto";
  const mode = requested === "auto" ? decideAccessMode(nonEmpty, thresholds(options)) : requested;
  const localRoot =
    mode === "download" ? (options.localRoot ?? (await defaultLocalRoot(context))) : options.localRoot;
  const factory = new SqliteReaderFactory(
    {
      store: context.store,
      mode,
      localRoot,
      driver: options.driver,
      mmapSize: options.mmapSize,
      pageCachePages: options.pageCachePages,
      sqljs: options.sqljs,
      ...thresholds(options),
    },
    nonEmpty,
  );
  return {
    description: `sqlite:${factory.mode}`,
    open: (shard, signal) =>
      factory.open(
        {
          dbId: shard.dbId,
          dbUrl: shard.dbUrl,
          dbBytes: shard.dbBytes,
          checkpointId: shard.checkpointId,
          checksum: shard.checksum,
        },
        signal,
      ),
  };
}

function thresholds(options: SqliteBackendOptions) {
  const out: { perShardThreshold?: number; totalBudget?: number } = {};
  if (options.perShardThreshold !== undefined) out.perShardThreshold = options.perShardThreshold;
  if (options.totalBudget !== undefined) out.totalBudget = options.totalBudget;
  return out;
}

export async function slateDbFactory(
  context: SnapshotContext,
  options: SlateDbBackendOptions = {},
): Promise<ShardReaderFactory> {
  // Loaded on demand so SQLite-only deployments never pull the SlateDB reader in.
  const slatedb = await import("@shardy/slatedb");
  return {
    description: "slatedb",
    open: (shard) => {
      const readerOptions: SlateDbReaderOptions = {
        store: context.store,
        dbPrefix: keyForUrl(context.store, shard.dbUrl),
      };
      if (options.blockCacheBytes !== undefined) readerOptions.blockCacheBytes = options.blockCacheBytes;
      if (options.kernel !== undefined) readerOptions.hashing = slatedb.kernelHashing(options.kernel);
      return slatedb.openSlateDbReader(readerOptions);
    },
  };
}

/** The default provider: the backend named in `options`, or the one the manifest implies. */
export function defaultFactoryProvider(options: BackendOptions = {}): ShardReaderFactoryProvider {
  const wanted = options.backend ?? "auto";
  if (wanted !== "auto" && wanted !== "sqlite" && wanted !== "slatedb") {
    throw new ConfigValidationError(
      `reader backend ${JSON.stringify(wanted)} is not "sqlite", "slatedb" or "auto"`,
      { field: "reader_backend" },
    );
  }
  return async (context) => {
    const backend = wanted === "auto" ? await detectBackend(context.store, context.manifest) : wanted;
    if (backend === "slatedb") return slateDbFactory(context, options.slatedb);
    if (backend === "sqlite") return sqliteFactory(context, options.sqlite);
    return {
      description: "none (every shard is empty)",
      open: (shard) => Promise.reject(new Error(`no backend to open shard ${shard.dbId}`)),
    };
  };
}
