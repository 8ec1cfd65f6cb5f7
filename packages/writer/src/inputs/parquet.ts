/**
 * Parquet input through `hyparquet` (pure JS, so it runs in every runtime and inside a compiled
 * executable): one row group at a time, only the columns the build needs, converted to Arrow
 * column by column. Memory is bounded by one row group of the needed columns. Codecs: snappy
 * built in; gzip, brotli, zstd and lz4 via `hyparquet-compressors`.
 */
import { statSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type { PyJsonValue } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import {
  type Data,
  Float32,
  Float64,
  Int32,
  Int64,
  makeData,
  Uint32,
  Uint64,
  vectorFromArray,
} from "apache-arrow";
import {
  type AsyncBuffer,
  type DecodedArray,
  type FileMetaData,
  parquetMetadataAsync,
  parquetScan,
  parquetSchema,
  type SchemaTree,
} from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { dumpCompact } from "../json-values.ts";
import {
  buildBoolColumn,
  buildBytesColumn,
  buildFloatColumn,
  buildIntColumn,
  buildNullColumn,
  makeBatch,
  type NamedColumn,
} from "./columns.ts";
import { DEFAULT_BATCH_ROWS, type InputBatch, type InputReadOptions, type InputSource } from "./types.ts";

export function parquetSource(file: string): InputSource {
  return {
    file,
    format: "parquet",
    size: statSync(file).size,
    read: (opts) => readParquet(file, opts),
    async countRows() {
      const handle = await open(file, "r");
      try {
        const metadata = await readMetadata(file, await fileBuffer(handle, file));
        return Number(metadata.num_rows);
      } finally {
        await handle.close();
      }
    },
  };
}

async function fileBuffer(handle: FileHandle, file: string): Promise<AsyncBuffer> {
  const { size } = await handle.stat();
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? size, size);
      const length = Math.max(0, stop - start);
      const buffer = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, start + done);
        if (bytesRead === 0) {
          throw new ConfigValidationError(`${file}: unexpected end of file at byte ${start + done}`, {
            field: "inputs",
          });
        }
        done += bytesRead;
      }
      return buffer.buffer;
    },
  };
}

function malformed(file: string, where: string, cause: unknown): ConfigValidationError {
  if (cause instanceof ConfigValidationError) return cause;
  return new ConfigValidationError(
    `${file}: malformed Parquet (${where}): ${(cause as Error)?.message ?? String(cause)}; nothing was written`,
    { field: "inputs", cause },
  );
}

async function readMetadata(file: string, buffer: AsyncBuffer): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(buffer);
  } catch (cause) {
    throw malformed(file, "footer", cause);
  }
}

// Strings are kept as their UTF-8 bytes (no decode + re-encode); JSON-annotated columns too,
// since Python reads them as plain strings.
const RAW_PARSERS = {
  stringFromBytes: (bytes: Uint8Array) => bytes,
  jsonFromBytes: (bytes: Uint8Array) => bytes,
};

async function* readParquet(file: string, opts: InputReadOptions): AsyncGenerator<InputBatch> {
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  const handle = await open(file, "r");
  try {
    const buffer = await fileBuffer(handle, file);
    const metadata = await readMetadata(file, buffer);
    const schema = parquetSchema(metadata);
    const available = schema.children.map((c) => c.element.name);
    const wanted = opts.columns ?? null;
    const names = wanted === null ? available : available.filter((n) => wanted.includes(n));
    let scan: Awaited<ReturnType<typeof parquetScan>>;
    try {
      scan = await parquetScan({
        file: buffer,
        metadata,
        columns: names,
        utf8: false,
        compressors,
        // biome-ignore lint/suspicious/noExplicitAny: hyparquet types its parsers' return values narrowly
        parsers: RAW_PARSERS as any,
      });
    } catch (cause) {
      throw malformed(file, "schema", cause);
    }
    const groupStarts = rowGroupStarts(metadata);
    for (const range of scan.ranges) {
      opts.signal?.throwIfAborted();
      const group = groupIndexOf(groupStarts, range.rowStart);
      const length = range.rowEnd - range.rowStart;
      const columns: NamedColumn[] = [];
      for (const name of names) {
        const node = schema.children.find((c) => c.element.name === name)!;
        let values: DecodedArray;
        try {
          values = await scan.readColumn({ column: name, rowStart: range.rowStart, rowEnd: range.rowEnd });
        } catch (cause) {
          throw malformed(file, `row group ${group}, column ${JSON.stringify(name)}`, cause);
        }
        if (values.length !== length) {
          throw malformed(
            file,
            `row group ${group}, column ${JSON.stringify(name)}`,
            new Error(`decoded ${values.length} values for ${length} rows`),
          );
        }
        try {
          columns.push(toArrowColumn(name, node, values));
        } catch (cause) {
          throw malformed(file, `row group ${group}, column ${JSON.stringify(name)}`, cause);
        }
      }
      const full = makeBatch(columns, length);
      const groupBytes = Number(metadata.row_groups[group]?.total_byte_size ?? 0);
      for (let start = 0; start < length; start += batchRows) {
        const end = Math.min(length, start + batchRows);
        const base = range.rowStart + start;
        yield {
          batch: length <= batchRows ? full : full.slice(start, end),
          file,
          firstRow: base,
          bytes: Math.round((groupBytes * (end - start)) / Math.max(1, length)),
          describeRow: (row) => `row ${base + row} of ${file} (row group ${group})`,
          columns: available,
        };
      }
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

function rowGroupStarts(metadata: FileMetaData): number[] {
  const starts: number[] = [];
  let at = 0;
  for (const g of metadata.row_groups) {
    starts.push(at);
    at += Number(g.num_rows);
  }
  return starts;
}

function groupIndexOf(starts: readonly number[], row: number): number {
  let g = 0;
  while (g + 1 < starts.length && starts[g + 1]! <= row) g++;
  return g;
}

function isStringColumn(node: SchemaTree): boolean {
  const e = node.element;
  const lt = e.logical_type?.type;
  return (
    e.converted_type === "UTF8" ||
    e.converted_type === "JSON" ||
    e.converted_type === "ENUM" ||
    lt === "STRING" ||
    lt === "JSON" ||
    lt === "ENUM"
  );
}

/** One decoded Parquet column as Arrow data (typed arrays kept as they are). */
function toArrowColumn(name: string, node: SchemaTree, values: DecodedArray): NamedColumn {
  const n = values.length;
  if (node.children.length > 0) return jsonTextColumn(name, values);
  if (values instanceof BigInt64Array)
    return { name, data: makeData({ type: new Int64(), length: n, data: values }) };
  if (values instanceof BigUint64Array)
    return { name, data: makeData({ type: new Uint64(), length: n, data: values }) };
  if (values instanceof Int32Array)
    return { name, data: makeData({ type: new Int32(), length: n, data: values }) };
  if (values instanceof Uint32Array)
    return { name, data: makeData({ type: new Uint32(), length: n, data: values }) };
  if (values instanceof Float64Array)
    return { name, data: makeData({ type: new Float64(), length: n, data: values }) };
  if (values instanceof Float32Array)
    return { name, data: makeData({ type: new Float32(), length: n, data: values }) };
  if (values instanceof Uint8Array) {
    // BOOLEAN pages decode to 0/1 bytes when the column is required.
    return { name, data: buildBoolColumn(Array.from(values, (v) => v !== 0)) };
  }
  const arr = values as unknown[];
  const sample = arr.find((v) => v != null);
  if (sample === undefined) return { name, data: buildNullColumn(n) };
  if (sample instanceof Uint8Array) {
    return {
      name,
      data: buildBytesColumn(arr as (Uint8Array | null)[], isStringColumn(node) ? "utf8" : "binary"),
    };
  }
  if (typeof sample === "string") return { name, data: buildBytesColumn(arr as (string | null)[], "utf8") };
  if (typeof sample === "bigint") return { name, data: buildIntColumn(arr as (bigint | null)[]) };
  if (typeof sample === "boolean") return { name, data: buildBoolColumn(arr as (boolean | null)[]) };
  if (typeof sample === "number") {
    const t = node.element.type;
    if (t === "INT32")
      return { name, data: buildIntColumn(arr.map((v) => (v == null ? null : BigInt(v as number)))) };
    return { name, data: buildFloatColumn(arr as (number | null)[]) };
  }
  // Dates, timestamps and other rich values: let Arrow infer (json_cols rejects them like Python).
  return { name, data: vectorFromArray(arr.map((v) => v ?? null)).data[0] as Data };
}

/** Nested values (lists, structs, maps) as their JSON text, for `json_cols`. */
function jsonTextColumn(name: string, values: DecodedArray): NamedColumn {
  const arr = Array.from(values as ArrayLike<unknown>);
  return {
    name,
    data: buildBytesColumn(
      arr.map((v) => (v == null ? null : dumpCompact(toPy(v)))),
      "utf8",
    ),
    jsonText: true,
  };
}

function toPy(v: unknown): PyJsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "string" || typeof v === "boolean")
    return v;
  if (v instanceof Uint8Array) {
    throw new ConfigValidationError("bytes inside a nested column are not JSON serializable", {
      field: "value_spec",
    });
  }
  if (Array.isArray(v)) return v.map(toPy);
  if (typeof v === "object") {
    const out: Record<string, PyJsonValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = toPy(x);
    return out;
  }
  throw new ConfigValidationError(`value of type ${typeof v} in a nested column is not JSON serializable`, {
    field: "value_spec",
  });
}
