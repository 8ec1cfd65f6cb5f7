import { afterAll, describe, expect, test } from "bun:test";
import { ConfigValidationError, DbAdapterError, ShardWriteError } from "@shardy/errors";
import { FileStore, MemoryStore, type ObjectStore } from "@shardy/store";
import { createSlateDbShardWriter, openSlateDbReader } from "../src/index.ts";
import { compare, enc, hex, mixedRows, rng, tempDir, u64be } from "./helpers.ts";

const dirs: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const d of dirs) await d();
});

async function fileStore(): Promise<FileStore> {
  const d = await tempDir("wr");
  dirs.push(d.cleanup);
  return new FileStore(d.path);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function listKeys(store: ObjectStore, prefix: string): Promise<string[]> {
  return (await store.list(prefix)).objects.map((o) => o.key);
}

describe.each([
  ["memory", async () => new MemoryStore(`wr-${Math.random()}`) as ObjectStore],
  ["file", fileStore as () => Promise<ObjectStore>],
])("write then read (%s store)", (_name, makeStore) => {
  test("binary, UTF-8 and u64be keys, values from empty to 1 MiB, several SSTs", async () => {
    const store = await makeStore();
    const rows = mixedRows(42, 6000);
    const w = createSlateDbShardWriter({
      store,
      dbPrefix: "shards/db=00000/attempt=00/",
      sstTargetBytes: 256 * 1024,
    });
    for (let i = 0; i < rows.length; i += 500) await w.writeBatch(rows.slice(i, i + 500));
    const res = await w.seal();
    await w.close();
    expect(res.rowCount).toBe(rows.length);
    expect(res.sstCount).toBeGreaterThan(3);
    expect(res.minKey).toEqual(rows[0]![0]);
    expect(res.maxKey).toEqual(rows.at(-1)![0]);
    expect(res.dbUrl).toBe(`${store.baseUrl}/shards/db=00000/attempt=00`);
    const objects = (await store.list("shards/db=00000/attempt=00/")).objects;
    expect(objects.reduce((n, o) => n + o.size, 0)).toBe(res.dbBytes);
    expect(objects.filter((o) => o.key.includes("/manifest/")).map((o) => o.key)).toEqual([
      "shards/db=00000/attempt=00/manifest/00000000000000000001.manifest",
    ]);

    const r = await openSlateDbReader({
      store,
      dbPrefix: "shards/db=00000/attempt=00",
      checkpointId: res.checkpointId,
    });
    expect(r.checkpointId).toBe(res.checkpointId);
    expect(r.sstCount).toBe(res.sstCount);
    for (const [k, v] of rows) expect(hex((await r.get(k)) ?? enc.encode("MISSING"))).toBe(hex(v));
    const next = rng(5);
    const misses = rows.map(([k]) => {
      const m = new Uint8Array(k.length + 1);
      m.set(k);
      m[k.length] = Math.floor(next() * 256);
      return m;
    });
    const present = new Set(rows.map(([k]) => hex(k)));
    const probe = [
      ...misses.filter((m) => !present.has(hex(m))).slice(0, 2000),
      u64be(0n),
      enc.encode("zzzz"),
    ];
    for (const m of probe) expect(await r.get(m)).toBeUndefined();
    expect(await r.get(new Uint8Array(0))).toBeUndefined();

    const sample = rows.filter((_, i) => i % 13 === 0).map(([k]) => k);
    const got = await r.multiGet([...sample, probe[0]!]);
    expect(got.map((v) => (v === undefined ? null : hex(v)))).toEqual([
      ...rows.filter((_, i) => i % 13 === 0).map(([, v]) => hex(v)),
      null,
    ]);

    const all = await collect(r.scan());
    expect(all.length).toBe(rows.length);
    expect(all.every(([k, v], i) => compare(k, rows[i]![0]) === 0 && compare(v, rows[i]![1]) === 0)).toBe(
      true,
    );

    const lo = rows[100]![0];
    const hi = rows[2100]![0];
    expect((await collect(r.scan({ start: lo, end: hi }))).length).toBe(2000);
    expect(
      (await collect(r.scan({ start: lo, startInclusive: false, end: hi, endInclusive: true }))).length,
    ).toBe(2000);
    const last = await collect(r.scan({ start: rows.at(-3)![0] }));
    expect(last.map(([k]) => hex(k))).toEqual(rows.slice(-3).map(([k]) => hex(k)));

    const prefix = enc.encode("鍵/");
    const expected = rows.filter(([k]) =>
      Buffer.from(k).subarray(0, prefix.length).equals(Buffer.from(prefix)),
    );
    expect(expected.length).toBeGreaterThan(100);
    const viaPrefix = await collect(r.scanPrefix(prefix));
    expect(viaPrefix.map(([k]) => hex(k))).toEqual(expected.map(([k]) => hex(k)));
    await r.close();
    await expect(r.get(rows[0]![0])).rejects.toThrow(/closed/);
  });
});

describe("reads per lookup", () => {
  test("a cold get after open costs 2 ranged reads (filter+index, block); a warm one none", async () => {
    const store = new MemoryStore("reads");
    const w = createSlateDbShardWriter({ store, dbPrefix: "db" });
    const rows = Array.from(
      { length: 50_000 },
      (_, i) => [u64be(BigInt(i) * 7n), enc.encode(`v${i}`)] as const,
    );
    await w.writeBatch(rows);
    const { checkpointId } = await w.seal();
    const r = await openSlateDbReader({ store, dbPrefix: "db", checkpointId });
    expect(r.stats().rangeReads).toBe(0);
    expect(await r.get(u64be(7n * 31_337n))).toEqual(enc.encode("v31337"));
    expect(r.stats().rangeReads).toBe(2);
    expect(await r.get(u64be(7n * 31_337n))).toEqual(enc.encode("v31337"));
    expect(r.stats().rangeReads).toBe(2);
    expect(await r.get(u64be(7n * 100n))).toEqual(enc.encode("v100"));
    expect(r.stats().rangeReads).toBe(3);
    // Absent keys are usually settled by the bloom filter, with no block read.
    let before = r.stats().rangeReads;
    for (let i = 0; i < 1000; i++) await r.get(u64be(7n * BigInt(i) + 3n));
    expect(r.stats().rangeReads - before).toBeLessThan(40);
    before = r.stats().rangeReads;
    const multi = await r.multiGet(Array.from({ length: 10 }, (_, i) => u64be(7n * BigInt(i * 4000))));
    expect(multi.map((v) => v && Buffer.from(v).toString())).toEqual(
      Array.from({ length: 10 }, (_, i) => `v${i * 4000}`),
    );
    expect(r.stats().rangeReads - before).toBeLessThanOrEqual(10);
  });
});

describe("bad input", () => {
  test("an empty key is rejected naming the row; the attempt's objects are removed on close", async () => {
    const store = new MemoryStore("bad-empty");
    const w = createSlateDbShardWriter({ store, dbPrefix: "db", sstTargetBytes: 4096 });
    await w.writeBatch(
      Array.from({ length: 2000 }, (_, i) => [u64be(BigInt(i)), new Uint8Array(10)] as const),
    );
    const err = await w.put(new Uint8Array(0), enc.encode("x")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as Error).message).toMatch(/^row 2000: empty key/);
    await expect(w.put(u64be(999_999n), enc.encode("x"))).rejects.toThrow(/failed earlier/);
    expect((await listKeys(store, "db/")).length).toBeGreaterThan(0);
    await w.close();
    expect(await listKeys(store, "db/")).toEqual([]);
  });

  test("a key over 65,535 bytes is rejected naming the row and the key", async () => {
    const w = createSlateDbShardWriter({ store: new MemoryStore("bad-long"), dbPrefix: "db" });
    await w.put(enc.encode("a"), enc.encode("1"));
    const err = await w.put(new Uint8Array(65_536).fill(0x62), enc.encode("2")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as Error).message).toMatch(
      /^row 1: key of 65536 bytes \(0x6262.*\) exceeds SlateDB's limit of 65535/,
    );
    await w.close();
  });

  test("keys out of order or repeated are rejected with both keys shown", async () => {
    const w = createSlateDbShardWriter({ store: new MemoryStore("bad-order"), dbPrefix: "db" });
    await expect(
      w.writeBatch([
        [enc.encode("b"), enc.encode("1")],
        [enc.encode("a"), enc.encode("2")],
      ]),
    ).rejects.toThrow(/row 1: key 0x61 sorts before the previous key 0x62/);
    const w2 = createSlateDbShardWriter({ store: new MemoryStore("bad-dup"), dbPrefix: "db" });
    await expect(
      w2.writeBatch([
        [enc.encode("b"), enc.encode("1")],
        [enc.encode("b"), enc.encode("2")],
      ]),
    ).rejects.toThrow(/row 1: key 0x62 repeats the previous key/);
  });

  test("a second writer on the same prefix cannot commit; the same writer's seal is idempotent", async () => {
    const store = new MemoryStore("conflict");
    const a = createSlateDbShardWriter({ store, dbPrefix: "db" });
    await a.put(enc.encode("k"), enc.encode("a"));
    const first = await a.seal();
    expect(await a.seal()).toBe(first);
    const b = createSlateDbShardWriter({ store, dbPrefix: "db" });
    await b.put(enc.encode("k"), enc.encode("b"));
    await expect(b.seal()).rejects.toBeInstanceOf(ShardWriteError);
    const r = await openSlateDbReader({ store, dbPrefix: "db", checkpointId: first.checkpointId });
    expect(await r.get(enc.encode("k"))).toEqual(enc.encode("a"));
  });

  test("invalid options are rejected up front", () => {
    const store = new MemoryStore("opts");
    expect(() => createSlateDbShardWriter({ store, dbPrefix: "db", sstTargetBytes: 0 })).toThrow(
      /sstTargetBytes 0/,
    );
    expect(() => createSlateDbShardWriter({ store, dbPrefix: "db", blockSize: 70_000 })).toThrow(
      /blockSize 70000/,
    );
    expect(() =>
      createSlateDbShardWriter({ store, dbPrefix: "db", compression: "zstd" as unknown as "lz4" }),
    ).toThrow(/cannot be written/);
  });

  test("an aborted signal stops the writer", async () => {
    const ac = new AbortController();
    const w = createSlateDbShardWriter({
      store: new MemoryStore("abort"),
      dbPrefix: "db",
      signal: ac.signal,
    });
    await w.put(enc.encode("a"), enc.encode("1"));
    ac.abort(new Error("stop now"));
    await expect(w.put(enc.encode("b"), enc.encode("2"))).rejects.toThrow(/stop now/);
  });
});

describe("damaged databases", () => {
  test("a truncated SST or a flipped byte is reported with the object's URL; nothing wrong is returned", async () => {
    const store = new MemoryStore("damaged");
    const w = createSlateDbShardWriter({ store, dbPrefix: "db" });
    await w.writeBatch(
      Array.from({ length: 5000 }, (_, i) => [u64be(BigInt(i)), enc.encode(`v${i}`)] as const),
    );
    const { checkpointId } = await w.seal();
    const [sst] = (await store.list("db/compacted/")).objects;
    const original = (await store.get(sst!.key))!.body;

    const flipped = original.slice();
    flipped[100]! ^= 0x01;
    await store.put(sst!.key, flipped);
    let r = await openSlateDbReader({ store, dbPrefix: "db", checkpointId });
    const err = await r.get(u64be(0n)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbAdapterError);
    expect((err as Error).message).toContain(`memory://damaged/${sst!.key} block 0`);
    expect((err as Error).message).toContain("CRC-32 mismatch");

    await store.put(sst!.key, original.subarray(0, original.length - 200));
    r = await openSlateDbReader({ store, dbPrefix: "db", checkpointId });
    await expect(r.get(u64be(10n))).rejects.toThrow(/truncated SST/);
  });
});

describe("streaming", () => {
  test("finished SSTs are in the store before seal; the manifest only after", async () => {
    const store = new MemoryStore("streaming");
    const w = createSlateDbShardWriter({ store, dbPrefix: "db", sstTargetBytes: 64 * 1024 });
    const rows = Array.from(
      { length: 20_000 },
      (_, i) => [u64be(BigInt(i)), new Uint8Array(32).fill(i & 0xff)] as const,
    );
    await w.writeBatch(rows);
    // Uploads run concurrently with the writer; give the finished ones a moment to land.
    for (let i = 0; i < 100 && (await listKeys(store, "db/compacted/")).length < 3; i++) await Bun.sleep(5);
    expect((await listKeys(store, "db/compacted/")).length).toBeGreaterThanOrEqual(3);
    expect(await listKeys(store, "db/manifest/")).toEqual([]);
    const res = await w.seal();
    expect(await listKeys(store, "db/manifest/")).toEqual(["db/manifest/00000000000000000001.manifest"]);
    expect((await listKeys(store, "db/compacted/")).length).toBe(res.sstCount);
  });

  test("an empty shard is a valid, empty database", async () => {
    const store = new MemoryStore("empty");
    const w = createSlateDbShardWriter({ store, dbPrefix: "db" });
    const res = await w.seal();
    expect(res.rowCount).toBe(0);
    expect(res.sstCount).toBe(0);
    expect(res.minKey).toBeUndefined();
    const r = await openSlateDbReader({ store, dbPrefix: "db", checkpointId: res.checkpointId });
    expect(await r.get(enc.encode("a"))).toBeUndefined();
    expect(await collect(r.scan())).toEqual([]);
  });
});
