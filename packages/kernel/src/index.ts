export type { KeyEncoding } from "./abi.ts";
export { ABI_VERSION, EncodingCode, ErrorCode, TypeCode } from "./abi.ts";
export { celExprCheck } from "./cel/check.ts";
export type { CelColumnType } from "./cel/columns.ts";
export { CEL_COLUMN_TYPES } from "./cel/columns.ts";
export type { CelBatchResult, CelCompileOptions, CelScalar } from "./cel/program.ts";
export { CelProgram, caretLine, compileCel, compileCelEnv } from "./cel/program.ts";
export type {
  CelColumnSpec,
  CelRouterOptions,
  CelRoutingSpec,
  CelShardingByColumns,
  CelShardingByColumnsOptions,
  CelToken,
} from "./cel/router.ts";
export {
  CelRouter,
  celShardingByColumns,
  checkRoutingValues,
  discoverDirectNumDbs,
  inferRoutingValues,
} from "./cel/router.ts";
export type { CelValue, CelValueType } from "./cel/values.ts";
export { CelTag, renderCelValue } from "./cel/values.ts";
export type { KeyColumn } from "./columns.ts";
export { CHUNK_BYTES, CHUNK_ROWS } from "./columns.ts";
export type { ByteValues } from "./kernel.ts";
export { Kernel, MAX_NUM_DBS } from "./kernel.ts";
export type { ScalarKey } from "./keys.ts";
export type { KernelSource } from "./load.ts";
export { getKernel, loadKernel } from "./load.ts";
