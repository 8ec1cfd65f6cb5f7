/**
 * How a row becomes the stored value (reference `serde.py::ValueSpec`), over Arrow record batches:
 * - `binaryCol(col)`: the column's bytes (binary as is, strings as UTF-8, null -> empty);
 * - `jsonCols(cols?)`: `json.dumps(row, sort_keys=True, separators=(",", ":"))` with Python's
 *   `ensure_ascii` and float formatting, byte for byte;
 * - `callableEncoder(fn)`: any `row -> bytes` function (in-process only: a function cannot be sent
 *   to a worker thread; `moduleEncoder` names one that workers import).
 */
import { compareCodePoints } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import { type Data, type DataType, type Field, makeVector, type RecordBatch, Type } from "apache-arrow";
import { dumpCompact, renderColumn } from "./json-values.ts";
import { type BinaryValues, packBinary } from "./pairs.ts";

/** A row as a callable encoder sees it: column name -> JS value (64-bit ints as bigint). */
export type RowObject = Record<string, unknown>;
export type RowEncoder = (row: RowObject, index: number) => Uint8Array;

/** The JSON (wire) form of a value spec, for the CLI and the Python shells. */
export type ValueSpecWire =
  | { kind: "binary_col"; col: string }
  | { kind: "json_cols"; cols: string[] | null }
  | { kind: "module"; module: string; export: string };

export interface EncodeContext {
  /** Column left out of `json_cols` rows (the temporary shard-id column). */
  excludeColumn?: string;
}

export abstract class ValueSpec {
  abstract readonly kind: "binary_col" | "json_cols" | "callable" | "module";
  /** The reference's description: `binary_col:<col>`, `json_cols:all`, `json_cols:a,b`. */
  abstract readonly description: string;

  /** Columns the encoder reads, or `null` for every column. */
  abstract columns(): string[] | null;

  /** Values of every row of `batch`, in row order. */
  abstract encode(batch: RecordBatch, context?: EncodeContext): BinaryValues | Promise<BinaryValues>;

  /** Whether a worker thread can rebuild this spec from `toWire()`. */
  get transferable(): boolean {
    return this.kind !== "callable";
  }

  abstract toWire(): ValueSpecWire;

  static binaryCol(col: string): ValueSpec {
    return new BinaryColSpec(col);
  }

  static jsonCols(cols?: readonly string[] | null): ValueSpec {
    return new JsonColsSpec(cols ?? null);
  }

  static callableEncoder(fn: RowEncoder): ValueSpec {
    if (typeof fn !== "function") {
      throw new ConfigValidationError(
        `callableEncoder takes a function row -> Uint8Array, got ${typeof fn}`,
        {
          field: "value_spec",
        },
      );
    }
    return new CallableSpec(fn);
  }

  /**
   * A row encoder exported by an ES module, so worker threads can import it: `module` is a URL or
   * absolute path, `exportName` the named export (default `encode`) with the `RowEncoder` shape.
   */
  static moduleEncoder(module: string | URL, exportName = "encode"): ValueSpec {
    return new ModuleSpec(String(module), exportName);
  }

  static fromWire(wire: unknown): ValueSpec {
    const w = wire as Partial<Record<string, unknown>> | null;
    if (w && typeof w === "object") {
      if (w.kind === "binary_col" && typeof w.col === "string" && w.col !== "")
        return new BinaryColSpec(w.col);
      if (w.kind === "json_cols" && (w.cols == null || isStringArray(w.cols))) {
        return new JsonColsSpec((w.cols as string[] | null | undefined) ?? null);
      }
      if (w.kind === "module" && typeof w.module === "string" && typeof w.export === "string") {
        return new ModuleSpec(w.module, w.export);
      }
    }
    throw new ConfigValidationError(
      `invalid value spec ${safeJson(wire)}; expected {"kind":"binary_col","col":"<column>"}, ` +
        '{"kind":"json_cols","cols":null|["a","b"]} or {"kind":"module","module":"<url>","export":"encode"}',
      { field: "value_spec" },
    );
  }

  /** Parses the reference description: `binary_col:<col>`, `json_cols:all`, `json_cols:a,b`. */
  static parse(description: string): ValueSpec {
    const colon = description.indexOf(":");
    const kind = colon < 0 ? description : description.slice(0, colon);
    const arg = colon < 0 ? "" : description.slice(colon + 1);
    if (kind === "binary_col" && arg !== "") return new BinaryColSpec(arg);
    if (kind === "json_cols") {
      if (arg === "" || arg === "all") return new JsonColsSpec(null);
      return new JsonColsSpec(arg.split(","));
    }
    throw new ConfigValidationError(
      `invalid value spec ${JSON.stringify(description)}; use "binary_col:<column>", "json_cols:all" or "json_cols:a,b"`,
      { field: "value_spec" },
    );
  }
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((c) => typeof c === "string");
}

function safeJson(x: unknown): string {
  try {
    return JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) ?? String(x);
  } catch {
    return String(x);
  }
}

function missingColumn(batch: RecordBatch, col: string, what: string): ConfigValidationError {
  const names = batch.schema.fields.map((f) => f.name);
  return new ConfigValidationError(
    `${what} column ${JSON.stringify(col)} is not in the input; its columns are ${JSON.stringify(names)}`,
    { field: "value_spec" },
  );
}

class BinaryColSpec extends ValueSpec {
  readonly kind = "binary_col";

  constructor(readonly col: string) {
    super();
  }

  get description(): string {
    return `binary_col:${this.col}`;
  }

  columns(): string[] {
    return [this.col];
  }

  toWire(): ValueSpecWire {
    return { kind: "binary_col", col: this.col };
  }

  encode(batch: RecordBatch): BinaryValues {
    const index = batch.schema.fields.findIndex((f) => f.name === this.col);
    if (index < 0) throw missingColumn(batch, this.col, "binary_col value");
    const column = batch.getChildAt(index)!;
    const n = batch.numRows;
    if (column.data.length === 1) {
      const direct = binaryView(column.data[0]!, this.col);
      if (direct) return direct;
    }
    // Several chunks or a type needing per-row work: gather into one buffer.
    const items: Uint8Array[] = new Array(n);
    let row = 0;
    for (const data of column.data) {
      const view = binaryView(data, this.col);
      if (!view) throw new Error("unreachable: binaryView rejects by throwing");
      for (let i = 0; i < data.length; i++) {
        items[row++] = view.data.subarray(view.offsets[i]!, view.offsets[i + 1]!);
      }
    }
    return packBinary(items);
  }
}

/**
 * The values of a binary/utf8 column as `BinaryValues` without copying (nulls become empty
 * values, as the reference stores `b""`). Throws for other types.
 */
function binaryView(data: Data, col: string): BinaryValues | undefined {
  const type = data.type as DataType;
  switch (type.typeId) {
    case Type.Binary:
    case Type.Utf8: {
      // IPC-read buffers may be padded past the last offset.
      const offsets = (data.valueOffsets as Int32Array).subarray(0, data.length + 1);
      const values = (data.values as Uint8Array | undefined) ?? new Uint8Array(0);
      if (data.nullCount === 0) return { offsets, data: values };
      // Null rows may carry bytes in some producers; the reference stores b"" for None.
      return withNullsEmptied(data, offsets, values);
    }
    case Type.LargeBinary:
    case Type.LargeUtf8: {
      const big = data.valueOffsets as unknown as BigInt64Array;
      const first = Number(big[0]);
      const last = Number(big[data.length]);
      const values = ((data.values as Uint8Array | undefined) ?? new Uint8Array(0)).subarray(first, last);
      const offsets = new Int32Array(data.length + 1);
      for (let i = 0; i <= data.length; i++) offsets[i] = Number(big[i]) - first;
      return data.nullCount === 0 ? { offsets, data: values } : withNullsEmptied(data, offsets, values);
    }
    case Type.FixedSizeBinary: {
      const width = (type as unknown as { byteWidth: number }).byteWidth;
      const values = data.values as Uint8Array;
      const offsets = new Int32Array(data.length + 1);
      for (let i = 0; i <= data.length; i++) offsets[i] = i * width;
      const view = { offsets, data: values.subarray(0, data.length * width) };
      return data.nullCount === 0 ? view : withNullsEmptied(data, offsets, view.data);
    }
    default:
      throw new ConfigValidationError(
        `binary_col column ${JSON.stringify(col)} is of Arrow type ${String(type)}; it must be binary or ` +
          "string (the reference accepts bytes and str only): cast it, or use ValueSpec.jsonCols / a callable encoder",
        { field: "value_spec" },
      );
  }
}

function withNullsEmptied(data: Data, offsets: Int32Array, values: Uint8Array): BinaryValues {
  const bitmap = data.nullBitmap as Uint8Array;
  const items: Uint8Array[] = new Array(data.length);
  const empty = new Uint8Array(0);
  for (let i = 0; i < data.length; i++) {
    const bit = data.offset + i;
    const valid = ((bitmap[bit >>> 3]! >>> (bit & 7)) & 1) === 1;
    items[i] = valid ? values.subarray(offsets[i]!, offsets[i + 1]!) : empty;
  }
  return packBinary(items);
}

class JsonColsSpec extends ValueSpec {
  readonly kind = "json_cols";

  constructor(readonly cols: readonly string[] | null) {
    super();
    if (cols !== null && (!isStringArray(cols) || cols.length === 0)) {
      throw new ConfigValidationError(
        `json_cols takes a non-empty list of column names (or none for every column), got ${safeJson(cols)}`,
        { field: "value_spec" },
      );
    }
  }

  get description(): string {
    return this.cols === null ? "json_cols:all" : `json_cols:${this.cols.join(",")}`;
  }

  columns(): string[] | null {
    return this.cols === null ? null : [...this.cols];
  }

  toWire(): ValueSpecWire {
    return { kind: "json_cols", cols: this.cols === null ? null : [...this.cols] };
  }

  encode(batch: RecordBatch, context: EncodeContext = {}): BinaryValues {
    const n = batch.numRows;
    const fields = batch.schema.fields;
    // Python dict semantics: a projected name appears once; a missing column is null.
    const names =
      this.cols === null
        ? fields.map((f) => f.name).filter((name) => name !== context.excludeColumn)
        : [...new Set(this.cols)];
    names.sort(compareCodePoints);
    const parts: { prefix: string; fragments: string[] | null }[] = [];
    for (const [i, name] of names.entries()) {
      const prefix = `${i === 0 ? "{" : ","}${dumpCompact(name)}:`;
      const index = fields.findIndex((f) => f.name === name);
      if (index < 0) {
        parts.push({ prefix, fragments: null });
        continue;
      }
      const field = fields[index] as Field;
      const fragments: string[] = new Array(n);
      let row = 0;
      for (const data of batch.getChildAt(index)!.data) {
        const chunk: string[] = new Array(data.length);
        renderColumn(name, field, data, chunk);
        for (const f of chunk) fragments[row++] = f;
      }
      parts.push({ prefix, fragments });
    }
    const rows: string[] = new Array(n);
    for (let r = 0; r < n; r++) {
      let s = "";
      for (const part of parts) s += part.prefix + (part.fragments === null ? "null" : part.fragments[r]);
      rows[r] = parts.length === 0 ? "{}" : `${s}}`;
    }
    return packAscii(rows);
  }
}

const encoder = new TextEncoder();

/** Packs ASCII strings (ensure_ascii output) into one buffer: one byte per UTF-16 unit. */
function packAscii(rows: readonly string[]): BinaryValues {
  const offsets = new Int32Array(rows.length + 1);
  let pos = 0;
  for (let i = 0; i < rows.length; i++) {
    pos += rows[i]!.length;
    offsets[i + 1] = pos;
  }
  const data = encoder.encode(rows.join(""));
  if (data.length !== pos) {
    // Only reachable if a fragment was not ASCII; fall back to per-row encoding.
    return packBinary(rows.map((r) => encoder.encode(r)));
  }
  return { offsets, data };
}

/** Rows of `batch` as plain objects (for callable encoders). */
export function rowObjects(batch: RecordBatch): RowObject[] {
  const n = batch.numRows;
  const rows: RowObject[] = Array.from({ length: n }, () => ({}));
  batch.schema.fields.forEach((field, index) => {
    const vector = batch.getChildAt(index)!;
    let row = 0;
    for (const data of vector.data) {
      const v = makeVector(data);
      for (let i = 0; i < data.length; i++) rows[row++]![field.name] = v.get(i);
    }
  });
  return rows;
}

function encodeRows(batch: RecordBatch, fn: RowEncoder, what: string): BinaryValues {
  const rows = rowObjects(batch);
  const values: Uint8Array[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const value = fn(rows[i]!, i);
    if (!(value instanceof Uint8Array)) {
      throw new ConfigValidationError(
        `${what} returned ${value === null ? "null" : typeof value} for row ${i}; it must return a Uint8Array`,
        { field: "value_spec" },
      );
    }
    values[i] = value;
  }
  return packBinary(values);
}

class CallableSpec extends ValueSpec {
  readonly kind = "callable";

  constructor(readonly fn: RowEncoder) {
    super();
  }

  get description(): string {
    return "callable_encoder";
  }

  columns(): null {
    return null;
  }

  toWire(): ValueSpecWire {
    throw new ConfigValidationError(
      "a callableEncoder cannot be sent to a worker thread or another process; use ValueSpec.moduleEncoder(url, name) " +
        "or run the writers in-process (workers: 0)",
      { field: "value_spec" },
    );
  }

  encode(batch: RecordBatch): BinaryValues {
    return encodeRows(batch, this.fn, "callable encoder");
  }
}

class ModuleSpec extends ValueSpec {
  readonly kind = "module";
  #fn: Promise<RowEncoder> | undefined;

  constructor(
    readonly module: string,
    readonly exportName: string,
  ) {
    super();
  }

  get description(): string {
    return `module:${this.module}#${this.exportName}`;
  }

  columns(): null {
    return null;
  }

  toWire(): ValueSpecWire {
    return { kind: "module", module: this.module, export: this.exportName };
  }

  async encode(batch: RecordBatch): Promise<BinaryValues> {
    this.#fn ??= this.#load();
    return encodeRows(batch, await this.#fn, `encoder ${this.description}`);
  }

  async #load(): Promise<RowEncoder> {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(this.module)) as Record<string, unknown>;
    } catch (cause) {
      throw new ConfigValidationError(
        `cannot import value encoder module ${JSON.stringify(this.module)}: ${(cause as Error).message}`,
        { field: "value_spec", cause },
      );
    }
    const fn = mod[this.exportName];
    if (typeof fn !== "function") {
      throw new ConfigValidationError(
        `module ${JSON.stringify(this.module)} has no function export ${JSON.stringify(this.exportName)}`,
        { field: "value_spec" },
      );
    }
    return fn as RowEncoder;
  }
}
