/**
 * The reference smoke scenarios (spec §11) from the reader's side, with snapshots built by the
 * real writer (`buildSnapshot`) on the file store and MinIO: hash with 3 and 2 shards,
 * max_keys_per_shard 5, a shard retried after one injected failure, and the 32-row refresh
 * scenario. The reader must route every key where the writer put it and return every value.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { getKernel } from "@shardy/kernel";
import {
  buildSnapshot,
  type ShardAdapterFactory,
  type SnapshotBuildResult,
  sqliteAdapterFactory,
  ValueSpec,
} from "@shardy/writer";
import { tableFromArrays } from "apache-arrow";
import { ShardedReader } from "../src/index.ts";
import { fileStores, minioStores, tempDir, text } from "./helpers/snapshots.ts";

const kernel = await getKernel();
const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const SMOKE = tableFromArrays({ key: BigInt64Array.from(WORDS.map((_, i) => BigInt(i))), value: WORDS });
const KEYS = WORDS.map((_, i) => BigInt(i));

/** Fails the first attempt of shard 0 (a retryable upload failure), like the reference's FailOnce. */
function failOnce(inner: ShardAdapterFactory): ShardAdapterFactory & { failures: number } {
  const wrapped = {
    failures: 0,
    kind: inner.kind,
    manifestCustom: () => inner.manifestCustom(),
    toConfig: () => null,
    open: async (options: Parameters<ShardAdapterFactory["open"]>[0]) => {
      const adapter = await inner.open(options);
      if (options.dbId !== 0 || wrapped.failures > 0) return adapter;
      return {
        writeBatch: (pairs: Parameters<typeof adapter.writeBatch>[0]) => adapter.writeBatch(pairs),
        close: () => adapter.close(),
        abort: () => adapter.abort(),
        seal: async () => {
          wrapped.failures++;
          await adapter.abort();
          const { ShardWriteError } = await import("@shardy/errors");
          throw new ShardWriteError("injected upload failure for shard 0");
        },
      };
    },
  };
  return wrapped;
}

for (const makeStores of [fileStores, minioStores]) {
  const stores = makeStores();
  afterAll(() => stores.cleanup());

  describe(`reference smoke scenarios read back (${stores.name})`, () => {
    async function build(
      sharding: Record<string, unknown>,
      extra: Record<string, unknown> = {},
      rows = SMOKE,
      adapterFactory?: ShardAdapterFactory,
    ) {
      const { store, prefix, url } = stores.open();
      const result = await buildSnapshot({
        inputs: [rows.batches[0]!],
        config: {
          s3_prefix: url,
          key_encoding: "u64be",
          adapter_factory: { kind: "sqlite" },
          output: { local_root: tempDir() },
          ...sharding,
          ...extra,
        },
        input: { key_col: "key", value_spec: ValueSpec.binaryCol("value") },
        store,
        workers: 0,
        adapterFactory,
      });
      const reader = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() } });
      return { result, reader, store, prefix, url };
    }

    async function checkAll(result: SnapshotBuildResult, reader: ShardedReader, numDbs: number) {
      expect(result.winners.reduce((n, w) => n + w.rowCount, 0)).toBe(10);
      expect(reader.snapshotInfo().numDbs).toBe(numDbs);
      expect((await reader.multiGet(KEYS)).map(text)).toEqual(WORDS);
      for (const k of KEYS) expect(reader.routeKey(k)).toBe(kernel.routeKey(k, numDbs));
      // Each shard's key range holds exactly the keys routed to it.
      for (const d of reader.shardDetails()) {
        const mine = KEYS.filter((k) => kernel.routeKey(k, numDbs) === d.dbId);
        expect(d.rowCount).toBe(mine.length);
      }
    }

    test("hash num_dbs=3: 3 winners, keys -> [2,2,1,1,0,2,0,2,0,0]", async () => {
      const { result, reader } = await build({ num_dbs: 3 });
      try {
        expect(result.winners.length).toBe(3);
        expect(KEYS.map((k) => reader.routeKey(k))).toEqual([2, 2, 1, 1, 0, 2, 0, 2, 0, 0]);
        await checkAll(result, reader, 3);
      } finally {
        await reader.close();
      }
    }, 30_000);

    test("hash num_dbs=2 and max_keys_per_shard=5: 2 winners", async () => {
      for (const sharding of [{ num_dbs: 2 }, { max_keys_per_shard: 5 }]) {
        const { result, reader } = await build(sharding);
        try {
          expect(result.winners.length).toBe(2);
          await checkAll(result, reader, 2);
        } finally {
          await reader.close();
        }
      }
    }, 30_000);

    test("retry after one injected failure: 3 winners, shard 0 from attempt 1", async () => {
      const factory = failOnce(sqliteAdapterFactory({}));
      const { result, reader } = await build(
        { num_dbs: 3 },
        { shard_retry: { max_retries: 1, initial_backoff_ms: 1 } },
        SMOKE,
        factory,
      );
      try {
        expect(factory.failures).toBe(1);
        expect(result.winners.length).toBe(3);
        expect(result.winners.find((w) => w.dbId === 0)?.attempt).toBe(1);
        expect(reader.shardDetails()[0]?.dbUrl).toContain("attempt=01");
        await checkAll(result, reader, 3);
      } finally {
        await reader.close();
      }
    }, 30_000);

    test("refresh: 32 rows old-i, then new-i; refresh true then false", async () => {
      const ids = BigInt64Array.from(Array.from({ length: 32 }, (_, i) => BigInt(i)));
      const rows = (label: string) =>
        tableFromArrays({ key: ids, value: Array.from(ids, (i) => `${label}-${i}`) });
      const { reader, store, url } = await build({ num_dbs: 4 }, {}, rows("old"));
      try {
        expect(text(await reader.get(7n))).toBe("old-7");
        await buildSnapshot({
          inputs: [rows("new").batches[0]!],
          config: {
            s3_prefix: url,
            num_dbs: 4,
            adapter_factory: { kind: "sqlite" },
            output: { local_root: tempDir() },
          },
          input: { key_col: "key", value_spec: ValueSpec.binaryCol("value") },
          store,
          workers: 0,
        });
        expect(await reader.refresh()).toBe(true);
        expect(text(await reader.get(7n))).toBe("new-7");
        expect(await reader.refresh()).toBe(false);
      } finally {
        await reader.close();
      }
    }, 30_000);
  });
}
