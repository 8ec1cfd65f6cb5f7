import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigValidationError } from "@shardy/errors";
import { FileStore } from "@shardy/store";
import { Dictionary, Int32, Int64, Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { parquetWriteBuffer } from "hyparquet-writer";
import {
  buildSnapshot,
  CsvParser,
  csvSource,
  expandGlob,
  type InputBatch,
  type InputSource,
  ndjsonSource,
  openInputs,
  parquetSource,
  ValueSpec,
} from "../src/index.ts";
import {
  expectKeysInPredictedShards,
  hex,
  inspectSnapshot,
  removeTempDirs,
  tempDir,
  u64,
} from "./helpers.ts";

afterAll(removeTempDirs);

async function collect(
  source: InputSource,
  opts: Parameters<InputSource["read"]>[0] = {},
): Promise<InputBatch[]> {
  const out: InputBatch[] = [];
  for await (const b of source.read(opts)) out.push(b);
  return out;
}

function column(batches: InputBatch[], name: string): unknown[] {
  return batches.flatMap((b) => [...(b.batch.getChild(name) ?? [])]);
}

describe("CSV", () => {
  test("parser: quotes, doubled quotes, newlines in quotes, CRLF, blank lines, nulls vs empty strings", () => {
    const rows: { fields: (string | null)[]; line: number }[] = [];
    const parser = new CsvParser("t.csv", ",");
    const text = 'a,b,c\r\n1,"x, y",""\r\n\r\n2,"multi\nline","say ""hi"""\n3,,plain';
    // Feed in awkward chunks so state crosses chunk boundaries (inside quotes, after a quote).
    for (let i = 0; i < text.length; i += 3) {
      parser.feed(text.slice(i, i + 3), (fields, line) => rows.push({ fields, line }));
    }
    parser.end((fields, line) => rows.push({ fields, line }));
    expect(rows).toEqual([
      { fields: ["a", "b", "c"], line: 1 },
      { fields: ["1", "x, y", ""], line: 2 },
      { fields: ["2", "multi\nline", 'say "hi"'], line: 4 },
      { fields: ["3", null, "plain"], line: 6 },
    ]);
  });

  test("typed columns, key column as int64 by default, rows named file:line", async () => {
    const dir = tempDir("csv");
    const file = join(dir, "data.csv");
    writeFileSync(file, 'id,name,score,flag\n1,"Zoë",1.5,true\n2,"two\nlines",,false\n3,,2,\n');
    const batches = await collect(csvSource(file), {
      keyCol: "id",
      keyEncoding: "u64be",
      csv: { columnTypes: { score: "float64", flag: "bool" } },
      batchRows: 2,
    });
    expect(batches.length).toBe(2);
    expect(column(batches, "id")).toEqual([1n, 2n, 3n]);
    expect(column(batches, "name")).toEqual(["Zoë", "two\nlines", null]);
    expect(column(batches, "score")).toEqual([1.5, null, 2]);
    expect(column(batches, "flag")).toEqual([true, false, null]);
    expect(batches[0]!.describeRow(1)).toBe(`${file}:3`);
    expect(batches[1]!.describeRow(0)).toBe(`${file}:5`);
    expect(batches[1]!.firstRow).toBe(2);
    expect(await csvSource(file).countRows({})).toBe(3);
  });
});

describe("NDJSON", () => {
  test("ints exact, floats kept as floats, nested and mixed values as JSON text, missing keys null", async () => {
    const dir = tempDir("ndjson");
    const file = join(dir, "data.ndjson");
    writeFileSync(
      file,
      [
        '{"id": 18446744073709551615, "f": 1.0, "m": 1, "tags": ["x", {"b": 2, "a": 1}]}',
        "",
        '{"id": 2, "f": 2.5, "m": 2.0, "s": "\\u00e9"}',
      ].join("\n"),
    );
    const batches = await collect(ndjsonSource(file));
    expect(batches.length).toBe(1);
    const b = batches[0]!.batch;
    expect(String(b.getChild("id")!.type)).toBe("Uint64");
    expect(column(batches, "id")).toEqual([18446744073709551615n, 2n]);
    expect(String(b.getChild("f")!.type)).toBe("Float64");
    expect(column(batches, "m")).toEqual(["1", "2.0"]); // mixed int/float: JSON text, per value
    expect(column(batches, "tags")).toEqual(['["x",{"a":1,"b":2}]', null]);
    expect(column(batches, "s")).toEqual([null, "é"]);
    expect(batches[0]!.describeRow(1)).toBe(`${file}:3`);
  });
});

describe("Parquet", () => {
  test("row groups stream as batches, only requested columns, nulls kept", async () => {
    const dir = tempDir("parquet");
    const file = join(dir, "data.parquet");
    const n = 2500;
    const buffer = parquetWriteBuffer({
      columnData: [
        {
          name: "id",
          data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
          type: "INT64",
          nullable: false,
        },
        {
          name: "name",
          data: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : `n${i}`)),
          type: "STRING",
        },
        {
          name: "blob",
          data: Array.from({ length: n }, (_, i) => new Uint8Array([i & 255])),
          type: "BYTE_ARRAY",
        },
        {
          name: "unused",
          data: Float64Array.from({ length: n }, (_, i) => i / 2),
          type: "DOUBLE",
          nullable: false,
        },
      ],
      rowGroupSize: 1000,
    });
    writeFileSync(file, new Uint8Array(buffer));
    const source = parquetSource(file);
    expect(await source.countRows({})).toBe(n);
    const batches = await collect(source, { columns: ["id", "name", "blob"], batchRows: 600 });
    // 3 row groups (1000, 1000, 500), each cut at 600 rows: 2 + 2 + 1 batches.
    expect(batches.map((b) => b.batch.numRows)).toEqual([600, 400, 600, 400, 500]);
    expect(batches[0]!.batch.schema.fields.map((f) => f.name)).toEqual(["id", "name", "blob"]);
    expect(String(batches[0]!.batch.getChild("blob")!.type)).toBe("Binary");
    expect(column(batches, "id")).toEqual(Array.from({ length: n }, (_, i) => BigInt(i)));
    const names = column(batches, "name");
    expect(names[7]).toBeNull();
    expect(names[8]).toBe("n8");
    expect(batches[3]!.describeRow(5)).toBe(`row 1605 of ${file} (row group 1)`);
  });
});

describe("Arrow IPC and globs", () => {
  test("file and stream formats, globs expand sorted, format by extension", async () => {
    const dir = tempDir("arrow");
    mkdirSync(join(dir, "part", "sub"), { recursive: true });
    const table = (from: number) =>
      new Table({
        id: vectorFromArray(
          Array.from({ length: 5 }, (_, i) => BigInt(from + i)),
          new Int64(),
        ),
        v: vectorFromArray(
          Array.from({ length: 5 }, (_, i) => `v${from + i}`),
          new Utf8(),
        ),
      });
    writeFileSync(join(dir, "part", "a.arrow"), tableToIPC(table(0), "file"));
    writeFileSync(join(dir, "part", "sub", "b.arrows"), tableToIPC(table(5), "stream"));
    writeFileSync(join(dir, "part", "notes.txt"), "ignored");
    expect(expandGlob(join(dir, "part", "**", "*.arrow{,s}"))).toEqual([
      join(dir, "part", "a.arrow"),
      join(dir, "part", "sub", "b.arrows"),
    ]);
    const sources = openInputs([join(dir, "part/**/*.arrow*")]);
    expect(sources.map((s) => s.format)).toEqual(["arrow", "arrow"]);
    const ids: unknown[] = [];
    for (const s of sources) ids.push(...column(await collect(s), "id"));
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
  });
});

describe("Arrow IPC file blocks", () => {
  const rowText = (row: unknown) =>
    JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? v.toString() : v));

  /** Many small batches with a dictionary column, written as an IPC file. */
  function multiBatchFile(dir: string): { file: string; rows: unknown[] } {
    const ids = Array.from({ length: 300 }, (_, i) => BigInt(i));
    const whole = new Table({
      id: vectorFromArray(ids, new Int64()),
      tag: vectorFromArray(
        ids.map((i) => `tag-${i % 7n}`),
        new Dictionary(new Utf8(), new Int32()),
      ),
      payload: vectorFromArray(ids.map((i) => `p${i}`.repeat(Number(i % 5n) + 1))),
    });
    // Six record batch blocks sharing one dictionary block.
    const table = new Table(
      Array.from({ length: 6 }, (_, b) => whole.slice(b * 50, b * 50 + 50).batches).flat(),
    );
    const file = join(dir, "blocks.arrow");
    writeFileSync(file, tableToIPC(table, "file"));
    return { file, rows: table.toArray().map(rowText) };
  }

  /** Rows as JSON, taken from each batch before the next is read (what reuseBuffers allows). */
  async function rowsReadInTurn(source: InputSource, reuseBuffers: boolean): Promise<unknown[]> {
    const rows: unknown[] = [];
    for await (const item of source.read({ reuseBuffers, batchRows: 20 })) {
      for (const r of item.batch.toArray()) rows.push(rowText(r));
    }
    return rows;
  }

  test("every block reads back, with and without reused buffers", async () => {
    const { file, rows } = multiBatchFile(tempDir("ipc-blocks"));
    const [source] = openInputs([file]);
    expect(await rowsReadInTurn(source!, false)).toEqual(rows);
    expect(await rowsReadInTurn(source!, true)).toEqual(rows);
  });

  test("a truncated file is a ConfigValidationError naming the file and the footer", async () => {
    const dir = tempDir("ipc-truncated");
    const { file } = multiBatchFile(dir);
    const cut = join(dir, "cut.arrow");
    const bytes = readFileSync(file);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const [source] = openInputs([cut]);
    const err = await collect(source!).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect(err.message).toContain(cut);
    expect(err.message).toMatch(
      /not a readable Arrow IPC file or stream \(footer\).*no closing ARROW1 magic/,
    );
  });
});

describe("every format end to end (file store, json_cols)", () => {
  const rows = Array.from({ length: 40 }, (_, i) => ({ id: i, name: `name-${i}`, score: i + 0.5 }));
  const expected = (r: (typeof rows)[number]) => `{"id":${r.id},"name":"name-${r.id}","score":${r.score}}`;

  const writers: Record<string, (dir: string) => string> = {
    csv(dir) {
      const f = join(dir, "in.csv");
      writeFileSync(f, `id,name,score\n${rows.map((r) => `${r.id},${r.name},${r.score}`).join("\n")}\n`);
      return f;
    },
    ndjson(dir) {
      const f = join(dir, "in.ndjson");
      writeFileSync(f, rows.map((r) => JSON.stringify(r)).join("\n"));
      return f;
    },
    parquet(dir) {
      const f = join(dir, "in.parquet");
      const buf = parquetWriteBuffer({
        columnData: [
          {
            name: "id",
            data: BigInt64Array.from(rows.map((r) => BigInt(r.id))),
            type: "INT64",
            nullable: false,
          },
          { name: "name", data: rows.map((r) => r.name), type: "STRING" },
          {
            name: "score",
            data: Float64Array.from(rows.map((r) => r.score)),
            type: "DOUBLE",
            nullable: false,
          },
        ],
        rowGroupSize: 16,
      });
      writeFileSync(f, new Uint8Array(buf));
      return f;
    },
    arrow(dir) {
      const f = join(dir, "in.arrow");
      const t = new Table({
        id: vectorFromArray(
          rows.map((r) => BigInt(r.id)),
          new Int64(),
        ),
        name: vectorFromArray(
          rows.map((r) => r.name),
          new Utf8(),
        ),
        score: vectorFromArray(rows.map((r) => r.score)),
      });
      writeFileSync(f, tableToIPC(t, "file"));
      return f;
    },
  };

  for (const [format, write] of Object.entries(writers)) {
    test(format, async () => {
      const dir = tempDir(`e2e-${format}`);
      const file = write(dir);
      const out = join(dir, "snap");
      const result = await buildSnapshot({
        inputs: [file],
        csv: { columnTypes: { score: "float64" } },
        config: { s3_prefix: `file://${out}`, num_dbs: 3, adapter_factory: { kind: "sqlite" } },
        input: { key_col: "id", value_spec: ValueSpec.jsonCols() },
        workers: format === "parquet" ? 2 : 0,
        batchRows: 7,
      });
      expect(result.stats.rowsWritten).toBe(rows.length);
      expect(result.stats.rowsRead).toBe(rows.length);
      const view = await inspectSnapshot(new FileStore(out), "");
      await expectKeysInPredictedShards(
        view,
        rows.map((r) => BigInt(r.id)),
        (k) => u64(k as bigint),
      );
      for (const r of rows) {
        const got = [...view.shards.values()].find((m) => m.has(hex(u64(r.id))))!.get(hex(u64(r.id)))!;
        expect(new TextDecoder().decode(got)).toBe(expected(r));
      }
    });
  }

  test("NDJSON nested and mixed values survive worker threads verbatim (json_cols)", async () => {
    const dir = tempDir("e2e-nested");
    const f = join(dir, "in.jsonl");
    const lines = [
      '{"id": 1, "meta": {"z": [1, 2.0, "\u00e9"], "a": null}, "n": 1}',
      '{"id": 2, "meta": [true, {"k": 18446744073709551615}], "n": 2.5}',
    ];
    writeFileSync(f, lines.join("\n"));
    const out = join(dir, "snap");
    await buildSnapshot({
      inputs: [f],
      config: { s3_prefix: `file://${out}`, num_dbs: 2, adapter_factory: { kind: "sqlite" } },
      input: { key_col: "id", value_spec: ValueSpec.jsonCols(["meta", "n"]) },
      workers: 3,
    });
    const view = await inspectSnapshot(new FileStore(out), "");
    const value = (k: number) =>
      new TextDecoder().decode([...view.shards.values()].find((m) => m.has(hex(u64(k))))!.get(hex(u64(k))));
    expect(value(1)).toBe('{"meta":{"a":null,"z":[1,2.0,"\\u00e9"]},"n":1}');
    expect(value(2)).toBe('{"meta":[true,{"k":18446744073709551615}],"n":2.5}');
  });

  test("binary_col over Parquet bytes with utf8 string keys", async () => {
    const dir = tempDir("e2e-utf8");
    const f = join(dir, "in.parquet");
    const keys = ["a", "b", "ünï", "tenant:eu-west", "hello"];
    writeFileSync(
      f,
      new Uint8Array(
        parquetWriteBuffer({
          columnData: [
            { name: "k", data: keys, type: "STRING", nullable: false },
            {
              name: "v",
              data: keys.map((k) => new TextEncoder().encode(`value of ${k}`)),
              type: "BYTE_ARRAY",
            },
          ],
        }),
      ),
    );
    const out = join(dir, "snap");
    const result = await buildSnapshot({
      inputs: [f],
      config: {
        s3_prefix: `file://${out}`,
        num_dbs: 4,
        key_encoding: "utf8",
        adapter_factory: { kind: "sqlite" },
      },
      input: { key_col: "k", value_spec: ValueSpec.binaryCol("v") },
      workers: 2,
    });
    const view = await inspectSnapshot(new FileStore(out), "");
    const enc = new TextEncoder();
    await expectKeysInPredictedShards(view, keys, (k) => enc.encode(k as string));
    const all = result.winners.flatMap((w) => [w.minKey, w.maxKey]);
    expect(all.every((k) => typeof k === "string")).toBe(true);
  });
});
