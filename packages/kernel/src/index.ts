export type { KeyEncoding } from "./abi.ts";
export { ABI_VERSION, EncodingCode, ErrorCode, TypeCode } from "./abi.ts";
export type { KeyColumn } from "./columns.ts";
export { CHUNK_BYTES, CHUNK_ROWS } from "./columns.ts";
export type { ByteValues } from "./kernel.ts";
export { Kernel, MAX_NUM_DBS } from "./kernel.ts";
export type { ScalarKey } from "./keys.ts";
export type { KernelSource } from "./load.ts";
export { getKernel, loadKernel } from "./load.ts";
