import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigValidationError, ShardWriteError } from "@shardy/errors";
import { FaultyStore, FileStore, MemoryStore, type ObjectStore } from "@shardy/store";
import {
  checksumOf,
  decodeSidecar,
  loadDriver,
  recommendPageSize,
  SqliteShardWriter,
  type SqliteShardWriterOptions,
  shardObjectKey,
} from "../src/index.ts";
import { attemptUrl, removeTempDirs, shuffled, tempDir, u64, valueFor } from "./helpers.ts";

afterAll(removeTempDirs);

async function newWriter(store: ObjectStore, extra: Partial<SqliteShardWriterOptions> = {}) {
  const dbUrl = attemptUrl(`${store.baseUrl}/snap`);
  const writer = await SqliteShardWriter.create({ store, dbUrl, localDir: tempDir("w"), ...extra });
  return { writer, dbUrl };
}

async function objectBytes(store: MemoryStore, dbUrl: string, name: string): Promise<Uint8Array | undefined> {
  return (await store.get(shardObjectKey(store, dbUrl, name)))?.body;
}

/** Opens uploaded bytes with bun:sqlite straight from a file, independent of our readers. */
function openUploaded(bytes: Uint8Array): Database {
  const path = `${tempDir("check")}/shard.db`;
  writeFileSync(path, bytes);
  return new Database(path, { readonly: true });
}

describe("SqliteShardWriter", () => {
  test("writes the reference schema and pragmas, sorted, with the uploaded bytes' checksum", async () => {
    const store = new MemoryStore("w-schema");
    const { writer, dbUrl } = await newWriter(store, { keepLocalFile: true });
    const ids = shuffled(
      Array.from({ length: 5000 }, (_, i) => i),
      7,
    );
    for (const i of ids) writer.put(u64(i * 3), valueFor(i));
    const result = await writer.finish();

    const bytes = (await objectBytes(store, dbUrl, "shard.db"))!;
    expect(result.rowCount).toBe(5000);
    expect(result.duplicateCount).toBe(0);
    expect(result.dbBytes).toBe(bytes.length);
    expect(result.checksum).toBe(await checksumOf(bytes));
    expect(result.checksum).toMatch(/^xxh3_128:[0-9a-f]{32}$/);
    expect(result.minKey).toEqual(u64(0));
    expect(result.maxKey).toEqual(u64(4999 * 3));
    expect(result.pageSize).toBe(4096);

    const db = openUploaded(bytes);
    expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
    const schema = db.query("SELECT sql FROM sqlite_schema WHERE name = 'kv'").get() as { sql: string };
    expect(schema.sql).toBe("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
    expect((db.query("PRAGMA page_size").get() as { page_size: number }).page_size).toBe(4096);
    const get = db.query("SELECT v FROM kv WHERE k = ?");
    for (const i of [0, 1, 2500, 4999]) {
      expect(new Uint8Array((get.get(u64(i * 3)) as { v: Uint8Array }).v)).toEqual(valueFor(i));
    }
    expect(get.get(u64(1))).toBeNull();
    const order = db.query("SELECT k FROM kv").all() as Array<{ k: Uint8Array }>;
    for (let i = 1; i < order.length; i++)
      expect(Buffer.compare(order[i - 1]!.k, order[i]!.k)).toBeLessThan(0);
    db.close();
    // The local file is the uploaded one; by default it is removed after upload.
    expect(new Uint8Array(readFileSync(writer.dbPath))).toEqual(new Uint8Array(bytes));
  });

  test("duplicate keys: the last put wins and every replaced put is counted", async () => {
    const store = new MemoryStore("w-dups");
    const { writer, dbUrl } = await newWriter(store);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100; i++) writer.put(u64(i), valueFor(i * 10 + round));
    }
    writer.put(u64(5), new TextEncoder().encode("final"));
    const result = await writer.finish();
    expect(result.rowCount).toBe(100);
    expect(result.duplicateCount).toBe(201);
    const db = openUploaded((await objectBytes(store, dbUrl, "shard.db"))!);
    const get = db.query("SELECT v FROM kv WHERE k = ?");
    expect(new TextDecoder().decode((get.get(u64(5)) as { v: Uint8Array }).v)).toBe("final");
    expect(new Uint8Array((get.get(u64(6)) as { v: Uint8Array }).v)).toEqual(valueFor(62));
    db.close();
  });

  test("spilling sorted runs under a small memory budget gives the identical file", async () => {
    const rows = shuffled(
      Array.from({ length: 3000 }, (_, i) => i),
      11,
    );
    const results = [];
    for (const budget of [1 << 30, 20_000]) {
      const store = new MemoryStore(`w-spill-${budget}`);
      const { writer } = await newWriter(store, { memoryBudgetBytes: budget });
      // Some values spill onto overflow pages and take the long-copy paths of runs and merge.
      for (const i of rows) writer.put(u64(i % 2000), valueFor(i, i % 97 === 0 ? 5000 : 40 + (i % 7)));
      results.push(await writer.finish());
    }
    expect(results[0]!.spilledRuns).toBe(0);
    expect(results[1]!.spilledRuns).toBeGreaterThan(5);
    expect(results[1]!.checksum).toBe(results[0]!.checksum);
    expect(results[1]!.rowCount).toBe(2000);
    expect(results[1]!.duplicateCount).toBe(1000);
    expect(results[1]!.minKey).toEqual(u64(0));
    expect(results[1]!.maxKey).toEqual(u64(1999));
  });

  test("puts in key order stream into the b-tree (no buffer, no spill) and give the file sorting would", async () => {
    const ids = Array.from({ length: 3000 }, (_, i) => i * 7);
    const results = [];
    for (const order of [ids, shuffled(ids, 3)]) {
      const { writer } = await newWriter(new MemoryStore("w-stream"), { memoryBudgetBytes: 20_000 });
      for (const i of order) writer.put(u64(i), valueFor(i, i % 101 === 0 ? 5000 : 50));
      results.push(await writer.finish());
    }
    const [streamed, sorted] = results;
    expect(streamed!.spilledRuns).toBe(0);
    expect(sorted!.spilledRuns).toBeGreaterThan(5);
    expect(streamed!.checksum).toBe(sorted!.checksum);
    expect(streamed!.rowCount).toBe(3000);
    expect(streamed!.minKey).toEqual(u64(0));
    expect(streamed!.maxKey).toEqual(u64(2999 * 7));
  });

  test("keys of one length under 8 bytes (u32be) sort packed: byte order, the last put of a key wins", async () => {
    const u32 = (i: number) => new Uint8Array([i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255]);
    // Three puts per key in scattered order; keys spread over all four bytes.
    const puts = shuffled(
      Array.from({ length: 9000 }, (_, i) => [((i % 3000) * 2654435761) >>> 0, i] as const),
      4,
    );
    const expected = new Map<number, number>();
    for (const [k, i] of puts) expected.set(k, i);
    for (const budget of [1 << 30, 30_000]) {
      const store = new MemoryStore(`w-u32-${budget}`);
      const { writer, dbUrl } = await newWriter(store, { memoryBudgetBytes: budget });
      for (const [k, i] of puts) writer.put(u32(k), valueFor(i, 12));
      const result = await writer.finish();
      expect(result.spilledRuns > 0).toBe(budget === 30_000);
      expect(result.rowCount).toBe(3000);
      expect(result.duplicateCount).toBe(6000);
      const db = openUploaded((await objectBytes(store, dbUrl, "shard.db"))!);
      const rows = db.query("SELECT k, v FROM kv ORDER BY k").all() as { k: Uint8Array; v: Uint8Array }[];
      const keys = [...expected.keys()].sort((a, b) => a - b);
      expect(rows.map((r) => new DataView(r.k.buffer, r.k.byteOffset).getUint32(0))).toEqual(keys);
      for (const [j, row] of rows.entries())
        expect(new Uint8Array(row.v)).toEqual(valueFor(expected.get(keys[j]!)!, 12));
      db.close();
    }
  });

  test("when the key order breaks, the streamed rows merge as the oldest run: later puts win", async () => {
    // Two sorted runs that overlap, then a shuffled tail that repeats some keys once more.
    const puts: [number, Uint8Array<ArrayBuffer>][] = [];
    // Some values of the first run spill onto overflow pages, which the run reader follows.
    for (let i = 0; i < 2000; i++) puts.push([i, valueFor(i, i % 97 === 0 ? 5000 : 40)]);
    for (let i = 1000; i < 3000; i++) puts.push([i, valueFor(i + 1, 30 + (i % 50))]);
    for (const i of shuffled(
      Array.from({ length: 500 }, (_, i) => i * 6),
      9,
    ))
      puts.push([i, valueFor(i + 2, 20)]);
    const expected = new Map(puts.map(([k, v]) => [k, v]));
    const checksums = [];
    // A small budget keeps the streamed prefix as a run and spills; a large one takes it back in memory.
    for (const budget of [20_000, 1 << 30]) {
      const store = new MemoryStore(`w-break-${budget}`);
      const { writer, dbUrl } = await newWriter(store, { memoryBudgetBytes: budget });
      for (const [k, v] of puts) writer.put(u64(k), v);
      const result = await writer.finish();
      expect(result.rowCount).toBe(expected.size);
      expect(result.duplicateCount).toBe(puts.length - expected.size);
      expect(result.spilledRuns > 0).toBe(budget === 20_000);
      const db = openUploaded((await objectBytes(store, dbUrl, "shard.db"))!);
      expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
      const rows = db.query("SELECT k, v FROM kv ORDER BY k").all() as { k: Uint8Array; v: Uint8Array }[];
      expect(rows.length).toBe(expected.size);
      for (const row of rows) {
        const k = Number(new DataView(row.k.buffer, row.k.byteOffset).getBigUint64(0));
        expect(new Uint8Array(row.v)).toEqual(expected.get(k)!);
      }
      db.close();
      checksums.push(result.checksum);
    }
    expect(checksums[0]).toBe(checksums[1]);
  });

  test("putBatch over Arrow-style columns writes the same file as put row by row, spills included", async () => {
    // Variable-length keys and values, duplicates, and a slice that starts mid-column.
    const rows = shuffled(
      Array.from({ length: 6000 }, (_, i) => i),
      5,
    );
    const keyOf = (i: number) => (i % 3 === 0 ? u64(i % 4000) : new TextEncoder().encode(`k${i % 4000}`));
    const rowValue = (i: number) => valueFor(i, 10 + (i % 50));
    const column = (items: Uint8Array[]) => {
      const offsets = new Int32Array(items.length + 1);
      for (let i = 0; i < items.length; i++) offsets[i + 1] = offsets[i]! + items[i]!.length;
      const data = new Uint8Array(offsets[items.length]!);
      for (let i = 0; i < items.length; i++) data.set(items[i]!, offsets[i]!);
      return { offsets, data };
    };
    const keys = column(rows.map(keyOf));
    const values = column(rows.map(rowValue));
    const results = [];
    for (const mode of ["put", "batch", "batch-spill"]) {
      const store = new MemoryStore(`w-batch-${mode}`);
      const { writer } = await newWriter(store, {
        memoryBudgetBytes: mode === "batch-spill" ? 50_000 : 1 << 30,
      });
      if (mode === "put") for (const i of rows) writer.put(keyOf(i), rowValue(i));
      else {
        writer.putBatch(keys.offsets, keys.data, values.offsets, values.data, 0, 2500);
        writer.putBatch(keys.offsets, keys.data, values.offsets, values.data, 2500);
      }
      expect(writer.puts).toBe(6000);
      results.push(await writer.finish());
    }
    expect(results[1]!.checksum).toBe(results[0]!.checksum);
    expect(results[2]!.checksum).toBe(results[0]!.checksum);
    expect(results[2]!.spilledRuns).toBeGreaterThanOrEqual(2);
    const distinct = new Set(rows.map((i) => Buffer.from(keyOf(i)).toString("hex"))).size;
    expect(distinct).toBeLessThan(6000);
    for (const r of results) expect([r.rowCount, r.duplicateCount]).toEqual([distinct, 6000 - distinct]);
  });

  test("putBatch rejects offsets that do not fit the columns, naming the range", async () => {
    const { writer } = await newWriter(new MemoryStore("w-batch-bad"));
    const offsets = Int32Array.from([0, 8, 16]);
    expect(() => writer.putBatch(offsets, new Uint8Array(8), offsets, new Uint8Array(16))).toThrow(
      /putBatch rows \[0, 2\) do not fit the columns/,
    );
    expect(() => writer.putBatch(offsets, new Uint8Array(16), offsets, new Uint8Array(16), 0, 3)).toThrow(
      ConfigValidationError,
    );
    await writer.abort();
  });

  test("variable-length keys sort by bytes (comparison sort path)", async () => {
    const store = new MemoryStore("w-varkeys");
    const { writer, dbUrl } = await newWriter(store);
    const keys = ["b", "a", "ab", "", "\u00ff", "aa", "a\u0000"].map((s) => new TextEncoder().encode(s));
    for (const [i, k] of keys.entries()) writer.put(k, valueFor(i));
    const result = await writer.finish();
    const db = openUploaded((await objectBytes(store, dbUrl, "shard.db"))!);
    const stored = (db.query("SELECT k FROM kv").all() as Array<{ k: Uint8Array }>).map((r) =>
      new TextDecoder().decode(r.k),
    );
    expect(stored).toEqual(["", "a", "a\u0000", "aa", "ab", "b", "\u00ff"]);
    expect(result.minKey).toEqual(new Uint8Array(0));
    db.close();
  });

  for (const [label, budget] of [
    ["in memory", 1 << 30],
    ["spilled (one extra merge pass)", 50_000],
  ] as const) {
    test(`page_size "auto" follows the reference formula (${label})`, async () => {
      const store = new MemoryStore(`w-auto-${budget}`);
      const { writer, dbUrl } = await newWriter(store, { pageSize: "auto", memoryBudgetBytes: budget });
      // 95% of values are 3000 bytes: the reference picks the smallest page whose inline
      // threshold holds p95 + max key + 12.
      for (let i = 0; i < 200; i++) writer.put(u64(i), valueFor(i, i % 20 === 0 ? 100 : 3000));
      const result = await writer.finish();
      const expected = recommendPageSize(3000, 8);
      expect(expected).toBe(16384);
      expect(result.pageSize).toBe(expected);
      const db = openUploaded((await objectBytes(store, dbUrl, "shard.db"))!);
      expect((db.query("PRAGMA page_size").get() as { page_size: number }).page_size).toBe(expected);
      expect((db.query("SELECT count(*) AS n FROM kv").get() as { n: number }).n).toBe(200);
      db.close();
      expect(decodeSidecar((await objectBytes(store, dbUrl, "shard.sidecar"))!).pageSize).toBe(expected);
    });
  }

  test("an explicit page size is used as given; unsupported sizes are config errors", async () => {
    const store = new MemoryStore("w-pagesize");
    const { writer, dbUrl } = await newWriter(store, { pageSize: 65536 });
    writer.put(u64(1), valueFor(1));
    expect((await writer.finish()).pageSize).toBe(65536);
    const bytes = (await objectBytes(store, dbUrl, "shard.db"))!;
    expect((bytes[16]! << 8) | bytes[17]!).toBe(1); // 65536 is stored as 1
    await expect(newWriter(store, { pageSize: 1024 })).rejects.toThrow(ConfigValidationError);
    await expect(newWriter(store, { pageSize: 1024 })).rejects.toThrow(/page_size 1024 is not supported/);
  });

  test("the sidecar is bound to the ETag the store reports for shard.db", async () => {
    const store = new MemoryStore("w-sidecar");
    const { writer, dbUrl } = await newWriter(store);
    for (let i = 0; i < 3000; i++) writer.put(u64(i), valueFor(i, i % 50 === 0 ? 9000 : 64));
    const result = await writer.finish();
    const head = await store.head(shardObjectKey(store, dbUrl, "shard.db"));
    const sidecar = decodeSidecar((await objectBytes(store, dbUrl, "shard.sidecar"))!);
    expect(result.etag).toBe(head!.etag);
    expect(sidecar.dbTag).toBe(head!.etag);
    expect(result.sidecar).toMatchObject({ written: true, chains: 60 });
    expect(sidecar.chains.size).toBe(60);
    expect(sidecar.pages.has(1)).toBe(true);
  });

  test("a file store takes shard.db itself (moved in, unless kept); checksum and sidecar match the object", async () => {
    for (const keepLocalFile of [false, true]) {
      const store = new FileStore(tempDir("w-filestore"));
      const { writer, dbUrl } = await newWriter(store, { keepLocalFile });
      for (let i = 0; i < 20_000; i++) writer.put(u64(i), valueFor(i));
      const result = await writer.finish();
      expect(existsSync(writer.dbPath)).toBe(keepLocalFile);
      const object = await store.get(shardObjectKey(store, dbUrl, "shard.db"));
      expect(object!.body.length).toBe(result.dbBytes);
      expect(result.checksum).toBe(await checksumOf(object!.body));
      expect(result.etag).toBe(object!.etag);
      const sidecar = await store.get(shardObjectKey(store, dbUrl, "shard.sidecar"));
      expect(decodeSidecar(sidecar!.body).dbTag).toBe(object!.etag);
      if (keepLocalFile) expect(readFileSync(writer.dbPath).equals(object!.body)).toBe(true);
    }
  });

  test("emitSidecar: false writes shard.db only", async () => {
    const store = new MemoryStore("w-nosidecar");
    const { writer, dbUrl } = await newWriter(store, { emitSidecar: false });
    writer.put(u64(1), valueFor(1));
    const result = await writer.finish();
    expect(result.sidecar.written).toBe(false);
    expect(await objectBytes(store, dbUrl, "shard.sidecar")).toBeUndefined();
    expect(await objectBytes(store, dbUrl, "shard.db")).toBeDefined();
  });

  test("the written file reads the same through sql.js as through bun:sqlite", async () => {
    const store = new MemoryStore("w-drv");
    const { writer, dbUrl } = await newWriter(store);
    for (let i = 0; i < 500; i++) writer.put(u64(499 - i), valueFor(i, i % 50 === 0 ? 9000 : 64));
    expect((await writer.finish()).rowCount).toBe(500);
    const path = `${tempDir("drv")}/shard.db`;
    writeFileSync(path, (await objectBytes(store, dbUrl, "shard.db"))!);
    const dumps: string[] = [];
    for (const name of ["bun", "sqljs"] as const) {
      const db = (await loadDriver(name)).open(path, { readonly: true });
      const check = db.prepare("PRAGMA integrity_check");
      expect(check.all()).toEqual([{ integrity_check: "ok" }]);
      check.close();
      const all = db.prepare("SELECT hex(k) AS k, hex(v) AS v FROM kv");
      dumps.push(JSON.stringify(all.all()));
      all.close();
      db.close();
    }
    expect(dumps[0]!.length).toBeGreaterThan(500 * 80);
    expect(dumps[1]).toBe(dumps[0]!);
  });
});

describe("SqliteShardWriter bad input", () => {
  test("a key that is not bytes names its row", async () => {
    const { writer } = await newWriter(new MemoryStore("bad-key"));
    writer.put(u64(1), valueFor(1));
    const err = (() => {
      try {
        writer.put("seven" as unknown as Uint8Array, valueFor(2));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as Error).message).toMatch(/^row 1: key must be encoded bytes.*"seven"/);
    expect((err as ConfigValidationError).retryable).toBe(false);
    // The writer is still usable after refusing a row.
    writer.put(u64(2), valueFor(2));
    expect((await writer.finish()).rowCount).toBe(2);
  });

  test("a key the encoder rejects names its row and the key", async () => {
    const encodeU64 = (key: unknown): Uint8Array => {
      if (typeof key !== "bigint" || key < 0n || key >= 1n << 64n) {
        throw new RangeError("u64be keys must be integers in [0, 2^64)");
      }
      return u64(key);
    };
    const { writer } = await newWriter(new MemoryStore("bad-enc"), { keyEncoder: encodeU64 });
    writer.putRecord(5n, valueFor(5));
    writer.putRecord(6n, valueFor(6));
    expect(() => writer.putRecord(-3n, valueFor(7))).toThrow(
      /^row 2: key -3n cannot be encoded: u64be keys must be integers/,
    );
    expect((await writer.finish()).rowCount).toBe(2);
  });

  test("a value over SQLite's length limit gets a clear error before it reaches SQLite", async () => {
    const { writer } = await newWriter(new MemoryStore("bad-big"));
    const huge = new Uint8Array(1_000_000_000); // lazily zeroed: no memory is touched
    expect(() => writer.put(u64(42), huge)).toThrow(ConfigValidationError);
    expect(() => writer.put(u64(42), huge)).toThrow(
      /row 0 \(key 000000000000002a\).*over SQLite's 1000000000-byte row limit/,
    );
  });

  // Sorted puts stream into the b-tree, so the disk fills during put(); shuffled ones at finish().
  for (const order of ["sorted", "shuffled"] as const) {
    test(`a full local disk is a retryable ShardWriteError and nothing is uploaded (${order} puts)`, async () => {
      const store = new MemoryStore(`bad-full-${order}`);
      const { writer } = await newWriter(store, { maxDbBytes: 64 * 1024 });
      const ids = Array.from({ length: 2000 }, (_, i) => i);
      const err = await (async () => {
        for (const i of order === "sorted" ? ids : shuffled(ids, 5)) writer.put(u64(i), valueFor(i, 200));
        return writer.finish();
      })().catch((e) => e);
      expect(err).toBeInstanceOf(ShardWriteError);
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/local disk full/);
      expect((await store.list("")).objects).toEqual([]);
      expect(existsSync(writer.dbPath)).toBe(false);
      await writer.abort();
      expect(readdirSync(dirname(writer.dbPath))).toEqual([]);
    });
  }
});

describe("SqliteShardWriter upload faults leave nothing a manifest could point at", () => {
  const cases = [
    { label: "shard.db upload fails", rule: { op: "putStream" as const, action: { type: "fail" as const } } },
    {
      label: "shard.db upload applied but its response lost",
      rule: { op: "putStream" as const, action: { type: "loseResponse" as const } },
    },
    { label: "sidecar upload fails", rule: { op: "put" as const, action: { type: "fail" as const } } },
    { label: "HEAD after upload fails", rule: { op: "head" as const, action: { type: "fail" as const } } },
  ];
  for (const c of cases) {
    test(c.label, async () => {
      const inner = new MemoryStore(`fault-${c.rule.op}-${c.rule.action.type}`);
      const store = new FaultyStore(inner, { rules: [{ ...c.rule, times: 1 }] });
      const { writer } = await newWriter(store);
      for (let i = 0; i < 300; i++) writer.put(u64(i), valueFor(i));
      const err = await writer.finish().catch((e) => e);
      expect(err).toBeInstanceOf(ShardWriteError);
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/left no objects behind/);
      expect((await inner.list("")).objects.map((o) => o.key)).toEqual([]);
      expect(readdirSync(writer.dbPath.replace(/\/shard\.db$/, ""))).toEqual([]);
    });
  }

  test("a retry as a new attempt succeeds after a failed one", async () => {
    const inner = new MemoryStore("fault-retry");
    const store = new FaultyStore(inner, {
      rules: [{ op: "putStream", times: 1, action: { type: "fail" } }],
    });
    const first = await newWriter(store);
    first.writer.put(u64(1), valueFor(1));
    await expect(first.writer.finish()).rejects.toThrow(ShardWriteError);
    const dbUrl = attemptUrl(`${store.baseUrl}/snap`, 0, 1);
    const second = await SqliteShardWriter.create({ store, dbUrl, localDir: tempDir("w") });
    second.put(u64(1), valueFor(1));
    const result = await second.finish();
    expect(result.dbUrl).toBe(dbUrl);
    expect((await inner.list("")).objects.map((o) => o.key)).toEqual([
      "snap/shards/run_id=test/db=00000/attempt=01/shard.db",
      "snap/shards/run_id=test/db=00000/attempt=01/shard.sidecar",
    ]);
  });

  test("abort after finish removes the uploaded objects", async () => {
    const store = new MemoryStore("abort-done");
    const { writer } = await newWriter(store);
    writer.put(u64(1), valueFor(1));
    await writer.finish();
    expect((await store.list("")).objects.length).toBe(2);
    await writer.abort();
    expect((await store.list("")).objects.length).toBe(0);
  });

  test("an aborted signal stops the write with no objects", async () => {
    const store = new MemoryStore("abort-signal");
    const controller = new AbortController();
    const { writer } = await newWriter(store, { signal: controller.signal });
    writer.put(u64(1), valueFor(1));
    controller.abort();
    await expect(writer.finish()).rejects.toThrow(ShardWriteError);
    expect((await store.list("")).objects.length).toBe(0);
  });
});
