/**
 * The conformance suite every `ObjectStore` driver passes (Hono's `runTest` style):
 *   storeContract("file", () => new FileStore(dir));
 * Each test works under its own random prefix, so drivers may share one bucket or root.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { ConfigValidationError, ObjectStoreError, PreconditionFailedError } from "@shardy/errors";
import type { ObjectStore } from "../src/index.ts";

export interface StoreContractOptions {
  /** The store can hold `a/b` and `a/b/c` at once (S3, memory: yes; a file tree: no). */
  keyAndChildren?: boolean;
  /** Objects created by the pagination test; S3 pages at 1000, so > 1000 crosses a page. */
  paginationKeys?: number;
  /** Size of the streamed upload test; should span several multipart parts. */
  streamBytes?: number;
  /** Per-test timeout for the heavy tests, ms. */
  heavyTimeoutMs?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function bytes(text: string): Uint8Array {
  return enc.encode(text);
}

/** Deterministic pseudo-random bytes (xorshift32), so streamed content is checkable. */
export function patternBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

/** UTF-8 byte order, computed independently of the store's own comparator. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

async function* oneChunk(chunk: Uint8Array): AsyncGenerator<Uint8Array> {
  yield chunk;
}

/** A stream that yields `first`, then never ends (until cancelled). */
function stallingStream(first: Uint8Array): { stream: ReadableStream<Uint8Array>; pulled: Promise<void> } {
  let markPulled!: () => void;
  const pulled = new Promise<void>((resolve) => {
    markPulled = resolve;
  });
  let sent = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(first);
        return;
      }
      markPulled();
      return new Promise<void>(() => {}); // stalls forever
    },
  });
  return { stream, pulled };
}

export function storeContract(
  name: string,
  newStore: () => ObjectStore | Promise<ObjectStore>,
  options: StoreContractOptions = {},
): void {
  const keyAndChildren = options.keyAndChildren ?? true;
  const paginationKeys = options.paginationKeys ?? 1100;
  const streamBytes = options.streamBytes ?? 12 * 1024 * 1024;
  const heavy = options.heavyTimeoutMs ?? 120_000;

  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    const root = `contract-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    let n = 0;
    /** A fresh prefix per test. */
    const fresh = () => `${root}/t${++n}`;

    beforeAll(async () => {
      store = await newStore();
    });

    afterAll(async () => {
      if (!store) return;
      await store.deletePrefix(root);
      await store.close?.();
    });

    test("describes itself", () => {
      expect(store.baseUrl).toMatch(/^(s3|file|memory):\/\/./);
      expect(typeof store.capabilities.conditionalPut).toBe("boolean");
      expect(typeof store.capabilities.multipart).toBe("boolean");
    });

    test("missing keys: get/head undefined, getRange throws, delete is a no-op", async () => {
      const key = `${fresh()}/missing`;
      expect(await store.get(key)).toBeUndefined();
      expect(await store.head(key)).toBeUndefined();
      const err = await rejection(store.getRange(key, { start: 0, end: 4 }));
      expect(err).toBeInstanceOf(ObjectStoreError);
      expect(String((err as Error).message)).toContain("missing");
      await store.delete(key);
      expect(await store.head(key)).toBeUndefined();
    });

    test("put then get, head and list agree on size and etag", async () => {
      const p = fresh();
      const body = bytes("hello, shardy");
      const put = await store.put(`${p}/obj`, body, { contentType: "text/plain" });
      expect(put.etag.length).toBeGreaterThan(0);
      const got = await store.get(`${p}/obj`);
      expect(got).toBeDefined();
      expect(dec.decode(got!.body)).toBe("hello, shardy");
      expect(got!.key).toBe(`${p}/obj`);
      expect(got!.size).toBe(body.length);
      expect(got!.etag).toBe(put.etag);
      expect(got!.lastModified).toBeInstanceOf(Date);
      expect(Number.isNaN(got!.lastModified.getTime())).toBe(false);
      const head = await store.head(`${p}/obj`);
      expect(head).toMatchObject({ key: `${p}/obj`, size: body.length, etag: put.etag });
      const listed = await store.list(`${p}/`);
      expect(listed.objects.map((o) => [o.key, o.size, o.etag])).toEqual([
        [`${p}/obj`, body.length, put.etag],
      ]);
    });

    test("stored bytes do not alias the caller's buffer", async () => {
      const p = fresh();
      const body = bytes("abcdef");
      await store.put(`${p}/obj`, body);
      body[0] = 0x7a;
      const got = await store.get(`${p}/obj`);
      got!.body[1] = 0x7a;
      expect(dec.decode((await store.get(`${p}/obj`))!.body)).toBe("abcdef");
    });

    test("empty objects", async () => {
      const p = fresh();
      const put = await store.put(`${p}/empty`, new Uint8Array(0));
      const got = await store.get(`${p}/empty`);
      expect(got!.body.length).toBe(0);
      expect(got!.size).toBe(0);
      expect(got!.etag).toBe(put.etag);
      expect((await store.head(`${p}/empty`))!.size).toBe(0);
      expect((await store.getRange(`${p}/empty`, { start: 0, end: 10 })).length).toBe(0);
      expect((await store.list(`${p}/`)).objects.map((o) => o.size)).toEqual([0]);
    });

    test("etag changes with content and is stable without writes", async () => {
      const p = fresh();
      const first = await store.put(`${p}/obj`, bytes("version 1"));
      expect((await store.head(`${p}/obj`))!.etag).toBe(first.etag);
      expect((await store.head(`${p}/obj`))!.etag).toBe(first.etag);
      const second = await store.put(`${p}/obj`, bytes("version 2"));
      expect(second.etag).not.toBe(first.etag);
      expect((await store.head(`${p}/obj`))!.etag).toBe(second.etag);
      expect(dec.decode((await store.get(`${p}/obj`))!.body)).toBe("version 2");
    });

    test("ranges: inner, clamped, past the end, zero-length", async () => {
      const p = fresh();
      const data = patternBytes(100, 7);
      await store.put(`${p}/obj`, data);
      const range = (start: number, end: number) => store.getRange(`${p}/obj`, { start, end });
      expect(await range(10, 20)).toEqual(data.slice(10, 20));
      expect(await range(0, 100)).toEqual(data);
      expect(await range(0, 1)).toEqual(data.slice(0, 1));
      expect(await range(99, 100)).toEqual(data.slice(99, 100));
      expect(await range(90, 250)).toEqual(data.slice(90, 100)); // end clamped
      expect((await range(100, 110)).length).toBe(0); // starts at the end
      expect((await range(150, 160)).length).toBe(0); // starts past the end
      expect((await range(5, 5)).length).toBe(0); // zero-length
      expect((await range(20, 10)).length).toBe(0); // end before start
      expect(await rejection(range(-1, 4))).toBeInstanceOf(ConfigValidationError);
      expect(await rejection(range(0.5, 4))).toBeInstanceOf(ConfigValidationError);
    });

    test("ifNoneMatch '*' creates only when absent", async () => {
      const p = fresh();
      const created = await store.put(`${p}/once`, bytes("first"), { ifNoneMatch: "*" });
      expect(created.etag.length).toBeGreaterThan(0);
      const err = await rejection(store.put(`${p}/once`, bytes("second"), { ifNoneMatch: "*" }));
      expect(err).toBeInstanceOf(PreconditionFailedError);
      expect((err as PreconditionFailedError).key).toBe(`${p}/once`);
      expect(dec.decode((await store.get(`${p}/once`))!.body)).toBe("first");
      // After a delete the key can be created again.
      await store.delete(`${p}/once`);
      await store.put(`${p}/once`, bytes("third"), { ifNoneMatch: "*" });
      expect(dec.decode((await store.get(`${p}/once`))!.body)).toBe("third");
    });

    test("ifMatch swaps only the expected version", async () => {
      const p = fresh();
      const v1 = await store.put(`${p}/cas`, bytes("v1"));
      const v2 = await store.put(`${p}/cas`, bytes("v2"), { ifMatch: v1.etag });
      expect(v2.etag).not.toBe(v1.etag);
      const stale = await rejection(store.put(`${p}/cas`, bytes("v3"), { ifMatch: v1.etag }));
      expect(stale).toBeInstanceOf(PreconditionFailedError);
      expect(dec.decode((await store.get(`${p}/cas`))!.body)).toBe("v2");
      const missing = await rejection(store.put(`${p}/absent`, bytes("x"), { ifMatch: v1.etag }));
      expect(missing).toBeInstanceOf(PreconditionFailedError);
      expect(await store.head(`${p}/absent`)).toBeUndefined();
    });

    test("concurrent creators: exactly one of 8 wins", async () => {
      const p = fresh();
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.put(`${p}/race`, bytes(`writer ${i}`), { ifNoneMatch: "*" }),
        ),
      );
      const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
      expect(winners.length).toBe(1);
      for (const r of results) {
        if (r.status === "rejected") expect(r.reason).toBeInstanceOf(PreconditionFailedError);
      }
      expect(dec.decode((await store.get(`${p}/race`))!.body)).toBe(`writer ${winners[0]}`);
    });

    test("concurrent compare-and-swap: exactly one of 8 wins", async () => {
      const p = fresh();
      const base = await store.put(`${p}/cas`, bytes("base"));
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.put(`${p}/cas`, bytes(`swap ${i}`), { ifMatch: base.etag }),
        ),
      );
      const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
      expect(winners.length).toBe(1);
      for (const r of results) {
        if (r.status === "rejected") expect(r.reason).toBeInstanceOf(PreconditionFailedError);
      }
      expect(dec.decode((await store.get(`${p}/cas`))!.body)).toBe(`swap ${winners[0]}`);
    });

    test("list: sorted, recursive, plain string prefix", async () => {
      const p = fresh();
      const keys = [`${p}/a/x/y`, `${p}/a/z`, `${p}/a-1`, `${p}/ab`, `${p}/b`, `${p}/c/d/e/f`];
      for (const key of keys) await store.put(key, bytes(key));
      await store.put(`${fresh()}/outside`, bytes("no"));
      const all = await store.list(`${p}/`);
      expect(all.objects.map((o) => o.key)).toEqual([...keys].sort(byteOrder));
      expect(all.commonPrefixes).toEqual([]);
      for (const o of all.objects) expect(o.size).toBe(bytes(o.key).length);
      // A prefix need not end at a segment boundary.
      const partial = await store.list(`${p}/a`);
      expect(partial.objects.map((o) => o.key)).toEqual([`${p}/a-1`, `${p}/a/x/y`, `${p}/a/z`, `${p}/ab`]);
      expect((await store.list(`${p}/nothing-here/`)).objects).toEqual([]);
    });

    test("list with delimiter folds sub-directories into common prefixes", async () => {
      const p = fresh();
      for (const key of [`${p}/a/x/y`, `${p}/a/z`, `${p}/a-1`, `${p}/ab`, `${p}/b`, `${p}/c/d/e/f`]) {
        await store.put(key, bytes(key));
      }
      const top = await store.list(`${p}/`, { delimiter: "/" });
      expect(top.objects.map((o) => o.key)).toEqual([`${p}/a-1`, `${p}/ab`, `${p}/b`]);
      expect(top.commonPrefixes).toEqual([`${p}/a/`, `${p}/c/`]);
      const nested = await store.list(`${p}/a/`, { delimiter: "/" });
      expect(nested.objects.map((o) => o.key)).toEqual([`${p}/a/z`]);
      expect(nested.commonPrefixes).toEqual([`${p}/a/x/`]);
      const partial = await store.list(`${p}/a`, { delimiter: "/" });
      expect(partial.objects.map((o) => o.key)).toEqual([`${p}/a-1`, `${p}/ab`]);
      expect(partial.commonPrefixes).toEqual([`${p}/a/`]);
      const deep = await store.list(`${p}/c/d/`, { delimiter: "/" });
      expect(deep).toEqual({ objects: [], commonPrefixes: [`${p}/c/d/e/`] });
    });

    test("keys with '=', spaces, '+', '%' and unicode round-trip and list in byte order", async () => {
      const p = fresh();
      const names = [
        "run_id=abc/db=00000/attempt=00/shard.db",
        "with space/a b.txt",
        "plus+and%25percent",
        "unicode/é/日本語.txt",
        "emoji/😀.bin",
        "private/\ue000.bin",
        "tilde~and(paren)",
      ];
      for (const name of names) await store.put(`${p}/${name}`, bytes(name));
      for (const name of names) {
        expect(dec.decode((await store.get(`${p}/${name}`))!.body)).toBe(name);
        expect((await store.head(`${p}/${name}`))!.key).toBe(`${p}/${name}`);
      }
      const listed = await store.list(`${p}/`);
      expect(listed.objects.map((o) => o.key)).toEqual(names.map((k) => `${p}/${k}`).sort(byteOrder));
      const folded = await store.list(`${p}/`, { delimiter: "/" });
      expect(folded.commonPrefixes).toEqual(
        ["emoji/", "private/", "run_id=abc/", "unicode/", "with space/"]
          .map((k) => `${p}/${k}`)
          .sort(byteOrder),
      );
      expect(folded.objects.map((o) => o.key)).toEqual([`${p}/plus+and%25percent`, `${p}/tilde~and(paren)`]);
      expect((await store.list(`${p}/unicode/é/`)).objects.map((o) => o.key)).toEqual([
        `${p}/unicode/é/日本語.txt`,
      ]);
    });

    test(
      `pagination: ${paginationKeys} objects list completely and delete in batches`,
      async () => {
        const p = fresh();
        const keys = Array.from({ length: paginationKeys }, (_, i) => `${p}/k${String(i).padStart(5, "0")}`);
        const queue = [...keys];
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
              await store.put(key, bytes(key.slice(-3)));
            }
          }),
        );
        const listed = await store.list(`${p}/`);
        expect(listed.objects.length).toBe(paginationKeys);
        expect(listed.objects.map((o) => o.key)).toEqual(keys);
        const folded = await store.list(`${root}/`, { delimiter: "/" });
        expect(folded.commonPrefixes).toContain(`${p}/`);
        expect(await store.deletePrefix(p)).toBe(paginationKeys);
        expect((await store.list(`${p}/`)).objects).toEqual([]);
      },
      heavy,
    );

    test("deletePrefix deletes whole segments only", async () => {
      const p = fresh();
      const doomed = [`${p}/run-1/a`, `${p}/run-1/b/c`, `${p}/run-1/b/d/e`];
      const kept = [`${p}/run-10/a`, `${p}/run-1-x`, `${p}/run-1x/a`, `${p}/run-1.bak`, `${p}/run-2/a`];
      for (const key of [...doomed, ...kept]) await store.put(key, bytes(key));
      expect(await store.deletePrefix(`${p}/run-1`)).toBe(doomed.length);
      expect((await store.list(`${p}/`)).objects.map((o) => o.key)).toEqual([...kept].sort(byteOrder));
      // A trailing slash names the same segment; nothing left to delete.
      expect(await store.deletePrefix(`${p}/run-1/`)).toBe(0);
      expect(await store.deletePrefix(`${p}/run-2/`)).toBe(1);
      expect(await store.deletePrefix(`${p}/no-such-dir`)).toBe(0);
      expect((await store.list(`${p}/`)).objects.length).toBe(kept.length - 1);
    });

    test("deletePrefix on a key deletes that object, not its string-prefix siblings", async () => {
      const p = fresh();
      for (const key of [`${p}/obj`, `${p}/obj2`, `${p}/obj-x`, `${p}/obj.json`])
        await store.put(key, bytes(key));
      expect(await store.deletePrefix(`${p}/obj`)).toBe(1);
      expect((await store.list(`${p}/`)).objects.map((o) => o.key)).toEqual([
        `${p}/obj-x`,
        `${p}/obj.json`,
        `${p}/obj2`,
      ]);
    });

    if (keyAndChildren) {
      test("deletePrefix removes a key and the keys below it together", async () => {
        const p = fresh();
        for (const key of [`${p}/x`, `${p}/x/y`, `${p}/x/y/z`, `${p}/xy`]) await store.put(key, bytes(key));
        expect(await store.deletePrefix(`${p}/x`)).toBe(3);
        expect((await store.list(`${p}/`)).objects.map((o) => o.key)).toEqual([`${p}/xy`]);
      });
    }

    test("deletePrefix refuses an empty prefix", async () => {
      expect(await rejection(store.deletePrefix(""))).toBeInstanceOf(ConfigValidationError);
      expect(await rejection(store.deletePrefix("/"))).toBeInstanceOf(ConfigValidationError);
    });

    test("invalid keys are rejected with ConfigValidationError", async () => {
      expect(await rejection(store.put("", bytes("x")))).toBeInstanceOf(ConfigValidationError);
      expect(await rejection(store.get(""))).toBeInstanceOf(ConfigValidationError);
    });

    test(
      "putStream uploads a multi-part stream byte for byte",
      async () => {
        const p = fresh();
        const data = patternBytes(streamBytes, 42);
        // Irregular chunk sizes, so part boundaries never line up with chunk boundaries.
        let offset = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (offset >= data.length) {
              controller.close();
              return;
            }
            const size = 65_536 + ((offset / 7) % 40_000);
            controller.enqueue(data.slice(offset, offset + size));
            offset += size;
          },
        });
        const put = await store.putStream(`${p}/big.bin`, stream, {
          contentType: "application/octet-stream",
        });
        const head = await store.head(`${p}/big.bin`);
        expect(head!.size).toBe(streamBytes);
        expect(head!.etag).toBe(put.etag);
        const got = await store.get(`${p}/big.bin`);
        expect(got!.body.length).toBe(streamBytes);
        expect(sha256(got!.body)).toBe(sha256(data));
        const mid = Math.floor(streamBytes / 2);
        expect(await store.getRange(`${p}/big.bin`, { start: mid - 3, end: mid + 5 })).toEqual(
          data.slice(mid - 3, mid + 5),
        );
      },
      heavy,
    );

    test("putStream accepts async iterables and empty streams", async () => {
      const p = fresh();
      async function* parts() {
        yield bytes("alpha-");
        yield new Uint8Array(0);
        yield bytes("beta");
      }
      await store.putStream(`${p}/iter`, parts());
      expect(dec.decode((await store.get(`${p}/iter`))!.body)).toBe("alpha-beta");
      const empty = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.close();
        },
      });
      await store.putStream(`${p}/empty`, empty);
      expect((await store.head(`${p}/empty`))!.size).toBe(0);
      // putStream overwrites, and the new etag is what head reports.
      const again = await store.putStream(`${p}/iter`, parts());
      expect((await store.head(`${p}/iter`))!.etag).toBe(again.etag);
    });

    test("an aborted signal rejects every operation with AbortError and writes nothing", async () => {
      const p = fresh();
      await store.put(`${p}/exists`, bytes("x"));
      const controller = new AbortController();
      controller.abort();
      const signal = controller.signal;
      const calls: [string, Promise<unknown>][] = [
        ["get", store.get(`${p}/exists`, { signal })],
        ["head", store.head(`${p}/exists`, { signal })],
        ["getRange", store.getRange(`${p}/exists`, { start: 0, end: 1 }, { signal })],
        ["put", store.put(`${p}/new`, bytes("y"), { signal })],
        ["putStream", store.putStream(`${p}/streamed`, oneChunk(bytes("z")), { signal })],
        ["list", store.list(`${p}/`, { signal })],
        ["deletePrefix", store.deletePrefix(`${p}/exists`, { signal })],
      ];
      for (const [op, call] of calls) {
        const err = await rejection(call);
        expect([op, (err as Error).name]).toEqual([op, "AbortError"]);
      }
      expect(await store.head(`${p}/new`)).toBeUndefined();
      expect(await store.head(`${p}/streamed`)).toBeUndefined();
      expect(await store.head(`${p}/exists`)).toBeDefined();
    });

    test("aborting a stalled putStream rejects and leaves no object", async () => {
      const p = fresh();
      const controller = new AbortController();
      const { stream, pulled } = stallingStream(patternBytes(1024, 3));
      const upload = store.putStream(`${p}/stalled`, stream, { signal: controller.signal });
      await pulled;
      controller.abort();
      const err = await rejection(upload);
      expect((err as Error).name).toBe("AbortError");
      expect(await store.head(`${p}/stalled`)).toBeUndefined();
      expect((await store.list(`${p}/`)).objects).toEqual([]);
    });
  });
}
