/**
 * The shared-read path: with Arrow IPC files and hash routing every writer thread reads the input
 * itself and keeps only the shards it owns (`owned-read.ts`).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { currentPointerKeyFor } from "@shardy/core";
import { getKernel } from "@shardy/kernel";
import { FileStore } from "@shardy/store";
import { Binary, Int64, type RecordBatch, Table, tableToIPC, vectorFromArray } from "apache-arrow";
import { buildSnapshot, createWriteLimiters, groupByShard, ShardHost, ValueSpec } from "../src/index.ts";
import { ownedShards, readOwnedRows } from "../src/owned-read.ts";
import {
  expectKeysInPredictedShards,
  flakyOnceAdapters,
  inspectSnapshot,
  readRunRecords,
  removeTempDirs,
  tempDir,
  u64,
} from "./helpers.ts";

afterAll(removeTempDirs);

const SQLITE = { kind: "sqlite" } as const;
const enc = new TextEncoder();

function table(from: number, n: number): Table {
  return new Table({
    id: vectorFromArray(
      Array.from({ length: n }, (_, i) => BigInt(from + i)),
      new Int64(),
    ),
    value: vectorFromArray(
      Array.from({ length: n }, (_, i) => enc.encode(`value-${from + i}`)),
      new Binary(),
    ),
  });
}

/** Two Arrow IPC files of `perFile` rows each (keys 0..2*perFile-1). */
function arrowFiles(dir: string, perFile: number): string[] {
  return [0, 1].map((f) => {
    const file = join(dir, `part-${f}.arrow`);
    writeFileSync(file, tableToIPC(table(f * perFile, perFile), "file"));
    return file;
  });
}

describe("owned read (every thread reads the input, keeps its shards)", () => {
  test("groupByShard with a subset order keeps exactly the rows of those shards", () => {
    const batch = table(0, 40).batches[0]! as RecordBatch;
    const ids = Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 5);
    const order = ownedShards(5, 2, 1);
    expect(order).toEqual([1, 3]);
    const grouped = groupByShard(batch, ids, 5, order);
    expect(Array.from(grouped.counts)).toEqual([8, 8, 8, 8, 8]);
    expect(grouped.ranges.map((r) => r.dbId)).toEqual([1, 3]);
    expect(grouped.batch.numRows).toBe(16);
    for (const r of grouped.ranges) {
      const keys = Array.from({ length: r.end - r.start }, (_, i) =>
        Number(grouped.batch.getChild("id")!.get(r.start + i)),
      );
      expect(keys.every((k) => ids[k] === r.dbId)).toBe(true);
      expect(keys).toEqual([...keys].sort((a, b) => a - b));
    }
  });

  test("rows written by the workers and the calling thread land in exactly their shard", async () => {
    const dir = tempDir("owned");
    const files = arrowFiles(dir, 700);
    const out = join(dir, "snap");
    const result = await buildSnapshot({
      inputs: files,
      config: { s3_prefix: `file://${out}`, num_dbs: 7, key_encoding: "u64be", adapter_factory: SQLITE },
      input: { key_col: "id", value_spec: ValueSpec.binaryCol("value") },
      workers: 3,
      batchRows: 100,
    });
    expect(result.stats.rowsRead).toBe(1400);
    expect(result.stats.rowsWritten).toBe(1400);
    expect(result.winners.length).toBe(7);
    const view = await inspectSnapshot(new FileStore(out), "");
    const keys = Array.from({ length: 1400 }, (_, i) => BigInt(i));
    await expectKeysInPredictedShards(view, keys, (k) => u64(k as bigint));
    let stored = 0;
    for (const pairs of view.shards.values()) {
      stored += pairs.size;
      for (const [hex, value] of pairs) {
        expect(new TextDecoder().decode(value)).toBe(`value-${BigInt(`0x${hex}`)}`);
      }
    }
    expect(stored).toBe(1400);
  });

  test("a failed live attempt of an owned shard is retried from the spool with the same rows", async () => {
    const dir = tempDir("owned-retry");
    const files = arrowFiles(dir, 300);
    const store = new FileStore(join(dir, "store"));
    const { factory: flaky, failures } = flakyOnceAdapters(3);
    const kernel = await getKernel();
    const host = new ShardHost({
      target: {
        store,
        s3Prefix: `${store.baseUrl}`,
        runId: "r1",
        shardPrefix: "shards",
        dbPathTemplate: "db={db_id:05d}",
        localRoot: join(dir, "local"),
      },
      keyCol: "id",
      valueSpec: ValueSpec.binaryCol("value"),
      keyEncoding: "u64be",
      batchSize: 16,
      adapters: flaky,
      kernel,
      limiters: createWriteLimiters({ max_writes_per_second: null, max_write_bytes_per_second: null }),
      retry: { max_retries: 1, initial_backoff_ms: 0, backoff_multiplier: 1 },
    });
    // Thread 1 of 2 over 6 shards owns 1, 3, 5.
    const plan = { files, columns: ["id", "value"], batchRows: 64, numDbs: 6, threads: 2, thread: 1 };
    const rows = await readOwnedRows(plan, { keyCol: "id", keyEncoding: "u64be", kernel, host });
    expect(rows).toBe(600);
    const results = await host.finishAll();
    expect(failures()).toBeGreaterThan(0);
    expect(results.map((r) => r.dbId)).toEqual([1, 3, 5]);
    expect(results.find((r) => r.dbId === 3)!.attempt).toBe(1);
    const want = (d: number) =>
      Array.from({ length: 600 }, (_, i) => i).filter((k) => kernel.routeKey(BigInt(k), 6) === d).length;
    for (const r of results) expect(r.rowCount).toBe(want(r.dbId));
  });

  for (const when of ["reading", "writing"] as const) {
    test(`an abort while ${when} publishes nothing, removes the run's shards and does not hang`, async () => {
      const dir = tempDir(`owned-abort-${when}`);
      const files = arrowFiles(dir, 3000);
      const out = join(dir, "snap");
      const controller = new AbortController();
      const cancel = () => controller.abort(new Error("user cancelled"));
      const err = await buildSnapshot({
        inputs: files,
        config: { s3_prefix: `file://${out}`, num_dbs: 4, adapter_factory: SQLITE },
        input: { key_col: "id", value_spec: ValueSpec.binaryCol("value") },
        workers: 2,
        batchRows: 100,
        signal: controller.signal,
        // The first shard attempt starts with the first rows read; "writing" begins when reading ends.
        onEvent: (e) => {
          if (when === "reading" && e.event === "write.shard.started") cancel();
        },
        onProgress: (p) => {
          if (when === "writing" && p.phase === "writing") cancel();
        },
      }).catch((e) => e);
      expect((err as Error).message).toContain("user cancelled");
      const store = new FileStore(out);
      expect(await store.get(currentPointerKeyFor(""))).toBeUndefined();
      expect((await store.list("shards/")).objects).toEqual([]);
      expect((await readRunRecords(store, "")).map((r) => r.status)).toEqual(["failed"]);
    });
  }
});
