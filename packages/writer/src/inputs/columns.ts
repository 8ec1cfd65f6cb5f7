/**
 * Builds Arrow columns from parsed JS values (CSV fields, NDJSON values, Parquet arrays) without
 * Arrow's generic builders: one pass, one buffer per column.
 */
import {
  Binary,
  Bool,
  type Data,
  Field,
  Float64,
  Int64,
  makeData,
  Null,
  RecordBatch,
  Schema,
  Struct,
  Uint64,
  Utf8,
} from "apache-arrow";
import { JSON_TEXT_METADATA_KEY } from "../json-values.ts";

const encoder = new TextEncoder();

class ValidityBuilder {
  readonly bits: Uint8Array;
  nulls = 0;

  constructor(readonly length: number) {
    this.bits = new Uint8Array((length + 7) >>> 3).fill(0xff);
  }

  setNull(i: number): void {
    this.bits[i >>> 3]! &= ~(1 << (i & 7));
    this.nulls++;
  }

  /** The bitmap, or an empty one when every row is valid (Arrow's convention). */
  get bitmap(): Uint8Array {
    return this.nulls === 0 ? new Uint8Array(0) : this.bits;
  }
}

/** Utf8 (or Binary) column from strings / byte arrays; `null`/`undefined` are nulls. */
export function buildBytesColumn(
  values: ArrayLike<string | Uint8Array | null | undefined>,
  kind: "utf8" | "binary",
): Data {
  const n = values.length;
  const validity = new ValidityBuilder(n);
  const offsets = new Int32Array(n + 1);
  let buffer = new Uint8Array(Math.max(64, n * 8));
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v == null) {
      validity.setNull(i);
      offsets[i + 1] = pos;
      continue;
    }
    const maxLen = typeof v === "string" ? v.length * 3 : v.length;
    if (pos + maxLen > buffer.length) {
      const next = new Uint8Array(Math.max(buffer.length * 2, pos + maxLen));
      next.set(buffer.subarray(0, pos));
      buffer = next;
    }
    if (typeof v === "string") {
      pos += encoder.encodeInto(v, buffer.subarray(pos)).written;
    } else {
      buffer.set(v, pos);
      pos += v.length;
    }
    offsets[i + 1] = pos;
  }
  const common = {
    length: n,
    nullCount: validity.nulls,
    nullBitmap: validity.bitmap,
    valueOffsets: offsets,
    data: buffer.subarray(0, pos),
  };
  return kind === "utf8"
    ? makeData({ type: new Utf8(), ...common })
    : makeData({ type: new Binary(), ...common });
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** Int64 column (Uint64 when a value exceeds 2^63-1 and none is negative). */
export function buildIntColumn(values: ArrayLike<bigint | null | undefined>): Data {
  const n = values.length;
  const validity = new ValidityBuilder(n);
  let unsigned = false;
  let negative = false;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v == null) continue;
    if (v > I64_MAX) unsigned = true;
    if (v < 0n) negative = true;
  }
  if (unsigned && negative) {
    throw new RangeError("integers span beyond both signed and unsigned 64-bit ranges");
  }
  const out = unsigned ? new BigUint64Array(n) : new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v == null) validity.setNull(i);
    else {
      if (v < I64_MIN || v > 2n ** 64n - 1n) throw new RangeError(`integer ${v} does not fit 64 bits`);
      out[i] = v;
    }
  }
  return makeData({
    type: unsigned ? new Uint64() : new Int64(),
    length: n,
    nullCount: validity.nulls,
    nullBitmap: validity.bitmap,
    data: out,
  });
}

export function buildFloatColumn(values: ArrayLike<number | null | undefined>): Data {
  const n = values.length;
  const validity = new ValidityBuilder(n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v == null) validity.setNull(i);
    else out[i] = v;
  }
  return makeData({
    type: new Float64(),
    length: n,
    nullCount: validity.nulls,
    nullBitmap: validity.bitmap,
    data: out,
  });
}

export function buildBoolColumn(values: ArrayLike<boolean | null | undefined>): Data {
  const n = values.length;
  const validity = new ValidityBuilder(n);
  const bits = new Uint8Array((n + 7) >>> 3);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v == null) validity.setNull(i);
    else if (v) bits[i >>> 3]! |= 1 << (i & 7);
  }
  return makeData({
    type: new Bool(),
    length: n,
    nullCount: validity.nulls,
    nullBitmap: validity.bitmap,
    data: bits,
  });
}

export function buildNullColumn(length: number): Data {
  return makeData({ type: new Null(), length });
}

export interface NamedColumn {
  name: string;
  data: Data;
  /** Values are JSON text already (`json_cols` splices them as they are). */
  jsonText?: boolean;
}

/** A record batch from columns of equal length. */
export function makeBatch(columns: readonly NamedColumn[], length: number): RecordBatch {
  const fields = columns.map((c) => {
    const metadata = c.jsonText ? new Map([[JSON_TEXT_METADATA_KEY, "1"]]) : undefined;
    return new Field(c.name, c.data.type, true, metadata);
  });
  const schema = new Schema(fields);
  const struct = makeData({
    type: new Struct(fields),
    length,
    nullCount: 0,
    children: columns.map((c) => c.data),
  });
  return new RecordBatch(schema, struct);
}
