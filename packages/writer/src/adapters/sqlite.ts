/**
 * SQLite backend (`@shardy/sqlite`'s `SqliteShardWriter`): sorted rows written as shard.db's b-tree,
 * shard.db + sidecar upload. `cache_size_pages` stays in the config for the reference's manifests;
 * the direct b-tree writer has no page cache to size.
 */
import type { AdapterFactoryConfig, SqliteAdapterConfig } from "@shardy/core";
import { SqliteShardWriter } from "@shardy/sqlite";
import {
  type AdapterTuning,
  type ShardAdapter,
  type ShardAdapterFactory,
  type ShardAdapterOpenOptions,
  sqliteSidecarCustom,
} from "../adapter.ts";
import type { PairBatch } from "../pairs.ts";

export const DEFAULT_SQLITE_CONFIG: SqliteAdapterConfig = {
  kind: "sqlite",
  page_size: 4096,
  cache_size_pages: -2000,
  emit_sidecar: true,
};

export function sqliteAdapterFactory(
  config: Partial<Omit<SqliteAdapterConfig, "kind">> = {},
  tuning: AdapterTuning = {},
): ShardAdapterFactory {
  const cfg: SqliteAdapterConfig = { ...DEFAULT_SQLITE_CONFIG, ...config, kind: "sqlite" };
  return {
    kind: "sqlite",
    manifestCustom: () => (cfg.emit_sidecar ? sqliteSidecarCustom(cfg.page_size) : {}),
    toConfig: (): AdapterFactoryConfig => ({ ...cfg }),
    async open(options: ShardAdapterOpenOptions): Promise<ShardAdapter> {
      const writer = await SqliteShardWriter.create({
        store: options.store,
        dbUrl: options.dbUrl,
        localDir: options.localDir,
        pageSize: cfg.page_size,
        emitSidecar: cfg.emit_sidecar,
        memoryBudgetBytes: tuning.memoryBudgetBytes,
        signal: options.signal,
      });
      return {
        writeBatch(pairs: PairBatch) {
          // Whole columns at once: the writer copies them into its arena with no per-row views.
          const { keys, values } = pairs;
          writer.putBatch(keys.offsets, keys.data, values.offsets, values.data, 0, pairs.length);
        },
        async seal() {
          const r = await writer.finish();
          return {
            dbBytes: r.dbBytes,
            rowCount: r.rowCount,
            duplicates: r.duplicateCount,
            checksum: r.checksum,
            checkpointId: null,
            minKey: r.minKey,
            maxKey: r.maxKey,
            details: {
              page_size: r.pageSize,
              sidecar: r.sidecar.written ? "written" : `skipped: ${r.sidecar.reason}`,
              spilled_runs: r.spilledRuns,
            },
          };
        },
        close: async () => {},
        abort: () => writer.abort(),
      };
    },
  };
}
