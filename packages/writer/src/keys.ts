/**
 * Key-column checks before anything is written (reference §5.1 rules, with the row named), and
 * the logical min/max key of a shard from its encoded keys: big-endian ints and UTF-8 sort like
 * the logical keys (Python `<` on non-negative ints, on `str` by code point, on bytes), so the
 * byte-wise extremes decode to the logical extremes.
 */
import type { KeyEncoding, ManifestKey } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import { type Data, type DataType, type Int, type RecordBatch, Type, type Vector } from "apache-arrow";

/** Names a row for messages, e.g. `row 12 of data.parquet` or `data.csv:17`. */
export type RowNamer = (row: number) => string;

const defaultNamer: RowNamer = (row) => `row ${row}`;

/** The key column of `batch`, or a `ConfigValidationError` listing the columns there are. */
export function keyColumnOf(
  batch: RecordBatch,
  keyCol: string,
  where = "the input",
  allColumns?: readonly string[],
): Vector {
  const index = batch.schema.fields.findIndex((f) => f.name === keyCol);
  if (index < 0) {
    const names = allColumns ?? batch.schema.fields.map((f) => f.name);
    throw new ConfigValidationError(
      `key column ${JSON.stringify(keyCol)} is not in ${where}; its columns are ${JSON.stringify(names)}; ` +
        "set input.key_col to one of them",
      { field: "input.key_col" },
    );
  }
  return batch.getChildAt(index)!;
}

export type KeyKind = "int" | "string" | "bytes";

/** What logical keys a key column holds, or a typed error when it cannot hold keys at all. */
export function keyKindOf(type: DataType, keyCol: string): KeyKind {
  switch (type.typeId) {
    case Type.Int:
      return "int";
    case Type.Utf8:
    case Type.LargeUtf8:
      return "string";
    case Type.Binary:
    case Type.LargeBinary:
      return "bytes";
    default:
      throw new ConfigValidationError(
        `key column ${JSON.stringify(keyCol)} has Arrow type ${String(type)}; keys must be integers, strings or ` +
          "bytes (cast the column first)",
        { field: "input.key_col" },
      );
  }
}

/**
 * Throws a `ConfigValidationError` naming the first key that is null or does not fit `encoding`
 * (u64be: ints in [0, 2^64-1] or 8-byte binary; u32be: [0, 2^32-1] or 4-byte binary; utf8/raw:
 * strings or bytes). Routing additionally needs ints within signed 64 bits.
 */
export function checkKeysFit(
  column: Vector | Data,
  encoding: KeyEncoding,
  keyCol: string,
  nameRow: RowNamer = defaultNamer,
): void {
  const chunks = "data" in column && Array.isArray(column.data) ? (column as Vector).data : [column as Data];
  let base = 0;
  for (const data of chunks) {
    checkChunk(data, encoding, keyCol, (row) => nameRow(base + row));
    base += data.length;
  }
}

function fail(message: string): never {
  throw new ConfigValidationError(message, { field: "input.key_col" });
}

function checkChunk(data: Data, encoding: KeyEncoding, keyCol: string, nameRow: RowNamer): void {
  const type = data.type as DataType;
  const kind = keyKindOf(type, keyCol);
  const col = JSON.stringify(keyCol);
  if (data.nullCount > 0) {
    const row = firstNull(data);
    fail(`key column ${col} is null at ${nameRow(row)}; keys must not be null (drop or fill those rows)`);
  }
  const intEncoding = encoding === "u64be" || encoding === "u32be";
  if (kind === "string" && intEncoding) {
    fail(
      `key column ${col} holds strings but key_encoding is ${encoding}, which takes integer keys; ` +
        'use key_encoding "utf8" for string keys',
    );
  }
  if (kind === "int" && !intEncoding) {
    fail(
      `key column ${col} holds integers but key_encoding is ${encoding}, which takes strings or bytes; ` +
        'use key_encoding "u64be" (or "u32be") for integer keys',
    );
  }
  if (kind === "bytes" && intEncoding) {
    const width = encoding === "u64be" ? 8 : 4;
    const offsets = data.valueOffsets as ArrayLike<number | bigint>;
    for (let i = 0; i < data.length; i++) {
      const len = Number(offsets[i + 1]) - Number(offsets[i]);
      if (len !== width) {
        fail(
          `binary key at ${nameRow(i)} of column ${col} is ${len} bytes; ${encoding} takes integer keys or ` +
            `pre-encoded ${width}-byte keys (pass the integer column instead)`,
        );
      }
    }
  }
  if (kind === "int") checkIntRange(data, type as Int, encoding, col, nameRow);
}

function checkIntRange(data: Data, type: Int, encoding: KeyEncoding, col: string, nameRow: RowNamer): void {
  const values = data.values as ArrayLike<number | bigint>;
  const n = data.length;
  const u32 = encoding === "u32be";
  if (type.isSigned) {
    const bad = type.bitWidth === 64 ? firstOutOfRange64(data, u32) : -1;
    const from = bad >= 0 ? bad : type.bitWidth === 64 ? n : 0;
    for (let i = from; i < n; i++) {
      const v = values[i]!;
      if (v < 0) {
        fail(
          `key ${v} at ${nameRow(i)} of column ${col} is negative; ${encoding} keys must be in [0, 2^${u32 ? 32 : 64}-1]`,
        );
      }
      if (u32 && v > 0xffff_ffff) {
        fail(
          `key ${v} at ${nameRow(i)} of column ${col} is above 2^32-1, the u32be range; use key_encoding u64be`,
        );
      }
    }
    return;
  }
  if (type.bitWidth === 64) {
    const bad = firstOutOfRange64(data, u32);
    for (let i = Math.max(0, bad < 0 ? n : bad); i < n; i++) {
      const v = values[i] as bigint;
      if (u32 && v > 0xffff_ffffn) {
        fail(
          `key ${v} at ${nameRow(i)} of column ${col} is above 2^32-1, the u32be range; use key_encoding u64be`,
        );
      }
      if (v > 0x7fff_ffff_ffff_ffffn) {
        fail(
          `key ${v} at ${nameRow(i)} of column ${col} is above 2^63-1: routing hashes ints as signed 64-bit ` +
            "(reference canonical_bytes), so it cannot be routed",
        );
      }
    }
  }
}

/**
 * First row of a signed 64-bit column that is negative (or, for u32be, above 2^32-1), by looking
 * at the high 32-bit word of each little-endian value: no BigInt per row. -1 when all fit.
 */
function firstOutOfRange64(data: Data, u32: boolean): number {
  const values = data.values as BigInt64Array;
  const n = data.length;
  if (values.byteOffset % 4 !== 0) return 0; // unaligned: let the caller check every row
  const words = new Int32Array(values.buffer, values.byteOffset, n * 2);
  for (let i = 0; i < n; i++) {
    const high = words[2 * i + 1]!;
    if (high < 0 || (u32 && high !== 0)) return i;
  }
  return -1;
}

function firstNull(data: Data): number {
  const bitmap = data.nullBitmap as Uint8Array;
  for (let i = 0; i < data.length; i++) {
    const bit = data.offset + i;
    if (((bitmap[bit >>> 3]! >>> (bit & 7)) & 1) === 0) return i;
  }
  return 0;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** The logical key of encoded key bytes: bigint for int encodings, string or bytes per column kind. */
export function decodeLogicalKey(bytes: Uint8Array, encoding: KeyEncoding, kind: KeyKind): ManifestKey {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (kind === "int" && encoding === "u64be" && bytes.length === 8) return view.getBigUint64(0, false);
  if (kind === "int" && encoding === "u32be" && bytes.length === 4) return BigInt(view.getUint32(0, false));
  if (kind === "string") return utf8.decode(bytes);
  return bytes.slice();
}
