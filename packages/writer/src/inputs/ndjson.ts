/**
 * Streaming NDJSON / JSON Lines: one JSON object per line, blank lines skipped. Parsed like
 * Python's `json.loads` (ints exact, `1.0` stays a float). Per batch, a column whose values are
 * all ints becomes Int64, all numbers Float64, all strings Utf8, all booleans Bool; anything else
 * (nested objects, lists, mixed types) is kept as its JSON text so `json_cols` writes it back
 * exactly as Python would. A bad line is a `ConfigValidationError` naming `file:line`.
 */
import { statSync } from "node:fs";
import { PyFloat, type PyJsonValue, pyJsonLoads } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import type { Data } from "apache-arrow";
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
import { fileText } from "./file-chunks.ts";
import { DEFAULT_BATCH_ROWS, type InputBatch, type InputReadOptions, type InputSource } from "./types.ts";

type Row = Record<string, PyJsonValue>;

export function ndjsonSource(file: string): InputSource {
  return {
    file,
    format: "ndjson",
    size: statSync(file).size,
    read: (opts) => readNdjson(file, opts),
    async countRows(opts) {
      let rows = 0;
      for await (const b of readNdjson(file, { ...opts, columns: [] })) rows += b.batch.numRows;
      return rows;
    },
  };
}

async function* readNdjson(file: string, opts: InputReadOptions): AsyncGenerator<InputBatch> {
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  const wanted = opts.columns ?? null;
  let carry = "";
  let line = 0;
  let rows: Row[] = [];
  let lines: number[] = [];
  let firstRow = 0;
  let bytes = 0;
  const countOnly = wanted !== null && wanted.length === 0;

  const takeLine = (text: string) => {
    line++;
    const trimmed = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (trimmed.trim() === "") return;
    let value: PyJsonValue;
    if (countOnly) value = {};
    else {
      try {
        value = pyJsonLoads(trimmed, { ints: "bigint", preserveFloats: true });
      } catch (cause) {
        throw new ConfigValidationError(`${file}:${line}: not valid JSON: ${(cause as Error).message}`, {
          field: "inputs",
          cause,
        });
      }
      if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof PyFloat) {
        throw new ConfigValidationError(
          `${file}:${line}: each line must be a JSON object ({"column": value, ...}), got ${trimmed.slice(0, 40)}`,
          { field: "inputs" },
        );
      }
    }
    rows.push(value as Row);
    lines.push(line);
  };

  for await (const chunk of fileText(file, opts.signal)) {
    bytes += chunk.bytes;
    let text = carry + chunk.text;
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      takeLine(text.slice(start, nl));
      start = nl + 1;
      if (rows.length >= batchRows) {
        yield buildBatch(file, rows, lines, firstRow, bytes, wanted, opts.keyCol);
        firstRow += rows.length;
        rows = [];
        lines = [];
        bytes = 0;
      }
    }
    carry = text.slice(start);
    text = "";
  }
  if (carry !== "") takeLine(carry);
  if (rows.length > 0) yield buildBatch(file, rows, lines, firstRow, bytes, wanted, opts.keyCol);
}

function buildBatch(
  file: string,
  rows: Row[],
  lines: number[],
  firstRow: number,
  bytes: number,
  wanted: readonly string[] | null,
  keyCol: string | undefined,
): InputBatch {
  const lineOf = Int32Array.from(lines);
  // Columns in first-seen order across the batch.
  const all: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const k of Object.keys(row)) {
      if (!seen.has(k)) {
        seen.add(k);
        all.push(k);
      }
    }
  }
  const names = wanted === null ? all : [...new Set(wanted)].filter((w) => seen.has(w));
  const columns: NamedColumn[] = [];
  for (const name of names) {
    const values = rows.map((r) => (Object.hasOwn(r, name) ? r[name]! : null));
    columns.push(buildJsonColumn(file, name, values, lineOf, name === keyCol));
  }
  return {
    batch: makeBatch(columns, rows.length),
    file,
    firstRow,
    bytes,
    describeRow: (row) => `${file}:${lineOf[row] ?? "?"}`,
    columns: all,
  };
}

function buildJsonColumn(
  file: string,
  name: string,
  values: PyJsonValue[],
  lineOf: Int32Array,
  isKey: boolean,
): NamedColumn {
  let ints = 0;
  let floats = 0;
  let strings = 0;
  let bools = 0;
  let other = 0;
  for (const v of values) {
    if (v === null) continue;
    if (typeof v === "bigint") ints++;
    else if (typeof v === "number" || v instanceof PyFloat) floats++;
    else if (typeof v === "string") strings++;
    else if (typeof v === "boolean") bools++;
    else other++;
  }
  const nonNull = ints + floats + strings + bools + other;
  let data: Data;
  if (nonNull === 0) data = buildNullColumn(values.length);
  else if (ints === nonNull) {
    try {
      data = buildIntColumn(values as (bigint | null)[]);
    } catch {
      return jsonText(name, values);
    }
  } else if (floats === nonNull) {
    data = buildFloatColumn(
      values.map((v) => (v === null ? null : v instanceof PyFloat ? v.value : (v as number))),
    );
  } else if (strings === nonNull) data = buildBytesColumn(values as (string | null)[], "utf8");
  else if (bools === nonNull) data = buildBoolColumn(values as (boolean | null)[]);
  else {
    if (isKey) {
      const i = values.findIndex((v) => v !== null && typeof v !== "bigint" && typeof v !== "string");
      const at = Math.max(i, 0);
      throw new ConfigValidationError(
        `${file}:${lineOf[at]}: key column ${JSON.stringify(name)} holds ${dumpCompact(values[at] ?? null).slice(0, 40)}; ` +
          "keys must be all integers or all strings",
        { field: "input.key_col" },
      );
    }
    return jsonText(name, values);
  }
  return { name, data };
}

function jsonText(name: string, values: PyJsonValue[]): NamedColumn {
  return {
    name,
    data: buildBytesColumn(
      values.map((v) => (v === null ? null : dumpCompact(v))),
      "utf8",
    ),
    jsonText: true,
  };
}
