// Public API of @shardy/writer: the shard-writer loop and the single-host build pipeline.
export type {
  AdapterTuning,
  ShardAdapter,
  ShardAdapterFactory,
  ShardAdapterOpenOptions,
  ShardSealResult,
} from "./adapter.ts";
export { sqliteSidecarCustom } from "./adapter.ts";
export {
  adapterFactoryFromConfig,
  DEFAULT_SQLITE_CONFIG,
  slateDbAdapterFactory,
  sqliteAdapterFactory,
} from "./adapters/index.ts";
export type { WriterEvent, WriterEventListener } from "./events.ts";
export {
  arrowSource,
  type CsvColumnType,
  type CsvOptions,
  CsvParser,
  csvSource,
  expandGlob,
  expandInputs,
  formatOfFile,
  INPUT_FORMATS,
  type InputBatch,
  type InputFormat,
  type InputReadOptions,
  type InputSource,
  ndjsonSource,
  openInputs,
  parquetSource,
  sourceFor,
} from "./inputs/index.ts";
export { batchToIpc, ipcToBatches, readIpcStream } from "./ipc.ts";
export { JSON_TEXT_METADATA_KEY } from "./json-values.ts";
export { checkKeysFit, decodeLogicalKey, keyColumnOf } from "./keys.ts";
export { type BinaryValues, PairBatch } from "./pairs.ts";
export {
  decodeDictionaries,
  groupByShard,
  type Partitioned,
  partitionByShard,
  type ShardRange,
  type ShardSlice,
  takeBatch,
} from "./partition.ts";
export {
  type BatchInput,
  type BuildSnapshotOptions,
  batchSource,
  buildSnapshot,
  type ColumnInput,
  DEFAULT_MEMORY_BUDGET_BYTES,
  validateWriteConfig,
} from "./pipeline.ts";
export type { BuildPhase, BuildProgress, ProgressListener } from "./progress.ts";
export {
  buildResultToWire,
  type PublishShardResultsOptions,
  publishShardResults,
  SHARD_CHECKSUMS_KEY,
  type SnapshotBuildResult,
  type SnapshotBuildStats,
} from "./publish.ts";
export {
  type Clock,
  createWriteLimiters,
  type LimiterType,
  systemClock,
  type ThrottledEvent,
  TokenBucket,
  type TokenBucketOptions,
  type WriteLimiters,
} from "./rate-limiter.ts";
export { shardingSpecOf } from "./routing.ts";
export { ShardHost, type ShardHostOptions } from "./shard-host.ts";
export {
  attemptLocalDir,
  attemptUrl,
  type BatchSource,
  defaultLocalRoot,
  type RetryOptions,
  runShardAttempts,
  ShardAttempt,
  type ShardTarget,
  type ShardWriteOptions,
  writeShardAttempt,
  writeShardWithRetry,
} from "./shard-loop.ts";
export {
  SHARD_RESULT_VERSION,
  type ShardResult,
  shardResultFromJson,
  shardResultToJson,
  shardResultToWire,
} from "./shard-result.ts";
export { Spool } from "./spool.ts";
export { openSnapshotLocation, prefixInStore, type SnapshotLocation, s3StoreOptions } from "./store.ts";
export {
  type EncodeContext,
  type RowEncoder,
  type RowObject,
  ValueSpec,
  type ValueSpecWire,
} from "./value-spec.ts";
export { DEFAULT_WORKER_URL, WorkerPool, type WorkerPoolOptions } from "./workers/pool.ts";
export { type WriteShardOptions, type WriteShardsOptions, writeShard, writeShards } from "./write-shard.ts";
