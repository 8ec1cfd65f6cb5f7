/**
 * Refresh under load: reads in flight keep the snapshot they started on (its shard readers stay
 * open until they finish), a refresh overtaken by a later one is discarded, shards open lazily
 * when asked to, multiGet respects its concurrency cap, and shard failures are typed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { DbAdapterError } from "@shardy/errors";
import {
  defaultFactoryProvider,
  ShardedReader,
  type ShardReader,
  type ShardReaderFactoryProvider,
} from "../src/index.ts";
import { fileStores, numberedRows, tempDir, text, writeSnapshot } from "./helpers/snapshots.ts";

const stores = fileStores();
afterAll(() => stores.cleanup());

/** A promise plus its resolver. */
function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Waits (bounded) until `cond` holds; used for asynchronous closes, never to measure time. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await Bun.sleep(2);
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

interface Instrumented {
  provider: ShardReaderFactoryProvider;
  closed: string[];
  opened: string[];
  /** Reads of this run wait for this promise (when set). */
  holdReads: Map<string, Promise<void>>;
  /** Factory creation for this run waits for this promise (when set). */
  holdFactory: Map<string, Promise<void>>;
  inFlight: { now: number; max: number };
  failOpen: Set<number>;
  failRead: Set<number>;
}

function instrumented(localRoot: string): Instrumented {
  const inner = defaultFactoryProvider({ sqlite: { localRoot } });
  const t: Instrumented = {
    closed: [],
    opened: [],
    holdReads: new Map(),
    holdFactory: new Map(),
    inFlight: { now: 0, max: 0 },
    failOpen: new Set(),
    failRead: new Set(),
    provider: async (ctx) => {
      const run = ctx.manifest.build.runId;
      await t.holdFactory.get(run);
      const factory = await inner(ctx);
      return {
        description: factory.description,
        open: async (shard, signal) => {
          if (t.failOpen.has(shard.dbId)) throw new Error(`injected open failure for ${shard.dbId}`);
          const reader = await factory.open(shard, signal);
          t.opened.push(`${run}:${shard.dbId}`);
          const wrapped: ShardReader = {
            get: async (key) => {
              await t.holdReads.get(run);
              return reader.get(key);
            },
            multiGet: async (keys) => {
              t.inFlight.now++;
              t.inFlight.max = Math.max(t.inFlight.max, t.inFlight.now);
              try {
                await t.holdReads.get(run);
                await Bun.sleep(1);
                if (t.failRead.has(shard.dbId)) throw new Error("injected read failure");
                return await reader.multiGet(keys);
              } finally {
                t.inFlight.now--;
              }
            },
            close: async () => {
              t.closed.push(`${run}:${shard.dbId}`);
              await reader.close();
            },
          };
          return wrapped;
        },
      };
    },
  };
  return t;
}

describe("ShardedReader refresh under concurrent reads", () => {
  test("in-flight get and multiGet finish on the old snapshot; its shards close only afterwards", async () => {
    const { store, prefix } = stores.open();
    await writeSnapshot(store, prefix, { runId: "old", numDbs: 4, rows: numberedRows(32, "old") });
    const t = instrumented(tempDir());
    const reader = await ShardedReader.open({ store, prefix, readerFactory: t.provider });
    try {
      const hold = gate();
      t.holdReads.set("old", hold.promise);
      const pendingGet = reader.get(7n);
      const allKeys = numberedRows(32, "").map(([k]) => k);
      const pendingMulti = reader.multiGet(allKeys);

      await writeSnapshot(store, prefix, { runId: "new", numDbs: 4, rows: numberedRows(32, "new") });
      expect(await reader.refresh()).toBe(true);
      // New reads see the new snapshot at once, while the old reads are still blocked.
      expect(text(await reader.get(7n))).toBe("new-7");
      expect(t.closed.filter((c) => c.startsWith("old:"))).toEqual([]);

      hold.open();
      expect(text(await pendingGet)).toBe("old-7");
      const multi = (await pendingMulti).map(text);
      expect(multi).toEqual(allKeys.map((k) => `old-${k}`));
      await until(() => t.closed.filter((c) => c.startsWith("old:")).length === 4, "old shards to close");
      expect(t.closed.filter((c) => c.startsWith("new:"))).toEqual([]);
    } finally {
      await reader.close();
    }
    expect(t.closed.filter((c) => c.startsWith("new:")).length).toBe(4);
  });

  test("a refresh overtaken by a later one is discarded and its shards closed", async () => {
    const { store, prefix } = stores.open();
    await writeSnapshot(store, prefix, { runId: "s1", numDbs: 2, rows: numberedRows(8, "s1") });
    const t = instrumented(tempDir());
    const reader = await ShardedReader.open({ store, prefix, readerFactory: t.provider });
    try {
      await writeSnapshot(store, prefix, { runId: "s2", numDbs: 2, rows: numberedRows(8, "s2") });
      const hold = gate();
      t.holdFactory.set("s2", hold.promise);
      const slow = reader.refresh();
      await writeSnapshot(store, prefix, { runId: "s3", numDbs: 2, rows: numberedRows(8, "s3") });
      expect(await reader.refresh()).toBe(true);
      expect(text(await reader.get(1n))).toBe("s3-1");
      hold.open();
      expect(await slow).toBe(false);
      expect(text(await reader.get(1n))).toBe("s3-1");
      expect(reader.snapshotInfo().runId).toBe("s3");
      await until(
        () => t.closed.filter((c) => c.startsWith("s2:")).length === 2,
        "discarded shards to close",
      );
      await until(() => t.closed.filter((c) => c.startsWith("s1:")).length === 2, "old shards to close");
    } finally {
      await reader.close();
    }
  });

  test("lazy opening opens a shard on its first read only", async () => {
    const { store, prefix } = stores.open();
    const { manifest } = await writeSnapshot(store, prefix, {
      runId: "lazy",
      numDbs: 4,
      rows: numberedRows(16, "z"),
    });
    const t = instrumented(tempDir());
    const reader = await ShardedReader.open({ store, prefix, readerFactory: t.provider, openShards: "lazy" });
    try {
      expect(t.opened).toEqual([]);
      expect(text(await reader.get(3n))).toBe("z-3");
      expect(t.opened.length).toBe(1);
      await reader.multiGet(numberedRows(16, "").map(([k]) => k));
      expect(new Set(t.opened).size).toBe(manifest.shards.length);
      expect(t.opened.length).toBe(manifest.shards.length);
    } finally {
      await reader.close();
    }
    expect(t.closed.length).toBe(manifest.shards.length);
  });

  test("multiGet queries at most maxConcurrency shards at once", async () => {
    const { store, prefix } = stores.open();
    await writeSnapshot(store, prefix, { runId: "cap", numDbs: 8, rows: numberedRows(64, "c") });
    const t = instrumented(tempDir());
    const reader = await ShardedReader.open({ store, prefix, readerFactory: t.provider, maxConcurrency: 2 });
    try {
      const keys = numberedRows(64, "").map(([k]) => k);
      const values = (await reader.multiGet(keys)).map(text);
      expect(values).toEqual(keys.map((k) => `c-${k}`));
      expect(t.inFlight.max).toBe(2);
    } finally {
      await reader.close();
    }
  });

  test("shard failures are typed: open failure at eager open closes the opened shards; read failure names the shard", async () => {
    const { store, prefix } = stores.open();
    const { manifest } = await writeSnapshot(store, prefix, {
      runId: "fail",
      numDbs: 4,
      rows: numberedRows(16, "f"),
    });
    const t = instrumented(tempDir());
    const victim = manifest.shards[1]!.dbId;
    t.failOpen.add(victim);
    const err = await ShardedReader.open({
      store,
      prefix,
      readerFactory: t.provider,
      maxConcurrency: 1,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DbAdapterError);
    expect(String(err.message)).toContain(`db_id=${victim}`);
    expect(t.closed.sort()).toEqual(t.opened.sort());

    t.failOpen.clear();
    t.failRead.add(victim);
    const reader = await ShardedReader.open({ store, prefix, readerFactory: t.provider });
    try {
      const readErr = await reader.multiGet(numberedRows(16, "").map(([k]) => k)).catch((e) => e);
      expect(readErr).toBeInstanceOf(DbAdapterError);
      expect(String(readErr.message)).toContain(`Read failed for shard db_id=${victim}`);
    } finally {
      await reader.close();
    }
  });
});
