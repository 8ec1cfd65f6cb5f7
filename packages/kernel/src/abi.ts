/**
 * The kernel's WASM ABI as the TypeScript host sees it (crates-wasm/kernel/ABI.md is the spec):
 * export signatures, the 40-byte column descriptor, and the type, encoding and error codes.
 */

export const ABI_VERSION = 2;

/** Exports of shardy_kernel.wasm. Pointers and lengths are u32 offsets into `memory`. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  kernel_alloc(size: number): number;
  kernel_free(ptr: number, size: number): void;
  kernel_abi_version(): number;
  kernel_error_row(): number;
  kernel_route_hash(col: number, numDbs: number, out: number): number;
  kernel_xxh3_batch(col: number, out: number): number;
  kernel_encode_keys(
    col: number,
    encoding: number,
    outOffsets: number,
    outData: number,
    outCap: number,
  ): number;
  kernel_siphash13_batch(col: number, out: number): number;
  kernel_crc32_batch(col: number, out: number): number;
  kernel_crc32(ptr: number, len: number, crc: number): number;
  /** Returns the digest as a signed i64 (JS BigInt); use `BigInt.asUintN(64, x)`. */
  kernel_xxh3(ptr: number, len: number): bigint;
  kernel_siphash13(ptr: number, len: number): bigint;
  kernel_cel_compile(src: number, srcLen: number, decls: number, declsLen: number, flags: number): number;
  kernel_cel_free(handle: number): void;
  kernel_cel_type(handle: number): number;
  kernel_cel_set_routing(handle: number, ptr: number, len: number): number;
  kernel_cel_eval_batch(
    handle: number,
    descs: number,
    ncols: number,
    rows: number,
    tags: number,
    vals: number,
    offsets: number,
  ): number;
  kernel_cel_route_batch(handle: number, descs: number, ncols: number, rows: number, out: number): number;
  kernel_cel_eval_values(handle: number, ptr: number, len: number): number;
  kernel_cel_route_values(handle: number, ptr: number, len: number): number;
  kernel_cel_error_kind(): number;
  kernel_cel_error_pos(): number;
  kernel_cel_text_ptr(): number;
  kernel_cel_text_len(): number;
}

const EXPORTED_FUNCTIONS = [
  "kernel_alloc",
  "kernel_free",
  "kernel_abi_version",
  "kernel_error_row",
  "kernel_route_hash",
  "kernel_xxh3_batch",
  "kernel_encode_keys",
  "kernel_siphash13_batch",
  "kernel_crc32_batch",
  "kernel_crc32",
  "kernel_xxh3",
  "kernel_siphash13",
  "kernel_cel_compile",
  "kernel_cel_free",
  "kernel_cel_type",
  "kernel_cel_set_routing",
  "kernel_cel_eval_batch",
  "kernel_cel_route_batch",
  "kernel_cel_eval_values",
  "kernel_cel_route_values",
  "kernel_cel_error_kind",
  "kernel_cel_error_pos",
  "kernel_cel_text_ptr",
  "kernel_cel_text_len",
] as const;

/** Checks an instance's exports against the ABI; returns the missing names. */
export function missingExports(exports: WebAssembly.Exports): string[] {
  const missing: string[] = EXPORTED_FUNCTIONS.filter((name) => typeof exports[name] !== "function");
  if (!(exports.memory instanceof WebAssembly.Memory)) missing.push("memory");
  return missing;
}

/** Column type codes of the descriptor's `type` field. */
export const TypeCode = {
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  uint8: 5,
  uint16: 6,
  uint32: 7,
  uint64: 8,
  utf8: 9,
  largeUtf8: 10,
  binary: 11,
  largeBinary: 12,
  float32: 13,
  float64: 14,
  bool: 15,
} as const;
export type TypeCode = (typeof TypeCode)[keyof typeof TypeCode];

/** Stored key encodings (reference-format §5.1) and their ABI codes. */
export const EncodingCode = { u64be: 1, u32be: 2, utf8: 3, raw: 4 } as const;
export type KeyEncoding = keyof typeof EncodingCode;

/** Non-zero results of the batch calls. */
export const ErrorCode = {
  NULL_KEY: 1,
  INT_OUT_OF_RANGE: 2,
  NEGATIVE_UNSIGNED: 3,
  U32_OUT_OF_RANGE: 4,
  UNSUPPORTED_TYPE: 5,
  BAD_ARGUMENT: 6,
  BAD_OFFSETS: 7,
  OUTPUT_TOO_SMALL: 8,
  KEY_LENGTH: 9,
  CEL_COMPILE: 10,
  CEL_EVAL: 11,
  CEL_RESULT_TYPE: 12,
  CEL_SHARD_RANGE: 13,
  CEL_BAD_HANDLE: 14,
  CEL_BAD_INPUT: 15,
} as const;

/** `kernel_error_row()` for failures that concern the call, not a row. */
export const NO_ROW = 0xffff_ffff;

export const DESCRIPTOR_SIZE = 40;

/** One column descriptor, field by field (ABI.md, "Column descriptor"). */
export interface Descriptor {
  type: TypeCode;
  len: number;
  valuesPtr: number;
  valuesLen: number;
  offsetsPtr: number;
  validityPtr: number;
  validityBitOffset: number;
  /** The offset value that maps to `valuesPtr` (the first staged offset; 0 for whole buffers). */
  valuesBase: number;
  /** Bit index of row 0 in the values bitmap of a bool column (0 for other types). */
  valuesBitOffset?: number;
}

export function writeDescriptor(view: DataView, at: number, d: Descriptor): void {
  view.setUint32(at, d.type, true);
  view.setUint32(at + 4, d.len, true);
  view.setUint32(at + 8, d.valuesPtr, true);
  view.setUint32(at + 12, d.valuesLen, true);
  view.setUint32(at + 16, d.offsetsPtr, true);
  view.setUint32(at + 20, d.validityPtr, true);
  view.setUint32(at + 24, d.validityBitOffset, true);
  view.setUint32(at + 28, d.valuesBitOffset ?? 0, true);
  // u64 as two halves: no BigInt allocation on the per-call path
  view.setUint32(at + 32, d.valuesBase % 0x1_0000_0000, true);
  view.setUint32(at + 36, Math.floor(d.valuesBase / 0x1_0000_0000), true);
}
