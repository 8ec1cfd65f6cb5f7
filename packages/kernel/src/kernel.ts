import { ConfigValidationError } from "@shardy/errors";
import { Binary, type Data, makeData, Vector } from "apache-arrow";
import { EncodingCode, type KernelExports, type KeyEncoding } from "./abi.ts";
import type { CelColumnType } from "./cel/columns.ts";
import { type CelCompileOptions, type CelProgram, compileCel, compileCelEnv } from "./cel/program.ts";
import {
  CHUNK_ROWS,
  chunksOf,
  describeJs,
  type KeyColumn,
  type KeyColumnType,
  keyColumnType,
  lengthOf,
  type StagedChunk,
  Stager,
} from "./columns.ts";
import { type FailureContext, kernelFailure, renderBytes } from "./errors.ts";
import type { Block } from "./heap.ts";
import { KernelHeap } from "./heap.ts";
import { type ScalarKey, stageKey } from "./keys.ts";

/** Largest shard count: db ids are returned as int32. */
export const MAX_NUM_DBS = 0x7fff_ffff;
/** Bytes fed to the kernel per call when hashing one large input. */
const SCALAR_CHUNK = 1 << 20;

/** Values for SipHash/CRC batches: plain byte arrays, or an Arrow utf8/binary column. */
export type ByteValues = readonly Uint8Array[] | KeyColumn;

/**
 * The routing kernel bound to one WASM instance. Methods are synchronous and reuse scratch
 * memory inside the instance, so one `Kernel` serves one thread; load one per worker.
 */
export class Kernel {
  private readonly ex: KernelExports;
  private readonly heap: KernelHeap;
  private readonly stager: Stager;
  private readonly out: Block;
  private readonly out2: Block;
  private readonly scratch: Block;

  constructor(
    readonly instance: WebAssembly.Instance,
    /** The compiled module, to instantiate more kernels (e.g. in workers) without recompiling. */
    readonly module: WebAssembly.Module,
  ) {
    this.ex = instance.exports as unknown as KernelExports;
    this.heap = new KernelHeap(this.ex);
    this.stager = new Stager(this.heap);
    this.out = this.heap.block();
    this.out2 = this.heap.block();
    this.scratch = this.heap.block();
  }

  /** The raw exports and scratch heap, for the CEL host in this package (not a public API). */
  get internals(): { readonly ex: KernelExports; readonly heap: KernelHeap } {
    return { ex: this.ex, heap: this.heap };
  }

  /**
   * Compiles a CEL routing expression over `cel_columns` (int, uint, double, string, bytes,
   * bool). A compile error is a ConfigValidationError with a caret under the offending spot.
   */
  compileCel(expr: string, columns: Record<string, CelColumnType>): CelProgram {
    return compileCel(this, expr, columns);
  }

  /** Compiles CEL with variables of any CEL type (`list(int)`, `map(string, dyn)`, ...). */
  compileCelEnv(expr: string, declarations: Record<string, string>, options?: CelCompileOptions): CelProgram {
    return compileCelEnv(this, expr, declarations, options);
  }

  /**
   * Shard id of every key: `xxh3_64(canonical_bytes(key)) mod numDbs`. Pass `out` (at least as
   * long as `keys`) to reuse an output array across batches; otherwise a new one is returned.
   */
  routeBatch(keys: KeyColumn, numDbs: number, out?: Int32Array): Int32Array {
    checkNumDbs(numDbs);
    const chunks = chunksOf(keys);
    const result = outputArray(out, lengthOf(chunks), Int32Array);
    this.eachChunk(chunks, "route", undefined, (chunk, rowBase) => {
      const ptr = this.heap.ensure(this.out, chunk.rows * 4);
      const rc = this.ex.kernel_route_hash(chunk.desc, numDbs, ptr);
      if (rc !== 0) return rc;
      result.set(new Int32Array(this.heap.memoryBuffer, ptr, chunk.rows), rowBase);
      return 0;
    });
    return result;
  }

  /** Shard id of one key. */
  routeKey(key: ScalarKey, numDbs: number): number {
    checkNumDbs(numDbs);
    const staged = stageKey(key, "route");
    const desc = this.stager.stageOne(staged.code, staged.bytes);
    const out = this.heap.ensure(this.out, 4);
    const rc = this.ex.kernel_route_hash(desc, numDbs, out);
    if (rc !== 0) throw kernelFailure(rc, { op: "route", typeName: staged.typeName, value: staged.render });
    return this.heap.view.getInt32(out, true);
  }

  /** `xxh3_64(canonical_bytes(key))` of every key; `out` as for `routeBatch`. */
  xxh3Batch(keys: KeyColumn, out?: BigUint64Array): BigUint64Array {
    const chunks = chunksOf(keys);
    const result = outputArray(out, lengthOf(chunks), BigUint64Array);
    this.eachChunk(chunks, "hash", undefined, (chunk, rowBase) => {
      const ptr = this.heap.ensure(this.out, chunk.rows * 8);
      const rc = this.ex.kernel_xxh3_batch(chunk.desc, ptr);
      if (rc !== 0) return rc;
      result.set(new BigUint64Array(this.heap.memoryBuffer, ptr, chunk.rows), rowBase);
      return 0;
    });
    return result;
  }

  /** `xxh3_64(canonical_bytes(key))`, seed 0, as an unsigned 64-bit bigint. */
  xxh3(key: ScalarKey): bigint {
    const staged = stageKey(key, "hash");
    if (typeof key === "string" || key instanceof Uint8Array) {
      return BigInt.asUintN(64, this.ex.kernel_xxh3(this.copyIn(staged.bytes), staged.bytes.length));
    }
    const desc = this.stager.stageOne(staged.code, staged.bytes);
    const out = this.heap.ensure(this.out, 8);
    const rc = this.ex.kernel_xxh3_batch(desc, out);
    if (rc !== 0) throw kernelFailure(rc, { op: "hash", typeName: staged.typeName, value: staged.render });
    return this.heap.view.getBigUint64(out, true);
  }

  /** Stored key bytes of every key (reference-format §5.1), as an Arrow Binary vector. */
  encodeKeys(keys: KeyColumn, encoding: KeyEncoding): Vector<Binary> {
    const code = encodingCode(encoding);
    const chunks = chunksOf(keys);
    const parts: Data<Binary>[] = [];
    const width = encoding === "u64be" ? 8 : encoding === "u32be" ? 4 : 0;
    this.eachChunk(chunks, "encode", encoding, (chunk) => {
      const cap = width > 0 ? width * chunk.rows : chunk.valuesLen;
      const offsetsPtr = this.heap.ensure(this.out, (chunk.rows + 1) * 4);
      const dataPtr = this.heap.ensure(this.out2, Math.max(cap, 1));
      const rc = this.ex.kernel_encode_keys(chunk.desc, code, offsetsPtr, dataPtr, cap);
      if (rc !== 0) return rc;
      const buffer = this.heap.memoryBuffer;
      const valueOffsets = new Int32Array(buffer, offsetsPtr, chunk.rows + 1).slice();
      const data = new Uint8Array(buffer, dataPtr, valueOffsets[chunk.rows] ?? 0).slice();
      parts.push(makeData({ type: new Binary(), length: chunk.rows, nullCount: 0, valueOffsets, data }));
      return 0;
    });
    if (parts.length === 0) {
      parts.push(
        makeData({
          type: new Binary(),
          length: 0,
          nullCount: 0,
          valueOffsets: new Int32Array(1),
          data: new Uint8Array(0),
        }),
      );
    }
    return new Vector(parts);
  }

  /** Stored key bytes of one key. */
  encodeKey(key: ScalarKey, encoding: KeyEncoding): Uint8Array {
    const code = encodingCode(encoding);
    const staged = stageKey(key, "encode", encoding);
    const desc = this.stager.stageOne(staged.code, staged.bytes);
    const cap = Math.max(staged.bytes.length, 8);
    const offsetsPtr = this.heap.ensure(this.out, 8);
    const dataPtr = this.heap.ensure(this.out2, cap);
    const rc = this.ex.kernel_encode_keys(desc, code, offsetsPtr, dataPtr, cap);
    if (rc !== 0) {
      throw kernelFailure(rc, { op: "encode", encoding, typeName: staged.typeName, value: staged.render });
    }
    const len = this.heap.view.getInt32(offsetsPtr + 4, true);
    return this.heap.u8.slice(dataPtr, dataPtr + len);
  }

  /** SipHash-1-3 (zero key) of every value. */
  siphash13Batch(values: ByteValues): BigUint64Array {
    const call = (desc: number, out: number) => this.ex.kernel_siphash13_batch(desc, out);
    return new BigUint64Array(this.bytesBatch(values, "siphash13", 8, call));
  }

  /** CRC-32 (IEEE) of every value. */
  crc32Batch(values: ByteValues): Uint32Array {
    const call = (desc: number, out: number) => this.ex.kernel_crc32_batch(desc, out);
    return new Uint32Array(this.bytesBatch(values, "crc32", 4, call));
  }

  /** SipHash-1-3 with the zero key, as an unsigned 64-bit bigint. */
  siphash13(bytes: Uint8Array | string): bigint {
    const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    return BigInt.asUintN(64, this.ex.kernel_siphash13(this.copyIn(data), data.length));
  }

  /** CRC-32 (IEEE, zlib-compatible) of `bytes`, continuing from `init` (a previous result). */
  crc32(bytes: Uint8Array, init = 0): number {
    if (!Number.isInteger(init) || init < 0 || init > 0xffff_ffff) {
      throw new ConfigValidationError(`crc32 init must be an unsigned 32-bit integer, got ${init}`);
    }
    let crc = init;
    for (let at = 0; at < bytes.length; at += SCALAR_CHUNK) {
      const part = bytes.subarray(at, at + SCALAR_CHUNK);
      crc = this.ex.kernel_crc32(this.copyIn(part), part.length, crc) >>> 0;
    }
    return crc;
  }

  /** Copies `bytes` into the scratch block and returns its pointer. */
  private copyIn(bytes: Uint8Array): number {
    const ptr = this.heap.ensure(this.scratch, bytes.length);
    this.heap.u8.set(bytes, ptr);
    return ptr;
  }

  /**
   * Stages every chunk of `chunks` in turn and runs `call` on it; a non-zero code becomes a typed
   * error naming the failing row of the caller's input and its value.
   */
  private eachChunk(
    chunks: readonly Data[],
    op: FailureContext["op"],
    encoding: KeyEncoding | undefined,
    call: (chunk: StagedChunk, rowBase: number) => number,
  ): void {
    let rowBase = 0;
    for (const data of chunks) {
      const kt = keyColumnType(data.type);
      if (kt === undefined) throw unsupportedColumn(data, op);
      for (let start = 0; start < data.length; ) {
        const chunk = this.stager.stage(data, kt, start, CHUNK_ROWS);
        const rc = call(chunk, rowBase + start);
        if (rc !== 0) {
          const local = start + this.errorRow(chunk);
          throw kernelFailure(rc, {
            op,
            encoding,
            typeName: kt.name,
            row: rowBase + local,
            value: () => renderValue(data, kt, local),
          });
        }
        start += chunk.rows;
      }
      rowBase += data.length;
    }
  }

  /** Runs a per-value batch call; returns the outputs (`width` bytes per value) as raw bytes. */
  private bytesBatch(
    values: ByteValues,
    op: "siphash13" | "crc32",
    width: number,
    call: (desc: number, out: number) => number,
  ): ArrayBuffer {
    let result = new Uint8Array(0);
    const write = (chunk: StagedChunk, rowBase: number): number => {
      const out = this.heap.ensure(this.out, chunk.rows * width);
      const rc = call(chunk.desc, out);
      if (rc !== 0) return rc;
      result.set(new Uint8Array(this.heap.memoryBuffer, out, chunk.rows * width), rowBase * width);
      return 0;
    };
    if (Array.isArray(values)) {
      const arrays = values as readonly Uint8Array[];
      result = new Uint8Array(arrays.length * width);
      for (let start = 0; start < arrays.length; ) {
        const chunk = this.stager.stageArrays(arrays, start, CHUNK_ROWS);
        const rc = write(chunk, start);
        if (rc !== 0) {
          const row = start + this.errorRow(chunk);
          throw kernelFailure(rc, {
            op,
            typeName: "Uint8Array",
            row,
            value: () => renderBytes(arrays[row] ?? new Uint8Array(0), false),
          });
        }
        start += chunk.rows;
      }
      return result.buffer;
    }
    const chunks = chunksOf(values as KeyColumn);
    result = new Uint8Array(lengthOf(chunks) * width);
    this.eachChunk(chunks, op, undefined, write);
    return result.buffer;
  }

  private errorRow(chunk: StagedChunk): number {
    const row = this.ex.kernel_error_row();
    return row < chunk.rows ? row : 0;
  }
}

/** `out` when given (checked to be long enough), else a new array of `length`. */
function outputArray<T extends Int32Array | BigUint64Array>(
  out: T | undefined,
  length: number,
  Type: { new (length: number): T; name: string },
): T {
  if (out === undefined) return new Type(length);
  if (!(out instanceof Type) || out.length < length) {
    throw new ConfigValidationError(
      `out must be ${/^[AEIOU]/.test(Type.name) ? "an" : "a"} ${Type.name} of at least ${length} elements (one per key), got ${out instanceof Type ? `length ${out.length}` : describeJs(out)}`,
    );
  }
  return out;
}

function checkNumDbs(numDbs: number): void {
  if (!Number.isInteger(numDbs) || numDbs < 1 || numDbs > MAX_NUM_DBS) {
    throw new ConfigValidationError(`num_dbs must be an integer in [1, ${MAX_NUM_DBS}], got ${numDbs}`, {
      field: "num_dbs",
    });
  }
}

function encodingCode(encoding: KeyEncoding): number {
  const code = EncodingCode[encoding];
  if (code === undefined || !Object.hasOwn(EncodingCode, encoding)) {
    throw new ConfigValidationError(
      `unknown key encoding ${JSON.stringify(encoding)}; use one of ${Object.keys(EncodingCode).join(", ")}`,
      { field: "key_encoding" },
    );
  }
  return code;
}

function unsupportedColumn(data: Data, op: FailureContext["op"]): ConfigValidationError {
  const what = op === "siphash13" || op === "crc32" ? "values" : "keys";
  const takes =
    op === "siphash13" || op === "crc32"
      ? "Utf8, LargeUtf8, Binary or LargeBinary"
      : "Int8..Int64, Uint8..Uint64, Utf8, LargeUtf8, Binary or LargeBinary";
  return new ConfigValidationError(
    `${op} cannot use ${what} of Arrow type ${String(data.type)}; it takes ${takes} (cast the column first)`,
  );
}

/** The value at `row` of `data`, for an error message. */
function renderValue(data: Data, kt: KeyColumnType, row: number): string {
  if (kt.width > 0) {
    const values = data.values as ArrayLike<number | bigint> | undefined;
    return String(values?.[row]);
  }
  const offs = data.valueOffsets as ArrayLike<number | bigint> | undefined;
  const bytes = data.values as Uint8Array | undefined;
  if (!offs || !bytes) return "(unreadable)";
  const value = bytes.subarray(Number(offs[row]), Number(offs[row + 1]));
  return renderBytes(value, kt.isString);
}
