/**
 * The Dask/Ray path without the shells: rows routed by the kernel, one Arrow IPC stream per shard
 * through `writeShard` (what `shardy write-shard` runs), results as JSON lines, then
 * `publishShardResults` (what `shardy publish` runs).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { validateHashConfig } from "@shardy/core";
import { ConfigValidationError, ShardAssignmentError } from "@shardy/errors";
import { getKernel } from "@shardy/kernel";
import { FileStore } from "@shardy/store";
import { Int32, Int64, RecordBatchStreamWriter, Table, Utf8, vectorFromArray } from "apache-arrow";
import {
  partitionByShard,
  publishShardResults,
  readIpcStream,
  shardResultFromJson,
  shardResultToJson,
  ValueSpec,
  writeShard,
} from "../src/index.ts";
import { expectKeysInPredictedShards, inspectSnapshot, removeTempDirs, tempDir, u64 } from "./helpers.ts";

afterAll(removeTempDirs);

function rows(n: number): Table {
  return new Table({
    id: vectorFromArray(
      Array.from({ length: n }, (_, i) => BigInt(i * 3)),
      new Int64(),
    ),
    _shard_id: vectorFromArray(
      Array.from({ length: n }, () => 0),
      new Int32(),
    ),
    name: vectorFromArray(
      Array.from({ length: n }, (_, i) => `n${i}`),
      new Utf8(),
    ),
  });
}

/** The bytes a shell would pipe to `shardy write-shard`, delivered in small chunks like stdin. */
async function* ipcChunks(table: Table): AsyncGenerator<Uint8Array> {
  const writer = new RecordBatchStreamWriter();
  for (const b of table.batches) writer.write(b);
  writer.finish();
  const bytes = writer.toUint8Array(true);
  for (let i = 0; i < bytes.length; i += 1000) yield bytes.subarray(i, i + 1000);
}

describe("writeShard + publishShardResults", () => {
  test("shards written one stream at a time publish like a single-host build", async () => {
    const dir = tempDir("shells");
    const config = {
      s3_prefix: `file://${dir}`,
      num_dbs: 4,
      adapter_factory: { kind: "sqlite" },
      output: { run_id: "dask-run-1" },
    };
    const input = { key_col: "id", value_spec: ValueSpec.jsonCols() };
    const kernel = await getKernel();
    const table = rows(200);
    const batch = table.batches[0]!;
    const ids = kernel.routeBatch(batch.getChild("id")!, 4);
    const lines: string[] = [];
    for (const slice of partitionByShard(batch, ids, 4)) {
      const result = await writeShard({
        config,
        input,
        dbId: slice.dbId,
        batches: readIpcStream(ipcChunks(new Table([slice.batch]))),
        // A Dask task retried once: its attempt number comes from the engine.
        attempt: slice.dbId === 2 ? 1 : 0,
        taskAttemptId: slice.dbId,
      });
      lines.push(shardResultToJson(result));
    }
    const results = lines.map((l) => shardResultFromJson(l));
    expect(results.find((r) => r.dbId === 2)!.dbUrl!.endsWith("/db=00002/attempt=01")).toBe(true);
    const built = await publishShardResults({
      config: validateHashConfig(config),
      keyCol: "id",
      runId: "dask-run-1",
      numDbs: 4,
      results,
    });
    expect(built.winners.length).toBe(4);
    expect(built.stats.rowsWritten).toBe(200);
    const view = await inspectSnapshot(new FileStore(dir), "");
    await expectKeysInPredictedShards(
      view,
      Array.from({ length: 200 }, (_, i) => BigInt(i * 3)),
      (k) => u64(k as bigint),
    );
    // json_cols never serialises the temporary shard-id column.
    const anyValue = new TextDecoder().decode([...view.shards.get(0)!.values()][0]);
    expect(anyValue).toMatch(/^\{"id":\d+,"name":"n\d+"\}$/);
  });

  test("rows that belong to another shard are refused, and nothing is left behind", async () => {
    const dir = tempDir("wrong-shard");
    const err = await writeShard({
      config: {
        s3_prefix: `file://${dir}`,
        num_dbs: 4,
        adapter_factory: { kind: "sqlite" },
        output: { run_id: "r" },
      },
      input: { key_col: "id", value_spec: ValueSpec.binaryCol("name") },
      dbId: 0,
      batches: rows(50).batches,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ShardAssignmentError);
    expect((await new FileStore(dir).list("")).objects).toEqual([]);
  });

  test("no rows: an empty shard result (db_url null) and no objects", async () => {
    const dir = tempDir("empty-shard");
    const result = await writeShard({
      config: {
        s3_prefix: `file://${dir}`,
        num_dbs: 2,
        adapter_factory: { kind: "sqlite" },
        output: { run_id: "r" },
      },
      input: { key_col: "id", value_spec: ValueSpec.binaryCol("name") },
      dbId: 1,
      batches: [],
    });
    expect(result.dbUrl).toBeNull();
    expect(result.rowCount).toBe(0);
    expect(JSON.parse(shardResultToJson(result)).db_url).toBeNull();
  });

  test("readIpcStream takes a web ReadableStream (stdin) and names a truncated stream", async () => {
    const writer = new RecordBatchStreamWriter();
    for (const b of rows(100).batches) writer.write(b);
    writer.finish();
    const bytes = new Uint8Array(writer.toUint8Array(true));
    let n = 0;
    for await (const b of readIpcStream(new Response(bytes).body!)) n += b.numRows;
    expect(n).toBe(100);
    const truncated = readIpcStream(new Response(bytes.slice(0, bytes.length - 300)).body!, "stdin");
    const err = await (async () => {
      for await (const _ of truncated) {
        // drain
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect(String(err.message)).toMatch(/^stdin: /);
  });

  test("a run id is required", async () => {
    await expect(
      writeShard({
        config: { s3_prefix: "file:///tmp/x", num_dbs: 2 },
        input: { key_col: "id", value_spec: ValueSpec.binaryCol("name") },
        dbId: 0,
        batches: [],
      }),
    ).rejects.toThrow(/run id/);
  });
});
