/**
 * ShardedReader contract, on the file store and on MinIO: lookups, multiGet order, routing,
 * padded shard details, snapshot info, refresh (the reference's 32-row old-7/new-7 scenario),
 * pinning, health, fallback and closing.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { listManifests, readCurrentState } from "@shardy/core";
import { ConfigValidationError, ReaderStateError } from "@shardy/errors";
import { getKernel } from "@shardy/kernel";
import { SqliteDownloadReader } from "@shardy/sqlite";
import { joinKey } from "@shardy/store";
import { ShardedReader } from "../src/index.ts";
import { numberedRows, STORES, tempDir, text, writeSnapshot } from "./helpers/snapshots.ts";

const kernel = await getKernel();

for (const makeStores of STORES) {
  const stores = makeStores();
  afterAll(() => stores.cleanup());

  describe(`ShardedReader on ${stores.name}`, () => {
    test("24-row snapshot: every key found, misses undefined, multiGet keeps input order", async () => {
      const { store, prefix } = stores.open();
      const rows = Array.from({ length: 24 }, (_, i) => [BigInt(i), `v${i}`] as const);
      const { manifestRef } = await writeSnapshot(store, prefix, { runId: "run24", numDbs: 4, rows });
      const reader = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() } });
      try {
        for (const [k, v] of rows) expect(text(await reader.get(k))).toBe(v);
        expect(await reader.get(24n)).toBeUndefined();
        expect(await reader.get(10_000_000n)).toBeUndefined();
        const keys = [23n, 99n, 0n, 5, 5n, 1000n, 7n];
        const got = (await reader.multiGet(keys)).map(text);
        expect(got).toEqual(["v23", undefined, "v0", "v5", "v5", undefined, "v7"]);
        expect(await reader.multiGet([])).toEqual([]);
        const info = reader.snapshotInfo();
        expect(info.runId).toBe("run24");
        expect(info.manifestRef).toBe(manifestRef);
        expect(info.numDbs).toBe(4);
        expect(info.rowCount).toBe(24);
        expect(info.keyEncoding).toBe("u64be");
        expect(info.hashAlgorithm).toBe("xxh3_64");
        expect(info.backend).toBe("sqlite:download");
        expect(info.pinned).toBe(false);
        for (const [k] of rows) expect(reader.routeKey(k)).toBe(kernel.routeKey(k, 4));
      } finally {
        await reader.close();
      }
    });

    test("every key is in exactly its predicted shard and in no other", async () => {
      const { store, prefix } = stores.open();
      const rows = numberedRows(40, "k");
      const { manifest } = await writeSnapshot(store, prefix, { runId: "exact", numDbs: 3, rows });
      const reader = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() } });
      const raw = await Promise.all(
        manifest.shards.map((s) =>
          SqliteDownloadReader.open({ store, dbUrl: s.dbUrl!, dbId: s.dbId, localRoot: tempDir() }),
        ),
      );
      try {
        expect(raw.length).toBe(3);
        for (const [k, v] of rows) {
          const predicted = kernel.routeKey(k, 3);
          expect(reader.routeKey(k)).toBe(predicted);
          const encoded = kernel.encodeKey(k, "u64be");
          for (const [i, shard] of manifest.shards.entries()) {
            const value = text(await raw[i]!.get(encoded));
            expect(value).toBe(shard.dbId === predicted ? v : undefined);
          }
        }
      } finally {
        await Promise.all(raw.map((r) => r.close()));
        await reader.close();
      }
    });

    test("empty shards are padded in shard details and answer not-found", async () => {
      const { store, prefix } = stores.open();
      // Two keys over 16 shards: at least 14 shards are empty and absent from the manifest.
      const rows = [[1n, "one"] as const, [2n, "two"] as const];
      const { manifest } = await writeSnapshot(store, prefix, { runId: "sparse", numDbs: 16, rows });
      const reader = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() } });
      try {
        const details = reader.shardDetails();
        expect(details.map((d) => d.dbId)).toEqual([...Array(16).keys()]);
        const nonEmpty = new Set(manifest.shards.map((s) => s.dbId));
        for (const d of details) {
          if (nonEmpty.has(d.dbId)) {
            expect(d.dbUrl).toContain(`db=${String(d.dbId).padStart(5, "0")}/attempt=00`);
            expect(d.rowCount).toBeGreaterThan(0);
          } else {
            expect(d).toEqual({
              dbId: d.dbId,
              rowCount: 0,
              dbBytes: 0,
              minKey: null,
              maxKey: null,
              dbUrl: null,
              attempt: 0,
              checkpointId: null,
            });
          }
        }
        const emptyKey = [...Array(200).keys()]
          .map(BigInt)
          .find((k) => !nonEmpty.has(kernel.routeKey(k, 16)))!;
        expect(await reader.get(emptyKey)).toBeUndefined();
        expect((await reader.multiGet([emptyKey, 1n])).map(text)).toEqual([undefined, "one"]);
        expect(reader.snapshotInfo().nonEmptyShards).toBe(nonEmpty.size);
      } finally {
        await reader.close();
      }
    });

    test("refresh: 32 rows old-7 then new-7; a second refresh reports no change", async () => {
      const { store, prefix } = stores.open();
      const v1 = await writeSnapshot(store, prefix, {
        runId: "v1",
        numDbs: 4,
        rows: numberedRows(32, "old"),
      });
      const events: string[] = [];
      const reader = await ShardedReader.open({
        store,
        prefix,
        sqlite: { localRoot: tempDir() },
        metrics: { emit: (name, payload) => events.push(`${name}:${JSON.stringify(payload.changed ?? "")}`) },
      });
      try {
        expect(text(await reader.get(7n))).toBe("old-7");
        const v2 = await writeSnapshot(store, prefix, {
          runId: "v2",
          numDbs: 4,
          rows: numberedRows(32, "new"),
        });
        expect(v2.manifestRef).not.toBe(v1.manifestRef);
        expect(text(await reader.get(7n))).toBe("old-7"); // not until refresh
        expect(await reader.refresh()).toBe(true);
        expect(text(await reader.get(7n))).toBe("new-7");
        expect(reader.manifestRef).toBe(v2.manifestRef);
        expect(await reader.refresh()).toBe(false);
        expect(events.filter((e) => e.startsWith("reader.refreshed"))).toEqual([
          "reader.refreshed:true",
          "reader.refreshed:false",
        ]);
      } finally {
        await reader.close();
      }
    });

    test("pinning by history offset and by ref never follows or moves _CURRENT", async () => {
      const { store, prefix } = stores.open();
      const v1 = await writeSnapshot(store, prefix, { runId: "p1", numDbs: 2, rows: numberedRows(8, "one") });
      const v2 = await writeSnapshot(store, prefix, { runId: "p2", numDbs: 2, rows: numberedRows(8, "two") });
      const before = await readCurrentState({ store, prefix });
      const byOffset = await ShardedReader.open({
        store,
        prefix,
        pin: { offset: 1 },
        sqlite: { localRoot: tempDir() },
      });
      const byRef = await ShardedReader.open({
        store,
        prefix,
        pin: { ref: v1.manifestRef },
        sqlite: { localRoot: tempDir() },
      });
      const latest = await ShardedReader.open({
        store,
        prefix,
        pin: { offset: 0 },
        sqlite: { localRoot: tempDir() },
      });
      try {
        expect(text(await byOffset.get(3n))).toBe("one-3");
        expect(byOffset.snapshotInfo()).toMatchObject({
          pinned: true,
          runId: "p1",
          manifestRef: v1.manifestRef,
        });
        expect(text(await byRef.get(3n))).toBe("one-3");
        expect(text(await latest.get(3n))).toBe("two-3");
        expect(latest.manifestRef).toBe(v2.manifestRef);
        await writeSnapshot(store, prefix, { runId: "p3", numDbs: 2, rows: numberedRows(8, "three") });
        expect(await byOffset.refresh()).toBe(false);
        expect(text(await byOffset.get(3n))).toBe("one-3");
        const after = await readCurrentState({ store, prefix });
        expect(after?.pointer?.runId).toBe("p3");
        expect(before?.pointer?.runId).toBe("p2");
        await expect(
          ShardedReader.open({ store, prefix, pin: { offset: 3 }, sqlite: { localRoot: tempDir() } }),
        ).rejects.toThrow(/offset 3 is past the end of history \(3 manifests\)/);
      } finally {
        await Promise.all([byOffset.close(), byRef.close(), latest.close()]);
      }
    });

    test("health: manifest age from created_at, staleness threshold, closed is unhealthy", async () => {
      const { store, prefix } = stores.open();
      const created = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
      await writeSnapshot(store, prefix, {
        runId: "h",
        numDbs: 2,
        rows: numberedRows(4, "h"),
        now: () => created,
      });
      let clock = new Date(created.getTime() + 90_000);
      const reader = await ShardedReader.open({
        store,
        prefix,
        now: () => clock,
        sqlite: { localRoot: tempDir() },
      });
      const healthy = reader.health({ stalenessThresholdMs: 120_000 });
      expect(healthy).toMatchObject({
        status: "healthy",
        manifestAgeMs: 90_000,
        numShards: 2,
        isClosed: false,
      });
      expect(healthy.reasons).toEqual([]);
      clock = new Date(created.getTime() + 600_000);
      const stale = reader.health({ stalenessThresholdMs: 120_000 });
      expect(stale.status).toBe("degraded");
      expect(stale.reasons[0]).toContain("600 s old");
      expect(reader.health().status).toBe("healthy");
      await reader.close();
      expect(reader.health()).toMatchObject({ status: "unhealthy", isClosed: true });
      await expect(reader.get(1n)).rejects.toBeInstanceOf(ReaderStateError);
      await expect(reader.refresh()).rejects.toBeInstanceOf(ReaderStateError);
    });

    test("a malformed current manifest falls back to the previous one; refresh to a malformed one stays", async () => {
      const { store, prefix } = stores.open();
      const good = await writeSnapshot(store, prefix, {
        runId: "good",
        numDbs: 2,
        rows: numberedRows(6, "g"),
      });
      const bad = await writeSnapshot(store, prefix, { runId: "bad", numDbs: 2, rows: numberedRows(6, "b") });
      const [newest] = await listManifests(store, prefix, 1);
      expect(newest!.ref).toBe(bad.manifestRef);
      await store.put(newest!.key, new TextEncoder().encode("not a sqlite database"));
      const reader = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() } });
      try {
        expect(reader.manifestRef).toBe(good.manifestRef);
        expect(text(await reader.get(2n))).toBe("g-2");
        expect(reader.snapshotInfo()).toMatchObject({ fellBack: true, currentRef: bad.manifestRef });
        const health = reader.health();
        expect(health.status).toBe("degraded");
        expect(health.reasons.join()).toContain("malformed");
        expect(await reader.refresh()).toBe(false);
        await expect(
          ShardedReader.open({ store, prefix, maxFallbackAttempts: 0, sqlite: { localRoot: tempDir() } }),
        ).rejects.toThrow(/SQLite|manifest/);
      } finally {
        await reader.close();
      }

      // Refresh onto a malformed manifest: the reader keeps serving the old snapshot.
      const { store: s2, prefix: p2 } = stores.open();
      await writeSnapshot(s2, p2, { runId: "r1", numDbs: 2, rows: numberedRows(6, "r1") });
      const r = await ShardedReader.open({ store: s2, prefix: p2, sqlite: { localRoot: tempDir() } });
      try {
        const next = await writeSnapshot(s2, p2, { runId: "r2", numDbs: 2, rows: numberedRows(6, "r2") });
        const [top] = await listManifests(s2, p2, 1);
        expect(top!.ref).toBe(next.manifestRef);
        await s2.put(top!.key, new Uint8Array(10));
        expect(await r.refresh()).toBe(false);
        expect(text(await r.get(1n))).toBe("r1-1");
      } finally {
        await r.close();
      }
    });

    test("opening by _CURRENT URL and by prefix URL", async () => {
      const { store, prefix, url } = stores.open();
      await writeSnapshot(store, prefix, { runId: "u", numDbs: 2, rows: numberedRows(4, "u") });
      const storeOptions = store.baseUrl.startsWith("s3://")
        ? { s3: (await import("../../store/test/s3-env.ts")).minioStoreOptions() }
        : undefined;
      const a = await ShardedReader.open({
        currentUrl: `${url}/_CURRENT`,
        storeOptions,
        sqlite: { localRoot: tempDir() },
      });
      const b = await ShardedReader.open({
        prefixUrl: url,
        storeOptions,
        openShards: "lazy",
        sqlite: { localRoot: tempDir() },
      });
      try {
        expect(text(await a.get(3n))).toBe("u-3");
        expect(text(await b.get(3n))).toBe("u-3");
      } finally {
        await a.close();
        await b.close();
      }
    });

    test("missing _CURRENT is a ReaderStateError naming the prefix", async () => {
      const { store, prefix } = stores.open();
      const err = await ShardedReader.open({ store, prefix: joinKey(prefix, "nothing-here") }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(ReaderStateError);
      expect(String(err.message)).toContain("CURRENT pointer not found");
      expect(String(err.message)).toContain("nothing-here");
    });
  });
}

describe("ShardedReader key handling (file store)", () => {
  const stores = STORES[0]!();
  afterAll(() => stores.cleanup());

  test("keys that do not fit the key encoding are ConfigValidationErrors", async () => {
    const { store, prefix } = stores.open();
    await writeSnapshot(store, prefix, { runId: "keys", numDbs: 2, rows: numberedRows(4, "k") });
    const reader = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() } });
    try {
      await expect(reader.get("abc")).rejects.toBeInstanceOf(ConfigValidationError);
      await expect(reader.get(-1n)).rejects.toThrow(/negative/);
      await expect(reader.get(new Uint8Array(3))).rejects.toThrow(/exactly 8 bytes/);
      await expect(reader.get(1.5)).rejects.toBeInstanceOf(ConfigValidationError);
      await expect(reader.get(2n ** 64n)).rejects.toBeInstanceOf(ConfigValidationError);
      await expect(reader.multiGet([1n, "x"])).rejects.toBeInstanceOf(ConfigValidationError);
      // A pre-encoded 8-byte key is looked up as is (but routed as raw bytes, like the reference).
      const eight = kernel.encodeKey(2n, "u64be");
      const viaBytes = await reader.get(eight);
      expect(viaBytes === undefined || text(viaBytes) === "k-2").toBe(true);
      expect(reader.routeKey(eight)).toBe(kernel.routeKey(eight, 2));
    } finally {
      await reader.close();
    }
  });

  test("getNow answers warm downloaded shards synchronously, as get does; otherwise defers to get", async () => {
    const { store, prefix } = stores.open();
    const rows = numberedRows(30, "n");
    await writeSnapshot(store, prefix, { runId: "now", numDbs: 3, rows });
    const events: string[] = [];
    const metrics = { emit: (name: string, p: Record<string, unknown>) => events.push(`${name}:${p.found}`) };
    const eager = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() }, metrics });
    const lazy = await ShardedReader.open({
      store,
      prefix,
      openShards: "lazy",
      sqlite: { localRoot: tempDir() },
    });
    const range = await ShardedReader.open({ store, prefix, sqlite: { mode: "range" } });
    try {
      for (const [k, v] of rows) expect(text(eager.getNow(k)!.value)).toBe(v);
      expect(eager.getNow(1000n)).toEqual({ value: undefined });
      expect(events.filter((e) => e === "reader.get:true")).toHaveLength(rows.length);
      expect(events.filter((e) => e === "reader.get:false")).toHaveLength(1);
      expect(() => eager.getNow("abc")).toThrow(ConfigValidationError);
      // A shard not opened yet, or read through ranges, needs I/O: the caller must use get.
      expect(lazy.getNow(rows[0]![0])).toBeUndefined();
      expect(text(await lazy.get(rows[0]![0]))).toBe(rows[0]![1]);
      expect(text(lazy.getNow(rows[0]![0])!.value)).toBe(rows[0]![1]);
      expect(range.getNow(rows[1]![0])).toBeUndefined();
    } finally {
      for (const r of [eager, lazy, range]) await r.close();
    }
  });

  test("an empty snapshot (every shard empty) opens and answers not-found", async () => {
    const { store, prefix } = stores.open();
    await writeSnapshot(store, prefix, { runId: "empty", numDbs: 4, rows: [] });
    const reader = await ShardedReader.open({ store, prefix });
    try {
      expect(await reader.get(1n)).toBeUndefined();
      expect(await reader.multiGet([1n, 2n, 3n])).toEqual([undefined, undefined, undefined]);
      expect(reader.shardDetails().map((d) => d.rowCount)).toEqual([0, 0, 0, 0]);
      expect(reader.snapshotInfo()).toMatchObject({ rowCount: 0, nonEmptyShards: 0, numDbs: 4 });
    } finally {
      await reader.close();
    }
  });

  test("utf8 snapshots take string keys", async () => {
    const { store, prefix } = stores.open();
    const rows = ["alpha", "beta", "ünï", "tenant:eu-west", ""].map((k) => [k, `val:${k}`] as const);
    await writeSnapshot(store, prefix, { runId: "utf8", numDbs: 3, rows, keyEncoding: "utf8" });
    const reader = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() } });
    try {
      for (const [k, v] of rows) expect(text(await reader.get(k))).toBe(v);
      expect(await reader.get("gamma")).toBeUndefined();
      await expect(reader.get(5n)).rejects.toBeInstanceOf(ConfigValidationError);
      expect(reader.keyEncoding).toBe("utf8");
    } finally {
      await reader.close();
    }
  });
});
