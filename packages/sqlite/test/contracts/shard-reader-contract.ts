/**
 * `shardReaderContract(backend, store, ctx)`: what every shard reader guarantees over one shard
 * holding keys 0, 3, 6, ... (u64be) with a few values large enough to spill off a page.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ReaderStateError } from "@shardy/errors";
import type { ShardReader } from "../../src/index.ts";
import type { ContractContext, ContractStore, ShardBackend } from "./backend.ts";

function u64(i: number): Uint8Array {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setBigUint64(0, BigInt(i));
  return k;
}

function value(i: number): Uint8Array {
  const size = i % 300 === 0 ? 20_000 : 8 + (i % 50);
  const v = new Uint8Array(size);
  for (let j = 0; j < size; j++) v[j] = (i + j * 13) & 0xff;
  new DataView(v.buffer).setUint32(0, i);
  return v;
}

const ROWS = 2000;

export function shardReaderContract(backend: ShardBackend, where: ContractStore, ctx: ContractContext): void {
  describe(`shardReaderContract: ${backend.name} on ${where.name}`, () => {
    let reader: ShardReader;

    beforeAll(async () => {
      const { store, prefixUrl } = where.open();
      const writer = await backend.newWriter(
        store,
        `${prefixUrl}/shards/run_id=r/db=00003/attempt=00`,
        ctx.tempDir("rw"),
      );
      for (let i = 0; i < ROWS; i++) writer.put(u64(i * 3), value(i * 3));
      const result = await writer.finish();
      reader = await backend.openReader(store, result, ctx.tempDir("rr"));
    });

    afterAll(async () => {
      await reader?.close();
    });

    test("get returns stored values and undefined for absent keys", async () => {
      for (const i of [0, 3, 300, 2997, 5997]) expect(await reader.get(u64(i))).toEqual(value(i));
      for (const i of [1, 2, 5998, 1_000_000]) expect(await reader.get(u64(i))).toBeUndefined();
      expect(await reader.get(new Uint8Array([1, 2, 3]))).toBeUndefined();
      expect(await reader.get(new Uint8Array(0))).toBeUndefined();
    });

    test("multiGet answers in input order, with repeats and misses", async () => {
      const ids = [5997, 1, 0, 600, 600, 4, 3000, 2];
      const got = await reader.multiGet(ids.map(u64));
      expect(got.length).toBe(ids.length);
      for (const [j, id] of ids.entries())
        expect(got[j]).toEqual(id % 3 === 0 && id < ROWS * 3 ? value(id) : undefined);
      expect(await reader.multiGet([])).toEqual([]);
    });

    test("every key of the shard reads back (large multiGet)", async () => {
      const got = await reader.multiGet(Array.from({ length: ROWS }, (_, i) => u64(i * 3)));
      for (let i = 0; i < ROWS; i++) expect(got[i]).toEqual(value(i * 3));
    });

    test("concurrent gets do not interfere", async () => {
      const ids = Array.from({ length: 60 }, (_, j) => (j * 97) % ROWS);
      const got = await Promise.all(ids.map((i) => reader.get(u64(i * 3))));
      for (const [j, i] of ids.entries()) expect(got[j]).toEqual(value(i * 3));
    });

    test("a closed reader refuses with ReaderStateError", async () => {
      const { store, prefixUrl } = where.open();
      const writer = await backend.newWriter(
        store,
        `${prefixUrl}/shards/run_id=c/db=00000/attempt=00`,
        ctx.tempDir("rw"),
      );
      writer.put(u64(1), value(1));
      const closing = await backend.openReader(store, await writer.finish(), ctx.tempDir("rr"));
      expect(await closing.get(u64(1))).toEqual(value(1));
      await closing.close();
      await closing.close(); // idempotent
      await expect(closing.get(u64(1))).rejects.toThrow(ReaderStateError);
    });
  });
}
