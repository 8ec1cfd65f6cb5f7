import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { ConfigValidationError } from "@shardy/errors";
import { FaultyStore, MemoryStore } from "@shardy/store";
import { createLocalSlateDbShardWriter, openSlateDbReader } from "../src/index.ts";
import { enc, hex, listFiles, randomBytes, rng, tempDir, u64be } from "./helpers.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function scratch(): Promise<string> {
  const d = await tempDir("local");
  cleanups.push(d.cleanup);
  return d.path;
}

async function readAll(store: MemoryStore, dbPrefix: string, checkpointId: string) {
  const r = await openSlateDbReader({ store, dbPrefix, checkpointId });
  const out = new Map<string, string>();
  for await (const [k, v] of r.scan()) out.set(hex(k), hex(v));
  return out;
}

describe("local writer", () => {
  test("builds in the local directory, uploads on close (manifest last), then removes the local copy", async () => {
    const localDir = `${await scratch()}/attempt`;
    const store = new MemoryStore("local-sorted");
    const w = createLocalSlateDbShardWriter({ store, dbPrefix: "db", localDir, sstTargetBytes: 32 * 1024 });
    const rows = Array.from(
      { length: 5000 },
      (_, i) => [u64be(BigInt(i)), enc.encode(`value ${i}`)] as const,
    );
    await w.writeBatch(rows);
    const res = await w.seal();
    expect(res.duplicateCount).toBe(0);
    const local = listFiles(`${localDir}/db`);
    expect(local.filter((f) => f.startsWith("compacted/")).length).toBe(res.sstCount);
    expect(local).toContain("manifest/00000000000000000001.manifest");
    expect((await store.list("db/")).objects).toEqual([]);
    await w.close();
    const remote = (await store.list("db/")).objects;
    expect(remote.map((o) => o.key.slice(3)).sort()).toEqual(local);
    expect(remote.reduce((n, o) => n + o.size, 0)).toBe(res.dbBytes);
    expect(existsSync(localDir)).toBe(false);
    const all = await readAll(store, "db", res.checkpointId);
    expect(all.size).toBe(5000);
    expect(all.get(hex(u64be(4321n)))).toBe(hex(enc.encode("value 4321")));
  });

  test('inputOrder "any": rows are sorted through spilled runs; the last put of a key wins', async () => {
    const localDir = `${await scratch()}/attempt`;
    const store = new MemoryStore("local-any");
    const w = createLocalSlateDbShardWriter({
      store,
      dbPrefix: "db",
      localDir,
      inputOrder: "any",
      sortBufferBytes: 64 * 1024,
    });
    const next = rng(17);
    const model = new Map<string, string>();
    let puts = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = u64be(BigInt(Math.floor(next() * 8000)));
      const value = randomBytes(next, Math.floor(next() * 20));
      await w.put(key, value);
      model.set(hex(key), hex(value));
      puts++;
    }
    const res = await w.seal();
    expect(res.rowCount).toBe(model.size);
    expect(res.duplicateCount).toBe(puts - model.size);
    await w.close();
    const all = await readAll(store, "db", res.checkpointId);
    expect([...all.entries()]).toEqual([...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  });

  test('inputOrder "any" still rejects empty and oversized keys, naming the input row', async () => {
    const w = createLocalSlateDbShardWriter({
      store: new MemoryStore("local-bad"),
      dbPrefix: "db",
      localDir: `${await scratch()}/attempt`,
      inputOrder: "any",
    });
    await w.put(enc.encode("b"), enc.encode("1"));
    await w.put(enc.encode("a"), enc.encode("2"));
    const err = await w.put(new Uint8Array(0), enc.encode("3")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as Error).message).toMatch(/^row 2: empty key/);
    await expect(w.put(enc.encode("c"), enc.encode("4"))).rejects.toThrow(/failed earlier/);
    await w.close();
    const w2 = createLocalSlateDbShardWriter({
      store: new MemoryStore("local-bad-2"),
      dbPrefix: "db",
      localDir: `${await scratch()}/attempt`,
      inputOrder: "any",
    });
    await w2.put(enc.encode("b"), enc.encode("1"));
    await expect(w2.put(new Uint8Array(70_000), enc.encode("2"))).rejects.toThrow(
      /^row 1: key of 70000 bytes/,
    );
    await w2.close();
  });

  test("a failed upload is retried by closing again; a lost manifest response is not a conflict", async () => {
    const localDir = `${await scratch()}/attempt`;
    const inner = new MemoryStore("local-faulty");
    const store = new FaultyStore(inner, {
      rules: [
        { op: "putStream", nth: 2, action: { type: "fail" } },
        { op: "put", keyPrefix: "db/manifest/", nth: 1, action: { type: "loseResponse" } },
      ],
    });
    const w = createLocalSlateDbShardWriter({ store, dbPrefix: "db", localDir, sstTargetBytes: 16 * 1024 });
    await w.writeBatch(
      Array.from({ length: 3000 }, (_, i) => [u64be(BigInt(i)), new Uint8Array(20)] as const),
    );
    const res = await w.seal();
    await expect(w.close()).rejects.toThrow();
    expect((await inner.list("db/manifest/")).objects).toEqual([]);
    // Second close: uploads again; the manifest lands but its response is lost.
    await expect(w.close()).rejects.toThrow();
    expect((await inner.list("db/manifest/")).objects.length).toBe(1);
    // Third close: the manifest already holds these exact bytes, so the commit succeeds.
    await w.close();
    expect(existsSync(localDir)).toBe(false);
    expect((await readAll(inner, "db", res.checkpointId)).size).toBe(3000);
  });

  test("closing before seal removes the local directory and uploads nothing", async () => {
    const localDir = `${await scratch()}/attempt`;
    const store = new MemoryStore("local-abort");
    const w = createLocalSlateDbShardWriter({ store, dbPrefix: "db", localDir, sstTargetBytes: 4096 });
    await w.writeBatch(
      Array.from({ length: 2000 }, (_, i) => [u64be(BigInt(i)), new Uint8Array(20)] as const),
    );
    expect(existsSync(localDir)).toBe(true);
    await w.close();
    expect(existsSync(localDir)).toBe(false);
    expect((await store.list("")).objects).toEqual([]);
  });
});
