/**
 * The backend-neutral shard reader contract (owned by @shardy/sqlite's tests) run on the SlateDB
 * backend: the local writer with rows in any order (as routing hands them to a shard), and our
 * reader pinned to the snapshot's checkpoint. The writer contract is not run: it stores an empty
 * key, which SlateDB forbids (our writer rejects it, see writer-reader.test.ts).
 */
import { afterAll } from "bun:test";
import { ConfigValidationError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import type { ShardBackend } from "../../sqlite/test/contracts/backend.ts";
import { shardReaderContract } from "../../sqlite/test/contracts/shard-reader-contract.ts";
import {
  fileFixture,
  memoryFixture,
  minioFixture,
  removeTempDirs,
  tempDir,
} from "../../sqlite/test/helpers.ts";
import {
  createLocalSlateDbShardWriter,
  type LocalSlateDbSealResult,
  openSlateDbReader,
} from "../src/index.ts";

afterAll(removeTempDirs);

function storeKeyOf(store: ObjectStore, dbUrl: string): string {
  const base = `${store.baseUrl.replace(/\/+$/, "")}/`;
  if (!dbUrl.startsWith(base)) throw new ConfigValidationError(`${dbUrl} is not inside ${store.baseUrl}`);
  return dbUrl.slice(base.length);
}

const checkpoints = new Map<string, string>();

const slatedb: ShardBackend = {
  name: "slatedb (local writer, any order; checkpoint reader)",
  async newWriter(store, dbUrl, localDir) {
    const writer = createLocalSlateDbShardWriter({
      store,
      dbPrefix: storeKeyOf(store, dbUrl),
      localDir: `${localDir}/attempt`,
      inputOrder: "any",
    });
    // The contract's put is synchronous and may reuse its buffers: copy, and chain the adds.
    let pending: Promise<void> = Promise.resolve();
    return {
      put(key, value) {
        const k = key.slice();
        const v = value.slice();
        pending = pending.then(() => writer.put(k, v));
      },
      async finish() {
        await pending;
        const sealed: LocalSlateDbSealResult = await writer.seal();
        await writer.close();
        checkpoints.set(sealed.dbUrl, sealed.checkpointId);
        const result = {
          dbUrl: sealed.dbUrl,
          rowCount: sealed.rowCount,
          duplicateCount: sealed.duplicateCount,
          dbBytes: sealed.dbBytes,
        };
        return {
          ...result,
          ...(sealed.minKey === undefined ? {} : { minKey: sealed.minKey }),
          ...(sealed.maxKey === undefined ? {} : { maxKey: sealed.maxKey }),
        };
      },
      async abort() {
        await pending.catch(() => {});
        await writer.close();
      },
    };
  },
  openReader: (store, result) =>
    openSlateDbReader({
      store,
      dbPrefix: storeKeyOf(store, result.dbUrl),
      checkpointId: checkpoints.get(result.dbUrl)!,
    }),
};

for (const where of [memoryFixture, fileFixture, minioFixture])
  shardReaderContract(slatedb, where, { tempDir });
