/**
 * Arrow columns -> Python `json.dumps` fragments, one per row, column at a time. This is what
 * `ValueSpec.jsonCols` splices into `{"a":..,"b":..}`: ints as digits (64-bit exact), floats as
 * Python `repr` (`1.0`, `1e+16`, `NaN`), strings ASCII-escaped, nested lists/structs recursively.
 * Types Python's `json.dumps` cannot serialize (bytes, dates, decimals) are rejected, as the
 * reference would raise `TypeError`.
 */
import { PyFloat, type PyJsonValue, pyFloatRepr, pyJsonDumps } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import {
  type Data,
  type DataType,
  type Field,
  type Map_,
  makeVector,
  type Struct,
  Type,
  type Vector,
} from "apache-arrow";

/** Field metadata marking a Utf8 column whose values are already JSON text (NDJSON nested values). */
export const JSON_TEXT_METADATA_KEY = "shardy.json";

const COMPACT: readonly [string, string] = [",", ":"];

/** JSON text of a single value, exactly as the reference writes it inside `json_cols` output. */
export function dumpCompact(value: PyJsonValue): string {
  return pyJsonDumps(value, { sortKeys: true, separators: COMPACT });
}

export function isJsonTextField(field: Field): boolean {
  return field.metadata.get(JSON_TEXT_METADATA_KEY) === "1";
}

function unsupported(column: string, type: DataType, why: string): ConfigValidationError {
  return new ConfigValidationError(
    `json_cols cannot serialize column ${JSON.stringify(column)} of Arrow type ${String(type)}: ${why}; ` +
      "drop it with ValueSpec.jsonCols([...]) listing the other columns, cast it, or use a callable encoder",
    { field: "value_spec" },
  );
}

/**
 * Appends the JSON fragment of every row of `data` to `out[row]`'s parts. Fast paths for flat
 * numeric, boolean and string columns; nested and dictionary types go through JS values.
 */
export function renderColumn(column: string, field: Field, data: Data, out: string[]): void {
  const n = data.length;
  const type = data.type as DataType;
  const valid = validity(data);
  switch (type.typeId) {
    case Type.Null:
      for (let i = 0; i < n; i++) out[i] = "null";
      return;
    case Type.Int: {
      const values = data.values as ArrayLike<number | bigint>;
      for (let i = 0; i < n; i++) out[i] = valid(i) ? String(values[i]) : "null";
      return;
    }
    case Type.Float: {
      if ((type as { precision?: number }).precision === 0) break; // Float16: decode via get()
      const values = data.values as Float32Array | Float64Array;
      for (let i = 0; i < n; i++) out[i] = valid(i) ? pyFloatRepr(values[i]!) : "null";
      return;
    }
    case Type.Bool: {
      const bits = data.values as Uint8Array;
      for (let i = 0; i < n; i++) {
        if (!valid(i)) out[i] = "null";
        else {
          const bit = data.offset + i;
          out[i] = (bits[bit >>> 3]! >>> (bit & 7)) & 1 ? "true" : "false";
        }
      }
      return;
    }
    case Type.Utf8:
    case Type.LargeUtf8: {
      const offsets = data.valueOffsets as ArrayLike<number | bigint>;
      const bytes = data.values as Uint8Array;
      const raw = isJsonTextField(field);
      for (let i = 0; i < n; i++) {
        if (!valid(i)) {
          out[i] = "null";
          continue;
        }
        const text = decodeUtf8(bytes, Number(offsets[i]), Number(offsets[i + 1]));
        out[i] = raw ? text : dumpCompact(text);
      }
      return;
    }
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      throw unsupported(
        column,
        type,
        "bytes are not JSON serializable (Python's json.dumps raises TypeError)",
      );
    default:
      break;
  }
  // Generic path: nested, dictionary, float16.
  for (let i = 0; i < n; i++) {
    const value = getValue(data, i);
    out[i] = value == null ? "null" : dumpCompact(toPyJson(value, type, column));
  }
}

// `Data` has no `get`; a one-chunk Vector does, and apache-arrow builds one cheaply.
const vectors = new WeakMap<Data, Vector>();
function getValue(data: Data, i: number): unknown {
  let v = vectors.get(data);
  if (!v) {
    v = makeVector(data);
    vectors.set(data, v);
  }
  return v.get(i);
}

/** A JS value read from an Arrow column of `type`, as the Python value `json.dumps` would see. */
export function toPyJson(value: unknown, type: DataType, column: string): PyJsonValue {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case Type.Null:
      return null;
    case Type.Int:
      return typeof value === "bigint" ? value : Number(value);
    case Type.Float:
      return new PyFloat(Number(value));
    case Type.Bool:
      return Boolean(value);
    case Type.Utf8:
    case Type.LargeUtf8:
      return String(value);
    case Type.Dictionary:
      return toPyJson(value, (type as unknown as { dictionary: DataType }).dictionary, column);
    case Type.List:
    case Type.FixedSizeList:
    case Type.LargeList: {
      const child = (type as unknown as { children: Field[] }).children[0]!.type as DataType;
      const items = value as Iterable<unknown>;
      return Array.from(items, (item) => toPyJson(item, child, column));
    }
    case Type.Struct: {
      const struct = type as unknown as Struct;
      const row = value as Record<string, unknown>;
      const obj: Record<string, PyJsonValue> = {};
      for (const f of struct.children) obj[f.name] = toPyJson(row[f.name], f.type as DataType, column);
      return obj;
    }
    case Type.Map: {
      const map = type as unknown as Map_;
      const entry = map.children[0]!.type as unknown as Struct;
      const keyType = entry.children[0]!.type as DataType;
      const valueType = entry.children[1]!.type as DataType;
      const obj: Record<string, PyJsonValue> = {};
      for (const [k, v] of value as Iterable<[unknown, unknown]>) {
        obj[mapKey(k, keyType, column)] = toPyJson(v, valueType, column);
      }
      return obj;
    }
    default:
      throw unsupported(column, type, "Python's json.dumps cannot serialize this type");
  }
}

/** Python's json.dumps turns int/float/bool dict keys into strings; anything else raises. */
function mapKey(key: unknown, type: DataType, column: string): string {
  switch (type.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
      return String(key);
    case Type.Int:
      return String(key);
    case Type.Float:
      return pyFloatRepr(Number(key));
    case Type.Bool:
      return key ? "true" : "false";
    default:
      throw unsupported(column, type, "map keys must be strings, integers, floats or booleans");
  }
}

/** Row validity test for `data` (all-valid fast path). */
export function validity(data: Data): (i: number) => boolean {
  const bitmap = data.nullBitmap as Uint8Array | undefined;
  if (!bitmap || bitmap.length === 0 || data.nullCount === 0) return () => true;
  const base = data.offset;
  return (i) => {
    const bit = base + i;
    return ((bitmap[bit >>> 3]! >>> (bit & 7)) & 1) === 1;
  };
}

const utf8 = new TextDecoder();

/** Decodes UTF-8, with a fast path for short ASCII (most keys and column values). */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let s = "";
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      if (b >= 0x80) return utf8.decode(bytes.subarray(start, end));
      s += String.fromCharCode(b);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(start, end));
}
