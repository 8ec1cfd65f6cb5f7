/** SQLite backend (`@shardy/sqlite`'s `SqliteShardWriter`): sorted insert, shard.db + sidecar upload. */
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
        cacheSizePages: cfg.cache_size_pages,
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
              driver: r.driver,
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
