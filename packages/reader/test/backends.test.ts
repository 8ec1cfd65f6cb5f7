/**
 * Backend choice and routing modes: SQLite detected from the manifest or by probing shard.db,
 * SlateDB otherwise; forced and automatic range mode on both stores; CEL snapshots rejected
 * without a routing hook and served with one; metrics events.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { getKernel } from "@shardy/kernel";
import { ShardedReader } from "../src/index.ts";
import { fileStores, minioStores, numberedRows, tempDir, text, writeSnapshot } from "./helpers/snapshots.ts";

const kernel = await getKernel();

for (const makeStores of [fileStores, minioStores]) {
  const stores = makeStores();
  afterAll(() => stores.cleanup());

  describe(`backends on ${stores.name}`, () => {
    test("range mode, forced and chosen automatically by a low per-shard threshold", async () => {
      const { store, prefix } = stores.open();
      const rows = numberedRows(200, "r");
      await writeSnapshot(store, prefix, { runId: "range", numDbs: 3, rows });
      const forced = await ShardedReader.open({ store, prefix, sqlite: { mode: "range" } });
      const auto = await ShardedReader.open({
        store,
        prefix,
        sqlite: { perShardThreshold: 1, localRoot: tempDir() },
      });
      try {
        for (const reader of [forced, auto]) {
          expect(reader.snapshotInfo().backend).toBe("sqlite:range");
          expect(text(await reader.get(123n))).toBe("r-123");
          expect(await reader.get(1234n)).toBeUndefined();
          const keys = [5n, 999n, 0n, 199n];
          expect((await reader.multiGet(keys)).map(text)).toEqual(["r-5", undefined, "r-0", "r-199"]);
        }
      } finally {
        await forced.close();
        await auto.close();
      }
    });

    test("SQLite is detected by probing shard.db when the manifest has no sidecar field", async () => {
      const { store, prefix } = stores.open();
      await writeSnapshot(store, prefix, {
        runId: "probe",
        numDbs: 2,
        rows: numberedRows(10, "p"),
        omitSidecarField: true,
      });
      const reader = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() } });
      try {
        expect(reader.snapshotInfo().backend).toBe("sqlite:download");
        expect(text(await reader.get(9n))).toBe("p-9");
      } finally {
        await reader.close();
      }
    });
  });
}

describe("SlateDB and CEL (file store)", () => {
  const stores = fileStores();
  afterAll(() => stores.cleanup());

  test("a SlateDB snapshot is detected and read", async () => {
    const { store, prefix } = stores.open();
    const rows = numberedRows(50, "s");
    await writeSnapshot(store, prefix, { runId: "slate", numDbs: 3, rows, backend: "slatedb" });
    const reader = await ShardedReader.open({ store, prefix });
    try {
      expect(reader.snapshotInfo().backend).toBe("slatedb");
      for (const [k, v] of rows) expect(text(await reader.get(k))).toBe(v);
      expect(await reader.get(50n)).toBeUndefined();
      expect((await reader.multiGet([49n, 77n, 0n])).map(text)).toEqual(["s-49", undefined, "s-0"]);
    } finally {
      await reader.close();
    }
  });

  test("CEL snapshots: routed by the kernel without a hook, through the hook with one", async () => {
    const { store, prefix } = stores.open();
    const rows = numberedRows(12, "c");
    const sharding = {
      strategy: "cel" as const,
      hashAlgorithm: "xxh3_64" as const,
      celExpr: "shard_hash(key) % 3u",
      celColumns: { key: "int" },
      routingValues: null,
    };
    await writeSnapshot(store, prefix, { runId: "cel", numDbs: 3, rows, sharding });
    // shard_hash(key) % 3u routes exactly like HASH with 3 shards, which is how writeSnapshot placed rows.
    const plain = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() } });
    try {
      for (const [k, v] of rows) {
        expect(text(await plain.get(k))).toBe(v);
        expect(plain.routeKey(k)).toBe(kernel.routeKey(k, 3));
      }
    } finally {
      await plain.close();
    }

    const contexts: unknown[] = [];
    const reader = await ShardedReader.open({
      store,
      prefix,
      sqlite: { localRoot: tempDir() },
      celRoute: ({ key, numDbs, routingContext }) => {
        contexts.push(routingContext);
        // Pretend key 11 carries a token outside routing_values.
        return key === 11n ? null : kernel.routeKey(key, numDbs);
      },
    });
    try {
      expect(text(await reader.get(4n, { routingContext: { group: "a" } }))).toBe("c-4");
      expect(contexts).toContainEqual({ group: "a" });
      expect(await reader.get(11n)).toBeUndefined();
      expect((await reader.multiGet([11n, 2n])).map(text)).toEqual([undefined, "c-2"]);
      expect(() => reader.routeKey(11n)).toThrow(/routing_values/);
    } finally {
      await reader.close();
    }
  });

  test("metrics: initialized, get, multi_get, refreshed, closed with the reference's payload keys", async () => {
    const { store, prefix } = stores.open();
    await writeSnapshot(store, prefix, { runId: "m", numDbs: 2, rows: numberedRows(6, "m") });
    const events: Array<[string, Record<string, unknown>]> = [];
    const reader = await ShardedReader.open({
      store,
      prefix,
      sqlite: { localRoot: tempDir() },
      metrics: {
        emit: (name, payload) => {
          events.push([name, payload]);
          if (name === "reader.get") throw new Error("a broken collector must not break reads");
        },
      },
    });
    expect(text(await reader.get(1n))).toBe("m-1");
    await reader.get(100n);
    await reader.multiGet([1n, 2n, 3n]);
    await reader.refresh();
    await reader.close();
    const names = events.map(([n]) => n);
    expect(names).toEqual([
      "reader.initialized",
      "reader.get",
      "reader.get",
      "reader.multi_get",
      "reader.refreshed",
      "reader.closed",
    ]);
    expect(events[1]![1]).toMatchObject({ found: true });
    expect(events[2]![1]).toMatchObject({ found: false });
    expect(typeof events[1]![1].duration_ms).toBe("number");
    expect(events[3]![1]).toMatchObject({ num_keys: 3 });
    expect(events[4]![1]).toEqual({ changed: false });
    expect(events[0]![1]).toMatchObject({ num_dbs: 2 });
  });
});
