/**
 * SlateDB backend (`@shardy/slatedb`). Rows arrive in routing order, not key order, and a SlateDB
 * snapshot needs strictly increasing keys, so both kinds build locally with `inputOrder: "any"`
 * (sorted in a bounded buffer that spills to disk, last put of a key wins) and upload on close:
 * SSTs first, the SlateDB manifest last with put-if-absent.
 */
import type { AdapterFactoryConfig } from "@shardy/core";
import { createLocalSlateDbShardWriter } from "@shardy/slatedb";
import type {
  AdapterTuning,
  ShardAdapter,
  ShardAdapterFactory,
  ShardAdapterOpenOptions,
  ShardSealResult,
} from "../adapter.ts";
import type { PairBatch } from "../pairs.ts";

export function slateDbAdapterFactory(
  kind: "slatedb" | "slatedb-local" = "slatedb",
  tuning: AdapterTuning = {},
): ShardAdapterFactory {
  return {
    kind,
    manifestCustom: () => ({}),
    toConfig: (): AdapterFactoryConfig => ({ kind }),
    async open(options: ShardAdapterOpenOptions): Promise<ShardAdapter> {
      const writer = createLocalSlateDbShardWriter({
        store: options.store,
        dbPrefix: options.dbKey,
        localDir: options.localDir,
        inputOrder: "any",
        sortBufferBytes: tuning.memoryBudgetBytes,
        signal: options.signal,
      });
      // After a local seal, close() means "upload"; an abort must then not call it again (the
      // loop removes the attempt's local dir and remote prefix itself).
      let sealedLocally = false;
      return {
        writeBatch: (pairs: PairBatch) => writer.writeBatch(pairs),
        async seal(): Promise<ShardSealResult> {
          const r = await writer.seal();
          sealedLocally = true;
          // The local writer uploads on close; the attempt is complete only after that.
          await writer.close();
          return {
            dbBytes: r.dbBytes,
            rowCount: r.rowCount,
            duplicates: r.duplicateCount,
            checksum: null,
            checkpointId: r.checkpointId,
            minKey: r.minKey,
            maxKey: r.maxKey,
            details: { sst_count: r.sstCount },
          };
        },
        close: async () => {},
        async abort() {
          if (!sealedLocally) await writer.close().catch(() => {});
        },
      };
    },
  };
}
