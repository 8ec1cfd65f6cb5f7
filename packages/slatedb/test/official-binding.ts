/**
 * In-process access to the official Node binding (`@slatedb/uniffi` 0.12.1) for the benchmark
 * (`scripts/bench/slatedb.ts` imports this so the package resolves from this workspace).
 */
import {
  DbBuilder,
  type DbReader,
  DbReaderBuilder,
  FlushType,
  ObjectStore,
  WriteBatch,
} from "@slatedb/uniffi";

/** Pending native futures do not keep the event loop alive; hold it open while `fn` runs. */
export async function keepingAlive<T>(fn: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Writes rows with the official writer at `<root>/<path>` (default settings): write batches of
 * `batchSize` rows (from `batchRows(start, end)`) without waiting for WAL durability, then a
 * memtable flush and shutdown.
 */
export async function officialWrite(
  root: string,
  path: string,
  batchRows: (start: number, end: number) => readonly (readonly [Uint8Array, Uint8Array])[],
  count: number,
  batchSize: number,
): Promise<void> {
  await keepingAlive(async () => {
    const store = ObjectStore.resolve(`file://${root}`);
    const builder = new DbBuilder(path, store);
    const db = await builder.build();
    try {
      for (let start = 0; start < count; start += batchSize) {
        const batch = new WriteBatch();
        for (const [k, v] of batchRows(start, Math.min(count, start + batchSize))) batch.put(k, v);
        await db.write_with_options(batch, { await_durable: false });
        batch.dispose();
      }
      await db.flush_with_options({ flush_type: FlushType.MemTable });
    } finally {
      await db.shutdown();
      db.dispose();
      builder.dispose();
      store.dispose();
    }
  });
}

export interface OfficialReader {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

/** Opens the official reader on `<root>/<path>` pinned to `checkpointId`. */
export async function openOfficialReader(
  root: string,
  path: string,
  checkpointId: string,
): Promise<OfficialReader> {
  const timer = setInterval(() => {}, 1000);
  const store = ObjectStore.resolve(`file://${root}`);
  const builder = new DbReaderBuilder(path, store);
  builder.with_checkpoint_id(checkpointId);
  const reader: DbReader = await builder.build();
  return {
    get: (key) => reader.get(key),
    async close() {
      await reader.shutdown();
      reader.dispose();
      builder.dispose();
      store.dispose();
      clearInterval(timer);
    },
  };
}
