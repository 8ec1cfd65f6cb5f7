/**
 * Issue item 6: bad input gets a typed error naming the file and line/row, and nothing is
 * published (no `_CURRENT`, no shard objects left, the run record says failed). Empty input
 * publishes an empty snapshot; duplicate keys keep the last value and are counted.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { currentPointerKeyFor, parseCurrentBytes } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import { FileStore } from "@shardy/store";
import { parquetWriteBuffer } from "hyparquet-writer";
import { buildSnapshot, ValueSpec } from "../src/index.ts";
import { hex, inspectSnapshot, readRunRecords, removeTempDirs, tempDir, u64 } from "./helpers.ts";

afterAll(removeTempDirs);

interface Attempt {
  error: unknown;
  store: FileStore;
}

/** Runs a build expected to fail; returns the error and the store it targeted. */
async function failingBuild(
  files: Record<string, string | Uint8Array>,
  opts: { keyCol?: string; spec?: ValueSpec; config?: Record<string, unknown>; workers?: number } = {},
): Promise<Attempt & { dir: string }> {
  const dir = tempDir("bad");
  const paths = Object.entries(files).map(([name, body]) => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  });
  const out = join(dir, "snap");
  let error: unknown;
  try {
    await buildSnapshot({
      inputs: paths,
      config: { s3_prefix: `file://${out}`, num_dbs: 3, adapter_factory: { kind: "sqlite" }, ...opts.config },
      input: { key_col: opts.keyCol ?? "id", value_spec: opts.spec ?? ValueSpec.binaryCol("v") },
      workers: opts.workers ?? 0,
    });
  } catch (err) {
    error = err;
  }
  return { error, store: new FileStore(out), dir };
}

async function expectNothingPublished(store: FileStore): Promise<void> {
  expect(await store.get(currentPointerKeyFor(""))).toBeUndefined();
  expect((await store.list("shards/")).objects).toEqual([]);
  expect((await store.list("manifests/")).objects).toEqual([]);
  const records = await readRunRecords(store, "");
  expect(records.map((r) => r.status)).toEqual(["failed"]);
  expect(records[0]!.errorType).toBe("ConfigValidationError");
}

function parquet(
  columns: Parameters<typeof parquetWriteBuffer>[0]["columnData"],
  rowGroupSize = 100,
): Uint8Array {
  return new Uint8Array(parquetWriteBuffer({ columnData: columns, rowGroupSize }));
}

describe.each([0, 2])("bad input (workers=%d)", (workers) => {
  test("missing key column: names the column and the columns there are", async () => {
    const { error, store } = await failingBuild({ "data.csv": "key,v\n1,a\n2,b\n" }, { workers });
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toContain('key column "id" is not in');
    expect((error as Error).message).toContain("data.csv");
    expect((error as Error).message).toContain('["key","v"]');
    await expectNothingPublished(store);
  });

  test("missing binary_col value column: names the file and its columns", async () => {
    const { error, store } = await failingBuild({ "data.csv": "id,w\n1,a\n" }, { workers });
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toMatch(
      /binary_col value column "v" is not in .*data\.csv; its columns are \["id","w"\]/,
    );
    await expectNothingPublished(store);
  });

  test("null key: names file and line", async () => {
    const { error, store } = await failingBuild({ "data.csv": "id,v\n1,a\n,b\n3,c\n" }, { workers });
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toMatch(/null at .*data\.csv:3/);
    await expectNothingPublished(store);
  });

  test("null key in Parquet: names the row and row group", async () => {
    const { error, store } = await failingBuild(
      {
        "data.parquet": parquet(
          [
            { name: "id", data: [1n, 2n, null, 4n], type: "INT64" },
            { name: "v", data: ["a", "b", "c", "d"], type: "STRING" },
          ],
          2,
        ),
      },
      { workers },
    );
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toMatch(/null at row 2 of .*data\.parquet \(row group 1\)/);
    await expectNothingPublished(store);
  });

  test("keys that do not fit the encoding: negative for u64be, above 2^32-1 for u32be, strings for u64be", async () => {
    const negative = await failingBuild({ "neg.csv": "id,v\n1,a\n-5,b\n" }, { workers });
    expect(negative.error).toBeInstanceOf(ConfigValidationError);
    expect((negative.error as Error).message).toMatch(/key -5 at .*neg\.csv:3 .* is negative; u64be/);
    await expectNothingPublished(negative.store);

    const big = await failingBuild(
      { "big.csv": "id,v\n4294967296,a\n" },
      { workers, config: { key_encoding: "u32be" } },
    );
    expect(big.error).toBeInstanceOf(ConfigValidationError);
    expect((big.error as Error).message).toMatch(/key 4294967296 at .*big\.csv:2 .*u32be/);
    await expectNothingPublished(big.store);

    const strings = await failingBuild({ "s.ndjson": '{"id": "a", "v": "x"}\n' }, { workers });
    expect(strings.error).toBeInstanceOf(ConfigValidationError);
    expect((strings.error as Error).message).toContain('use key_encoding "utf8"');
    await expectNothingPublished(strings.store);
  });

  test("malformed CSV: wrong field count and unterminated quote name file:line", async () => {
    const fields = await failingBuild({ "data.csv": "id,v\n1,a\n2,b\n3,c,extra\n" }, { workers });
    expect(fields.error).toBeInstanceOf(ConfigValidationError);
    expect((fields.error as Error).message).toMatch(/data\.csv:4: expected 2 fields/);
    await expectNothingPublished(fields.store);

    const quote = await failingBuild({ "q.csv": 'id,v\n1,a\n2,"open\n3,c\n' }, { workers });
    expect(quote.error).toBeInstanceOf(ConfigValidationError);
    expect((quote.error as Error).message).toMatch(/q\.csv:3: unterminated quoted field/);
    await expectNothingPublished(quote.store);

    const notInt = await failingBuild({ "n.csv": "id,v\n1,a\nabc,b\n" }, { workers });
    expect((notInt.error as Error).message).toMatch(/n\.csv:3: column "id": "abc" is not an integer/);
    await expectNothingPublished(notInt.store);
  });

  test("malformed Parquet: a truncated footer and a corrupt row group name the file and where", async () => {
    const good = parquet(
      [
        {
          name: "id",
          data: BigInt64Array.from({ length: 300 }, (_, i) => BigInt(i)),
          type: "INT64",
          nullable: false,
        },
        {
          name: "v",
          data: Array.from({ length: 300 }, (_, i) => `value-${i}`),
          type: "STRING",
          nullable: false,
        },
      ],
      100,
    );
    const truncated = await failingBuild({ "t.parquet": good.subarray(0, good.length - 20) }, { workers });
    expect(truncated.error).toBeInstanceOf(ConfigValidationError);
    expect((truncated.error as Error).message).toMatch(/t\.parquet: malformed Parquet \(footer\)/);
    await expectNothingPublished(truncated.store);

    // Overwrite bytes in the middle of the file: the column chunks of a later row group.
    const corrupt = good.slice();
    corrupt.fill(0xff, Math.floor(corrupt.length * 0.45), Math.floor(corrupt.length * 0.6));
    const broken = await failingBuild({ "c.parquet": corrupt }, { workers });
    expect(broken.error).toBeInstanceOf(ConfigValidationError);
    expect((broken.error as Error).message).toMatch(
      /c\.parquet: malformed Parquet \(row group \d, column "(id|v)"\)/,
    );
    await expectNothingPublished(broken.store);
  });

  test("a value column of the wrong type fails in the shard writer with a typed error", async () => {
    const typed = await failingBuild(
      { "data.ndjson": '{"id": 1, "v": 10}\n{"id": 2, "v": 20}\n' },
      { workers, spec: ValueSpec.binaryCol("v") },
    );
    expect(typed.error).toBeInstanceOf(ConfigValidationError);
    expect((typed.error as Error).message).toMatch(/binary_col column "v" is of Arrow type Int64/);
    await expectNothingPublished(typed.store);
  });
});

describe("empty input and duplicate keys", () => {
  test("empty input publishes an empty snapshot (num_dbs from config; max_keys_per_shard -> 1)", async () => {
    for (const config of [{ num_dbs: 3 }, { max_keys_per_shard: 5 }]) {
      const dir = tempDir("empty");
      writeFileSync(join(dir, "empty.csv"), "id,v\n");
      writeFileSync(join(dir, "blank.ndjson"), "\n\n");
      const out = join(dir, "snap");
      const result = await buildSnapshot({
        inputs: [join(dir, "empty.csv"), join(dir, "blank.ndjson")],
        config: { s3_prefix: `file://${out}`, adapter_factory: { kind: "sqlite" }, ...config },
        input: { key_col: "id", value_spec: ValueSpec.binaryCol("v") },
        workers: 2,
      });
      expect(result.winners).toEqual([]);
      expect(result.stats.rowsWritten).toBe(0);
      const store = new FileStore(out);
      const view = await inspectSnapshot(store, "");
      expect(view.manifestRef).toBe(result.manifestRef);
      expect(view.manifest.shards).toEqual([]);
      expect(view.manifest.build.numDbs).toBe("num_dbs" in config ? 3 : 1);
      const pointer = parseCurrentBytes((await store.get("_CURRENT"))!.body);
      expect(pointer.manifestRef).toBe(result.manifestRef);
      expect((await store.list("shards/")).objects).toEqual([]);
    }
  });

  test("duplicate keys: the last row wins, duplicates are counted, row_count is distinct keys", async () => {
    const dir = tempDir("dups");
    // Key 1 three times and key 2 twice, across two files and batches: last file/row wins.
    writeFileSync(join(dir, "a.csv"), "id,v\n1,first\n2,x\n1,second\n3,y\n");
    writeFileSync(join(dir, "b.csv"), "id,v\n2,z\n1,third\n");
    const out = join(dir, "snap");
    for (const workers of [0, 2]) {
      const result = await buildSnapshot({
        inputs: [join(dir, "a.csv"), join(dir, "b.csv")],
        config: { s3_prefix: `file://${out}/w${workers}`, num_dbs: 2, adapter_factory: { kind: "sqlite" } },
        input: { key_col: "id", value_spec: ValueSpec.binaryCol("v") },
        workers,
        batchRows: 2,
      });
      expect(result.stats.rowsRead).toBe(6);
      expect(result.stats.rowsWritten).toBe(3);
      expect(result.stats.duplicates).toBe(3);
      const view = await inspectSnapshot(new FileStore(join(out, `w${workers}`)), "");
      const value = (k: number) =>
        new TextDecoder().decode([...view.shards.values()].find((m) => m.has(hex(u64(k))))!.get(hex(u64(k))));
      expect(value(1)).toBe("third");
      expect(value(2)).toBe("z");
      expect(value(3)).toBe("y");
    }
  });
});
