import { ConfigValidationError } from "@shardy/errors";
import { Data, type DataType, type Int, Type, Vector } from "apache-arrow";
import { DESCRIPTOR_SIZE, TypeCode, writeDescriptor } from "./abi.ts";
import type { Block, KernelHeap } from "./heap.ts";

/** A key column: an Arrow Vector (possibly several chunks) or one Data (possibly a slice). */
// biome-ignore lint/suspicious/noExplicitAny: Arrow's own default type parameter; any key type is checked at run time
export type KeyColumn = Vector<any> | Data<any>;

/** How the kernel sees an Arrow type. */
export interface KeyColumnType {
  readonly code: TypeCode;
  /** Arrow type name for messages, e.g. `Int64`, `Utf8`. */
  readonly name: string;
  /** Byte width of an integer type, 0 for variable-length types. */
  readonly width: number;
  /** Byte width of one offset (4 or 8), 0 for integer types. */
  readonly offsetWidth: number;
  readonly isString: boolean;
  /** Bit-packed values (Arrow boolean): staged as a bitmap with a bit offset. */
  readonly bitPacked?: boolean;
}

const INT_CODES: Record<string, TypeCode> = {
  "8,true": TypeCode.int8,
  "16,true": TypeCode.int16,
  "32,true": TypeCode.int32,
  "64,true": TypeCode.int64,
  "8,false": TypeCode.uint8,
  "16,false": TypeCode.uint16,
  "32,false": TypeCode.uint32,
  "64,false": TypeCode.uint64,
};

/** The kernel type of an Arrow type, or `undefined` when keys of that type cannot be used. */
export function keyColumnType(type: DataType): KeyColumnType | undefined {
  const name = String(type);
  switch (type.typeId) {
    case Type.Int: {
      const int = type as Int;
      const code = INT_CODES[`${int.bitWidth},${int.isSigned}`];
      return code === undefined
        ? undefined
        : { code, name, width: int.bitWidth / 8, offsetWidth: 0, isString: false };
    }
    case Type.Utf8:
      return { code: TypeCode.utf8, name, width: 0, offsetWidth: 4, isString: true };
    case Type.LargeUtf8:
      return { code: TypeCode.largeUtf8, name, width: 0, offsetWidth: 8, isString: true };
    case Type.Binary:
      return { code: TypeCode.binary, name, width: 0, offsetWidth: 4, isString: false };
    case Type.LargeBinary:
      return { code: TypeCode.largeBinary, name, width: 0, offsetWidth: 8, isString: false };
    default:
      return undefined;
  }
}

/** The Data chunks of a key column (works across copies of the Arrow library). */
export function chunksOf(keys: KeyColumn): readonly Data[] {
  if (Data.isData(keys)) return [keys];
  if (Vector.isVector(keys)) return keys.data;
  throw new ConfigValidationError(
    `keys must be an Apache Arrow Vector or Data, got ${describeJs(keys)}; build one with vectorFromArray()`,
  );
}

export function lengthOf(chunks: readonly Data[]): number {
  let n = 0;
  for (const d of chunks) n += d.length;
  return n;
}

export function describeJs(x: unknown): string {
  if (x === null) return "null";
  if (typeof x === "object") return (x as object).constructor?.name ?? "object";
  return typeof x;
}

/** Offsets of a variable-length Data: i32 or (large types) i64. */
type Offsets = Int32Array | BigInt64Array;

/** A chunk of rows copied into kernel memory, described by the descriptor at `desc`. */
export interface StagedChunk {
  readonly desc: number;
  readonly rows: number;
  /** Bytes of value data staged (the output capacity utf8/raw encoding needs). */
  readonly valuesLen: number;
}

/** Column types a single JS key is staged as. */
export type SingleKeyCode =
  | typeof TypeCode.int64
  | typeof TypeCode.uint64
  | typeof TypeCode.utf8
  | typeof TypeCode.binary;

/** Rows per kernel call: bounds kernel memory and keeps each copy cache-friendly. */
export const CHUNK_ROWS = 65_536;
/** Soft cap on staged value bytes per call for variable-length keys (at least one row is staged). */
export const CHUNK_BYTES = 4 << 20;

function malformed(what: string): ConfigValidationError {
  return new ConfigValidationError(
    `key column is malformed: ${what}; the Arrow array does not match its type`,
  );
}

/**
 * Copies row ranges of Arrow arrays into reusable kernel memory and writes their descriptor.
 * Values and offsets are copied as raw bytes (no per-row work in JS); for variable-length data
 * only the bytes the rows use are copied and the descriptor's `values_base` says where they start.
 */
export class Stager {
  private readonly descBlock: Block;
  private readonly values: Block;
  private readonly offsets: Block;
  private readonly validity: Block;

  constructor(private readonly heap: KernelHeap) {
    this.descBlock = heap.block();
    this.values = heap.block();
    this.offsets = heap.block();
    this.validity = heap.block();
  }

  /** Stages up to `maxRows` rows of `data` from row `start` (fewer past the byte budget). */
  stage(data: Data, kt: KeyColumnType, start: number, maxRows: number): StagedChunk {
    let rows = Math.min(maxRows, data.length - start);
    let src: Uint8Array;
    let base = 0;
    let valuesBitOffset = 0;
    let offsetBytes: Uint8Array | undefined;
    if (kt.bitPacked) {
      // Arrow does not slice boolean value buffers: row r is bit `data.offset + r`.
      const bits = (data.values as Uint8Array | undefined) ?? new Uint8Array(0);
      const bit = data.offset + start;
      valuesBitOffset = bit & 7;
      const first = bit >>> 3;
      const len = (valuesBitOffset + rows + 7) >>> 3;
      if (bits.length < first + len) throw malformed("boolean values buffer too short");
      src = bits.subarray(first, first + len);
    } else if (kt.width > 0) {
      const values = data.values as ArrayBufferView | undefined;
      if (!values || values.byteLength < (start + rows) * kt.width)
        throw malformed("values buffer too short");
      src = new Uint8Array(values.buffer, values.byteOffset + start * kt.width, rows * kt.width);
    } else {
      const offs = data.valueOffsets as Offsets | undefined;
      const bytes = (data.values as Uint8Array | undefined) ?? new Uint8Array(0);
      if (!offs || offs.length < data.length + 1) throw malformed("offsets buffer too short");
      rows = rowsWithinBudget(offs, start, rows, CHUNK_BYTES);
      // Clamp so a corrupt offset never makes JS throw; the kernel then reports BAD_OFFSETS.
      const first = clamp(Number(offs[start]), 0, bytes.length);
      const last = clamp(Number(offs[start + rows]), first, bytes.length);
      src = bytes.subarray(first, last);
      base = first;
      offsetBytes = new Uint8Array(
        offs.buffer,
        offs.byteOffset + start * kt.offsetWidth,
        (rows + 1) * kt.offsetWidth,
      );
    }
    let validityPtr = 0;
    let bitOffset = 0;
    let bitmap: Uint8Array | undefined;
    const nullBitmap = data.nullBitmap as Uint8Array | undefined;
    if (nullBitmap && nullBitmap.length > 0 && data.nullCount > 0) {
      const bit = data.offset + start;
      bitOffset = bit & 7;
      const first = bit >>> 3;
      const len = (bitOffset + rows + 7) >>> 3;
      bitmap = nullBitmap.subarray(first, first + len);
      validityPtr = this.heap.ensure(this.validity, len);
      // A bitmap shorter than the rows would be read past its end: zero-fill so they count as null.
      if (bitmap.length < len) this.heap.u8.fill(0, validityPtr, validityPtr + len);
    }
    const desc = this.heap.ensure(this.descBlock, DESCRIPTOR_SIZE);
    const valuesPtr = this.heap.ensure(this.values, src.length);
    const offsetsPtr = offsetBytes ? this.heap.ensure(this.offsets, offsetBytes.length) : 0;
    // All blocks exist now; take the memory view after the last allocation.
    const u8 = this.heap.u8;
    u8.set(src, valuesPtr);
    if (offsetBytes) u8.set(offsetBytes, offsetsPtr);
    if (bitmap) u8.set(bitmap, validityPtr);
    writeDescriptor(this.heap.view, desc, {
      type: kt.code,
      len: rows,
      valuesPtr,
      valuesLen: src.length,
      offsetsPtr,
      validityPtr,
      validityBitOffset: bitOffset,
      valuesBase: base,
      valuesBitOffset,
    });
    return { desc, rows, valuesLen: src.length };
  }

  /**
   * Stages plain byte arrays (no Arrow) from index `start` as one binary column: offsets are
   * computed here, values copied one by one.
   */
  stageArrays(values: readonly Uint8Array[], start: number, maxRows: number): StagedChunk {
    let rows = 0;
    let total = 0;
    while (rows < maxRows && start + rows < values.length) {
      const v = values[start + rows];
      if (!(v instanceof Uint8Array)) {
        throw new ConfigValidationError(
          `value at row ${start + rows} is ${describeJs(v)}, expected Uint8Array; every value must be bytes`,
        );
      }
      if (rows > 0 && total + v.length > CHUNK_BYTES) break;
      total += v.length;
      rows++;
    }
    const desc = this.heap.ensure(this.descBlock, DESCRIPTOR_SIZE);
    const valuesPtr = this.heap.ensure(this.values, total);
    const offsetsPtr = this.heap.ensure(this.offsets, (rows + 1) * 4);
    const u8 = this.heap.u8;
    const view = this.heap.view;
    let pos = 0;
    view.setInt32(offsetsPtr, 0, true);
    for (let i = 0; i < rows; i++) {
      const v = values[start + i] as Uint8Array;
      u8.set(v, valuesPtr + pos);
      pos += v.length;
      view.setInt32(offsetsPtr + 4 * (i + 1), pos, true);
    }
    writeDescriptor(view, desc, {
      type: TypeCode.binary,
      len: rows,
      valuesPtr,
      valuesLen: total,
      offsetsPtr,
      validityPtr: 0,
      validityBitOffset: 0,
      valuesBase: 0,
    });
    return { desc, rows, valuesLen: total };
  }

  /** Stages a single key: `bytes` as one row of an int64, uint64, utf8 or binary column. */
  stageOne(code: SingleKeyCode, bytes: Uint8Array): number {
    const isVar = code === TypeCode.utf8 || code === TypeCode.binary;
    const desc = this.heap.ensure(this.descBlock, DESCRIPTOR_SIZE);
    const valuesPtr = this.heap.ensure(this.values, bytes.length);
    const offsetsPtr = isVar ? this.heap.ensure(this.offsets, 8) : 0;
    this.heap.u8.set(bytes, valuesPtr);
    const view = this.heap.view;
    if (isVar) {
      view.setInt32(offsetsPtr, 0, true);
      view.setInt32(offsetsPtr + 4, bytes.length, true);
    }
    writeDescriptor(view, desc, {
      type: code,
      len: 1,
      valuesPtr,
      valuesLen: bytes.length,
      offsetsPtr,
      validityPtr: 0,
      validityBitOffset: 0,
      valuesBase: 0,
    });
    return desc;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Number.isFinite(x) ? Math.min(Math.max(x, lo), hi) : lo;
}

/** Largest row count in `[1, rows]` whose values from `start` fit in `budget` bytes. */
function rowsWithinBudget(offs: Offsets, start: number, rows: number, budget: number): number {
  const first = Number(offs[start]);
  if (Number(offs[start + rows]) - first <= budget) return rows;
  let lo = 1;
  let hi = rows;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (Number(offs[start + mid]) - first <= budget) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
