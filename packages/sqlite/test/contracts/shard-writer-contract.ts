/**
 * `shardWriterContract(backend, store, ctx)`: what every shard writer guarantees, checked through
 * the backend's own reader. Hono-style: a backend's test file calls it in one line per store.
 */
import { describe, expect, test } from "bun:test";
import type { ShardWriteResult } from "../../src/index.ts";
import type { ContractContext, ContractStore, ShardBackend } from "./backend.ts";

const enc = new TextEncoder();

function u64(i: number): Uint8Array {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setBigUint64(0, BigInt(i));
  return k;
}

function value(i: number, size: number): Uint8Array {
  const v = new Uint8Array(size);
  for (let j = 0; j < size; j++) v[j] = (i * 31 + j * 7) & 0xff;
  if (size >= 4) new DataView(v.buffer).setUint32(0, i);
  return v;
}

function attempt(prefixUrl: string, label: string): string {
  return `${prefixUrl}/shards/run_id=${label}/db=00000/attempt=00`;
}

export function shardWriterContract(backend: ShardBackend, where: ContractStore, ctx: ContractContext): void {
  describe(`shardWriterContract: ${backend.name} on ${where.name}`, () => {
    test("every put is readable, in any input order, and the result describes the shard", async () => {
      const { store, prefixUrl } = where.open();
      const dbUrl = attempt(prefixUrl, "all");
      const writer = await backend.newWriter(store, dbUrl, ctx.tempDir("cw"));
      const n = 1500;
      // A permutation of 0..n-1 (7 is coprime with 1500).
      for (let j = 0; j < n; j++) {
        const i = (j * 7) % n;
        writer.put(u64(i * 2), value(i, i % 97 === 0 ? 6000 : 48));
      }
      const result: ShardWriteResult = await writer.finish();
      expect(result.dbUrl).toBe(dbUrl);
      expect(result.rowCount).toBe(n);
      expect(result.duplicateCount).toBe(0);
      expect(result.dbBytes).toBeGreaterThan(0);
      expect(result.minKey).toEqual(u64(0));
      expect(result.maxKey).toEqual(u64((n - 1) * 2));
      const reader = await backend.openReader(store, result, ctx.tempDir("cr"));
      try {
        const keys = Array.from({ length: n }, (_, i) => u64(i * 2));
        const got = await reader.multiGet(keys);
        for (let i = 0; i < n; i++) expect(got[i]).toEqual(value(i, i % 97 === 0 ? 6000 : 48));
        expect(await reader.get(u64(1))).toBeUndefined();
      } finally {
        await reader.close();
      }
    });

    test("duplicate keys: last put wins, replaced puts are counted", async () => {
      const { store, prefixUrl } = where.open();
      const writer = await backend.newWriter(store, attempt(prefixUrl, "dups"), ctx.tempDir("cw"));
      for (let round = 0; round < 4; round++)
        for (let i = 0; i < 50; i++) writer.put(u64(i), value(i * 4 + round, 16));
      const result = await writer.finish();
      expect(result.rowCount).toBe(50);
      expect(result.duplicateCount).toBe(150);
      const reader = await backend.openReader(store, result, ctx.tempDir("cr"));
      try {
        for (const i of [0, 17, 49]) expect(await reader.get(u64(i))).toEqual(value(i * 4 + 3, 16));
      } finally {
        await reader.close();
      }
    });

    test("binary keys of any length, and empty values, round-trip", async () => {
      const { store, prefixUrl } = where.open();
      const writer = await backend.newWriter(store, attempt(prefixUrl, "bin"), ctx.tempDir("cw"));
      const keys = [
        new Uint8Array(0),
        new Uint8Array([0]),
        new Uint8Array([0, 0]),
        new Uint8Array([0xff]),
        enc.encode("é"),
      ];
      for (const [i, k] of keys.entries()) writer.put(k, i === 2 ? new Uint8Array(0) : value(i, 5));
      const result = await writer.finish();
      expect(result.rowCount).toBe(keys.length);
      expect(result.minKey).toEqual(new Uint8Array(0));
      expect(result.maxKey).toEqual(new Uint8Array([0xff]));
      const reader = await backend.openReader(store, result, ctx.tempDir("cr"));
      try {
        const got = await reader.multiGet(keys);
        for (let i = 0; i < keys.length; i++)
          expect(got[i]).toEqual(i === 2 ? new Uint8Array(0) : value(i, 5));
        expect(await reader.get(new Uint8Array([0, 0, 0]))).toBeUndefined();
      } finally {
        await reader.close();
      }
    });

    test("abort leaves nothing in the store under the attempt", async () => {
      const { store, prefixUrl } = where.open();
      const dbUrl = attempt(prefixUrl, "abort");
      const writer = await backend.newWriter(store, dbUrl, ctx.tempDir("cw"));
      writer.put(u64(1), value(1, 8));
      await writer.finish();
      await writer.abort();
      const prefix = dbUrl.slice(store.baseUrl.length + 1);
      expect((await store.list(prefix)).objects).toEqual([]);
    });
  });
}
