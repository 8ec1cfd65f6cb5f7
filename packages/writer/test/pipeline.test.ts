import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { currentPointerKeyFor } from "@shardy/core";
import { PublishCurrentError } from "@shardy/errors";
import { FileStore } from "@shardy/store";
import { Int64, Table, Utf8, vectorFromArray } from "apache-arrow";
import { type BuildProgress, buildResultToWire, buildSnapshot, ValueSpec } from "../src/index.ts";
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

function table(n: number, tag = "v"): Table {
  return new Table({
    id: vectorFromArray(
      Array.from({ length: n }, (_, i) => BigInt(i)),
      new Int64(),
    ),
    v: vectorFromArray(
      Array.from({ length: n }, (_, i) => `${tag}-${i}`),
      new Utf8(),
    ),
  });
}

const SQLITE = { kind: "sqlite" } as const;

describe("buildSnapshot", () => {
  test("progress: phases in order, rows counted, ETA 0 at the end; BuildResult wire form", async () => {
    const dir = tempDir("progress");
    const seen: BuildProgress[] = [];
    const result = await buildSnapshot({
      inputs: table(500),
      config: { s3_prefix: `file://${dir}`, num_dbs: 4, adapter_factory: SQLITE },
      input: { key_col: "id", value_spec: ValueSpec.binaryCol("v") },
      workers: 2,
      batchRows: 64,
      onProgress: (p) => seen.push(p),
    });
    const phases = [...new Set(seen.map((p) => p.phase))];
    expect(phases).toEqual(["reading", "writing", "publishing", "done"]);
    const last = seen.at(-1)!;
    expect(last.rowsRead).toBe(500);
    expect(last.rowsWritten).toBe(500);
    expect(last.shardsDone).toBe(4);
    expect(last.etaMs).toBe(0);
    expect(last.rowsPerSecond).toBeGreaterThan(0);
    const wire = buildResultToWire(result) as { run_id: string; stats: Record<string, unknown> };
    expect(wire.run_id).toBe(result.runId);
    expect(wire.stats.rows_written).toBe(500);
    expect(Object.keys(wire.stats.durations as object).sort()).toEqual([
      "manifest_ms",
      "sharding_ms",
      "total_ms",
      "write_ms",
    ]);
  });

  test("a live attempt that fails while taking rows is retried from the local spool", async () => {
    const dir = tempDir("spool");
    const { factory: flaky, failures } = flakyOnceAdapters(1);
    const result = await buildSnapshot({
      inputs: table(300),
      config: {
        s3_prefix: `file://${dir}`,
        num_dbs: 3,
        batch_size: 10,
        adapter_factory: SQLITE,
        shard_retry: { max_retries: 1, initial_backoff_ms: 0 },
      },
      input: { key_col: "id", value_spec: ValueSpec.binaryCol("v") },
      adapterFactory: flaky,
      batchRows: 50,
    });
    expect(failures()).toBeGreaterThan(0);
    expect(result.winners.find((w) => w.dbId === 1)!.attempt).toBe(1);
    expect(result.stats.rowsWritten).toBe(300);
    const view = await inspectSnapshot(new FileStore(dir), "");
    await expectKeysInPredictedShards(
      view,
      Array.from({ length: 300 }, (_, i) => BigInt(i)),
      (k) => u64(k as bigint),
    );
    expect(new TextDecoder().decode(view.shards.get(1)!.values().next().value)).toMatch(/^v-\d+$/);
  });

  test("an abort while reading publishes nothing and removes the run's shards", async () => {
    for (const workers of [0, 2]) {
      const dir = tempDir(`abort-${workers}`);
      const controller = new AbortController();
      async function* slow() {
        for (const b of table(2000).batches) {
          for (let s = 0; s < b.numRows; s += 100) {
            if (s === 400) controller.abort(new Error("user cancelled"));
            yield b.slice(s, s + 100);
          }
        }
      }
      const err = await buildSnapshot({
        inputs: slow(),
        config: { s3_prefix: `file://${dir}`, num_dbs: 3, adapter_factory: SQLITE },
        input: { key_col: "id", value_spec: ValueSpec.binaryCol("v") },
        workers,
        signal: controller.signal,
      }).catch((e) => e);
      expect((err as Error).message).toContain("user cancelled");
      const store = new FileStore(dir);
      expect(await store.get(currentPointerKeyFor(""))).toBeUndefined();
      expect((await store.list("shards/")).objects).toEqual([]);
      expect((await readRunRecords(store, "")).map((r) => r.status)).toEqual(["failed"]);
    }
  });

  test("_CURRENT moved by someone else during the build: compare-and-swap refuses to overwrite it", async () => {
    const dir = tempDir("cas");
    const store = new FileStore(dir);
    const config = { s3_prefix: `file://${dir}`, num_dbs: 2, adapter_factory: SQLITE };
    const input = { key_col: "id", value_spec: ValueSpec.binaryCol("v") };
    const first = await buildSnapshot({ inputs: table(20, "first"), config, input, workers: 0 });
    let intruder: string | undefined;
    const err = await buildSnapshot({
      inputs: table(20, "second"),
      config,
      input,
      workers: 0,
      // Runs after our manifest upload, before our flip: another writer publishes right then.
      checks: [
        async () => {
          const other = await buildSnapshot({ inputs: table(20, "other"), config, input, workers: 0 });
          intruder = other.manifestRef;
        },
      ],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(PublishCurrentError);
    expect(intruder).not.toBe(first.manifestRef);
    const view = await inspectSnapshot(store, "");
    expect(view.manifestRef).toBe(intruder!);
    expect(view.manifest.shards.length).toBe(2);
  });

  test("inputs by glob and the manifest's key_col / key_encoding / s3_prefix as configured", async () => {
    const dir = tempDir("manifest");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "a.csv"), "k,v\nx,1\ny,2\n");
    writeFileSync(join(dir, "b.csv"), "k,v\nz,3\n");
    const out = `file://${join(dir, "snap")}/`;
    const result = await buildSnapshot({
      inputs: [join(dir, "*.csv")],
      config: { s3_prefix: out, num_dbs: 2, key_encoding: "utf8", adapter_factory: SQLITE },
      input: { key_col: "k", value_spec: ValueSpec.jsonCols(["v"]) },
      workers: 0,
    });
    expect(result.stats.rowsRead).toBe(3);
    const view = await inspectSnapshot(new FileStore(join(dir, "snap")), "");
    expect(view.manifest.build.keyCol).toBe("k");
    expect(view.manifest.build.keyEncoding).toBe("utf8");
    expect(view.manifest.build.s3Prefix).toBe(out);
    const values = [...view.shards.values()].flatMap((m) =>
      [...m.values()].map((v) => new TextDecoder().decode(v)),
    );
    expect(values.sort()).toEqual(['{"v":"1"}', '{"v":"2"}', '{"v":"3"}']);
  });
});
