import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { ConfigValidationError, DbAdapterError } from "@shardy/errors";
import { FaultyStore, MemoryStore, type ObjectStore } from "@shardy/store";
import {
  checksumOf,
  decideAccessMode,
  IDENTITY_FILENAME,
  SqliteDownloadReader,
  SqliteRangeReader,
  SqliteReaderFactory,
  type SqliteShardWriteResult,
  SqliteShardWriter,
  shardObjectKey,
} from "../src/index.ts";
import { attemptUrl, minioFixture, removeTempDirs, shuffled, tempDir, u64, valueFor } from "./helpers.ts";

afterAll(removeTempDirs);

/** Wraps a store and flips one byte in the next `times` range reads (a bad network or disk). */
class CorruptingStore implements ObjectStore {
  constructor(
    readonly inner: ObjectStore,
    public times: number,
  ) {}
  get baseUrl() {
    return this.inner.baseUrl;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  get: ObjectStore["get"] = (k, o) => this.inner.get(k, o);
  head: ObjectStore["head"] = (k, o) => this.inner.head(k, o);
  put: ObjectStore["put"] = (k, b, o) => this.inner.put(k, b, o);
  putStream: ObjectStore["putStream"] = (k, b, o) => this.inner.putStream(k, b, o);
  list: ObjectStore["list"] = (p, o) => this.inner.list(p, o);
  delete: ObjectStore["delete"] = (k) => this.inner.delete(k);
  deletePrefix: ObjectStore["deletePrefix"] = (p, o) => this.inner.deletePrefix(p, o);
  getRange: ObjectStore["getRange"] = async (k, r, o) => {
    const bytes = await this.inner.getRange(k, r, o);
    if (this.times > 0 && bytes.length > 200) {
      this.times--;
      bytes[200] = bytes[200]! ^ 0x55;
    }
    return bytes;
  };
}

async function writeShard(
  store: ObjectStore,
  rows: number,
  valueSize: (i: number) => number,
  dbId = 0,
  attempt = 0,
): Promise<SqliteShardWriteResult> {
  const writer = await SqliteShardWriter.create({
    store,
    dbUrl: attemptUrl(`${store.baseUrl}/snap`, dbId, attempt),
    localDir: tempDir("rw"),
  });
  for (const i of shuffled(
    Array.from({ length: rows }, (_, i) => i),
    rows,
  )) {
    writer.put(u64(i), valueFor(i, valueSize(i)));
  }
  return writer.finish();
}

describe("download reader", () => {
  test("downloads once per (db_url, checkpoint id); a new checkpoint replaces the cached copy", async () => {
    const store = new FaultyStore(new MemoryStore("dl-cache"));
    const shard = await writeShard(store, 400, () => 64);
    const localRoot = tempDir("cache");
    const open = (checkpointId: string) =>
      SqliteDownloadReader.open({
        store,
        dbUrl: shard.dbUrl,
        dbId: 7,
        checkpointId,
        localRoot,
        expectedChecksum: shard.checksum,
        expectedBytes: shard.dbBytes,
      });
    const ranges = () => store.calls.filter((c) => c.op === "getRange").length;

    const first = await open("ck1");
    expect(first.downloaded).toBe(true);
    expect(first.path.startsWith(`${localRoot}/shard=00007/`)).toBe(true);
    expect(JSON.parse(readFileSync(first.path.replace("shard.db", IDENTITY_FILENAME), "utf8"))).toEqual({
      checkpoint_id: "ck1",
      db_url: shard.dbUrl,
    });
    expect(await first.get(u64(399))).toEqual(valueFor(399));
    const afterFirst = ranges();

    const again = await open("ck1");
    expect(again.downloaded).toBe(false);
    expect(again.path).toBe(first.path);
    expect(ranges()).toBe(afterFirst);
    expect(await again.get(u64(3))).toEqual(valueFor(3));

    const next = await open("ck2");
    expect(next.downloaded).toBe(true);
    expect(next.path).not.toBe(first.path);
    expect(existsSync(first.path)).toBe(false); // evicted; the open readers keep their mapping
    expect(await first.get(u64(5))).toEqual(valueFor(5));
    expect(readdirSync(`${localRoot}/shard=00007`)).toHaveLength(1);
    for (const r of [first, again, next]) await r.close();
  });

  test("concurrent opens of one shard share a single download", async () => {
    const store = new FaultyStore(new MemoryStore("dl-concurrent"));
    const shard = await writeShard(store, 100, () => 32);
    const localRoot = tempDir("cache");
    const readers = await Promise.all(
      Array.from({ length: 5 }, () =>
        SqliteDownloadReader.open({ store, dbUrl: shard.dbUrl, dbId: 0, checkpointId: "x", localRoot }),
      ),
    );
    expect(store.calls.filter((c) => c.op === "getRange").length).toBe(1);
    expect(readers.filter((r) => r.downloaded).length).toBe(5); // all got the one fresh copy
    for (const r of readers) await r.close();
  });

  test("a corrupt download is detected by checksum and fetched once more", async () => {
    const inner = new MemoryStore("dl-corrupt-once");
    const shard = await writeShard(inner, 300, () => 64);
    const store = new CorruptingStore(inner, 1);
    const reader = await SqliteDownloadReader.open({
      store,
      dbUrl: shard.dbUrl,
      dbId: 0,
      localRoot: tempDir("cache"),
      expectedChecksum: shard.checksum,
    });
    expect(store.times).toBe(0);
    expect(await checksumOf(new Uint8Array(readFileSync(reader.path)))).toBe(shard.checksum);
    expect(await reader.get(u64(10))).toEqual(valueFor(10));
    await reader.close();
  });

  test("corrupt twice: DbAdapterError naming the shard and the mismatch, no cache file left", async () => {
    const inner = new MemoryStore("dl-corrupt-twice");
    const shard = await writeShard(inner, 300, () => 64);
    const localRoot = tempDir("cache");
    const err = await SqliteDownloadReader.open({
      store: new CorruptingStore(inner, 2),
      dbUrl: shard.dbUrl,
      dbId: 0,
      localRoot,
      expectedChecksum: shard.checksum,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DbAdapterError);
    expect(err.message).toContain(shard.dbUrl);
    expect(err.message).toMatch(/checksum xxh3_128:[0-9a-f]+ does not match the manifest's xxh3_128:/);
    const dir = `${localRoot}/shard=00000`;
    const leftovers = readdirSync(dir).flatMap((d) => readdirSync(`${dir}/${d}`));
    expect(leftovers).toEqual([]);
  });

  test("a truncated object is detected without a checksum (header page count)", async () => {
    const store = new MemoryStore("dl-truncated");
    const shard = await writeShard(store, 500, () => 64);
    const key = shardObjectKey(store, shard.dbUrl, "shard.db");
    const full = (await store.get(key))!.body;
    await store.put(key, full.subarray(0, full.length - 4096));
    const err = await SqliteDownloadReader.open({
      store,
      dbUrl: shard.dbUrl,
      dbId: 0,
      localRoot: tempDir("c"),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DbAdapterError);
    expect(err.message).toMatch(
      /header says \d+ pages of 4096 bytes, the object has \d+ bytes \(truncated\)/,
    );
    // With the manifest's db_bytes the size check alone catches it too.
    const err2 = await SqliteDownloadReader.open({
      store,
      dbUrl: shard.dbUrl,
      dbId: 0,
      localRoot: tempDir("c"),
      expectedBytes: shard.dbBytes,
    }).catch((e) => e);
    expect(err2.message).toMatch(new RegExp(`manifest's db_bytes is ${shard.dbBytes}`));
  });

  test("a missing shard object is a DbAdapterError, not retried", async () => {
    const store = new FaultyStore(new MemoryStore("dl-missing"));
    const err = await SqliteDownloadReader.open({
      store,
      dbUrl: attemptUrl(`${store.baseUrl}/snap`),
      dbId: 0,
      localRoot: tempDir("c"),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DbAdapterError);
    expect(err.message).toMatch(/does not exist/);
    expect(store.calls.filter((c) => c.op === "head").length).toBe(1);
  });
});

describe("range reader request budget", () => {
  // Values of 64 B, 3 KB (interior cells then spill too) and 20 KB (multi-page chains).
  const size = (i: number) => (i % 10 === 0 ? 20_000 : i % 3 === 0 ? 3000 : 64);
  const ROWS = 6000;
  let store: MemoryStore;
  let shard: SqliteShardWriteResult;

  beforeAll(async () => {
    store = new MemoryStore("range-budget");
    shard = await writeShard(store, ROWS, size);
  });

  test("with the sidecar every cold get costs at most 2 range requests, 1 when the value fits", async () => {
    const reader = await SqliteRangeReader.open({ store, dbUrl: shard.dbUrl });
    expect(reader.info.sidecar).toBe("used");
    expect(reader.info.openRequests).toBeLessThanOrEqual(3); // HEAD, sidecar, sqlite_stat1 page
    const ids = shuffled(
      Array.from({ length: ROWS }, (_, i) => i),
      99,
    ).slice(0, 400);
    let requests = 0;
    for (const i of ids) {
      reader.resetStats();
      expect(await reader.get(u64(i))).toEqual(valueFor(i, size(i)));
      const s = reader.stats();
      expect(s.retries).toBe(0);
      expect(s.rangeRequests).toBeLessThanOrEqual(size(i) > 1000 ? 2 : 1);
      requests += s.rangeRequests;
    }
    expect(requests).toBeGreaterThan(100); // they really were cold
    reader.resetStats();
    for (const i of [ROWS, ROWS + 1, 1e9]) expect(await reader.get(u64(i))).toBeUndefined();
    expect(reader.stats().rangeRequests).toBeLessThanOrEqual(3);
    await reader.close();
  });

  test("warm gets cost no requests", async () => {
    const reader = await SqliteRangeReader.open({ store, dbUrl: shard.dbUrl });
    await reader.get(u64(30));
    reader.resetStats();
    for (let n = 0; n < 20; n++) expect(await reader.get(u64(30))).toEqual(valueFor(30, size(30)));
    expect(reader.stats().rangeRequests).toBe(0);
    await reader.close();
  });

  test("without the sidecar it still answers correctly, walking the tree page by page", async () => {
    const reader = await SqliteRangeReader.open({ store, dbUrl: shard.dbUrl, useSidecar: false });
    expect(reader.info.sidecar).toBe("disabled");
    for (const i of [0, 1, 3, 2999, 5999]) expect(await reader.get(u64(i))).toEqual(valueFor(i, size(i)));
    expect(reader.stats().rangeRequests).toBeGreaterThan(5);
    await reader.close();
  });

  test("a stale sidecar (shard.db replaced) is ignored, not trusted", async () => {
    const other = new MemoryStore("range-stale");
    const old = await writeShard(other, 500, () => 64);
    const sidecarKey = shardObjectKey(other, old.dbUrl, "shard.sidecar");
    const oldSidecar = (await other.get(sidecarKey))!.body;
    await writeShard(other, 800, () => 100); // same URL: new shard.db and sidecar
    await other.put(sidecarKey, oldSidecar);
    const reader = await SqliteRangeReader.open({ store: other, dbUrl: old.dbUrl });
    expect(reader.info.sidecar).toMatch(/^stale: bound to "/);
    expect(await reader.get(u64(700))).toEqual(valueFor(700, 100));
    await reader.close();
  });

  test("a shard.db that is not a whole number of pages is refused at open", async () => {
    const other = new MemoryStore("range-trunc");
    const s = await writeShard(other, 300, () => 64);
    const key = shardObjectKey(other, s.dbUrl, "shard.db");
    await other.put(key, (await other.get(key))!.body.subarray(0, 5000));
    await expect(SqliteRangeReader.open({ store: other, dbUrl: s.dbUrl, useSidecar: false })).rejects.toThrow(
      /not a whole number of 4096-byte pages/,
    );
  });

  test("on MinIO, cold gets stay within 2 range requests", async () => {
    const { store: s3, prefixUrl } = minioFixture.open();
    const writer = await SqliteShardWriter.create({
      store: s3,
      dbUrl: attemptUrl(prefixUrl),
      localDir: tempDir("m"),
    });
    for (let i = 0; i < 3000; i++) writer.put(u64(i), valueFor(i, size(i)));
    const result = await writer.finish();
    const reader = await SqliteRangeReader.open({ store: s3, dbUrl: result.dbUrl });
    expect(reader.info.sidecar).toBe("used");
    for (const i of [1, 10, 333, 1500, 2999]) {
      reader.resetStats();
      expect(await reader.get(u64(i))).toEqual(valueFor(i, size(i)));
      expect(reader.stats().rangeRequests).toBeLessThanOrEqual(2);
    }
    await reader.close();
  });
});

describe("adaptive access mode", () => {
  const MiB = 1024 * 1024;
  test("range when one shard reaches 16 MiB or all reach 2 GiB, else download", () => {
    expect(decideAccessMode([{ dbBytes: 16 * MiB - 1 }, { dbBytes: 1 }])).toBe("download");
    expect(decideAccessMode([{ dbBytes: 1 }, { dbBytes: 16 * MiB }])).toBe("range");
    expect(decideAccessMode(Array.from({ length: 128 }, () => ({ dbBytes: 16 * MiB - 1 })))).toBe("download");
    expect(decideAccessMode(Array.from({ length: 129 }, () => ({ dbBytes: 16 * MiB - 1 })))).toBe("range");
    expect(decideAccessMode([])).toBe("download");
    expect(decideAccessMode([{ dbBytes: 100 }], { perShardThreshold: 100 })).toBe("range");
    expect(decideAccessMode([{ dbBytes: 60 }, { dbBytes: 60 }], { totalBudget: 100 })).toBe("range");
  });

  test("the factory opens the chosen reader; the mode can be forced", async () => {
    const store = new MemoryStore("adaptive");
    const shard = await writeShard(store, 50, () => 64);
    const ref = {
      dbId: 0,
      dbUrl: shard.dbUrl,
      dbBytes: shard.dbBytes,
      checksum: shard.checksum,
      checkpointId: "a",
    };
    const auto = new SqliteReaderFactory({ store, localRoot: tempDir("c") }, [ref]);
    expect(auto.mode).toBe("download");
    const dl = await auto.open(ref);
    expect(dl).toBeInstanceOf(SqliteDownloadReader);
    expect(await dl.get(u64(7))).toEqual(valueFor(7));
    await dl.close();
    const low = new SqliteReaderFactory({ store, perShardThreshold: 1024 }, [ref]);
    expect(low.mode).toBe("range");
    const forced = new SqliteReaderFactory({ store, mode: "range" }, [ref]);
    const rr = await forced.open(ref);
    expect(rr).toBeInstanceOf(SqliteRangeReader);
    expect(await rr.get(u64(7))).toEqual(valueFor(7));
    await rr.close();
    expect(() => new SqliteReaderFactory({ store, mode: "download" }, [ref])).toThrow(ConfigValidationError);
    expect(() => new SqliteReaderFactory({ store, mode: "fast" as "range" }, [ref])).toThrow(/"fast"/);
  });
});
