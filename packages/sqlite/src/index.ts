export {
  type ChecksumAlgorithm,
  checksumOf,
  createChecksum,
  DEFAULT_CHECKSUM_ALGORITHM,
  type IncrementalChecksum,
  parseChecksum,
  SHARD_CHECKSUMS_CUSTOM_KEY,
} from "./checksum.ts";
export type { ShardReader, ShardWriteResult, ShardWriter } from "./contract.ts";
export { detectDriverName, loadDriver } from "./drivers/select.ts";
export { createSqlJsDriver, loadSqlJs, type SqlJsDriver, type SqlJsOptions } from "./drivers/sqljs.ts";
export type {
  DriverName,
  OpenOptions,
  SqliteConnection,
  SqliteDriver,
  SqliteRow,
  SqliteStatement,
  SqliteValue,
} from "./drivers/types.ts";
export { openFilePageSource } from "./format/file-source.ts";
export { type DbHeader, parseDbHeader } from "./format/header.ts";
export { type BtreeLayout, type PageSource, walkBtrees } from "./format/walk.ts";
export {
  inlinePayloadThreshold,
  type PageSizeOption,
  recommendPageSize,
  SUPPORTED_PAGE_SIZES,
  validatePageSize,
} from "./page-size.ts";
export {
  type AccessMode,
  type AccessModeOption,
  type AccessThresholds,
  DEFAULT_PER_SHARD_THRESHOLD,
  DEFAULT_TOTAL_BUDGET,
  decideAccessMode,
  type ShardRef,
  SqliteReaderFactory,
  type SqliteReaderFactoryOptions,
} from "./reader/adaptive.ts";
export { type CacheIdentity, IDENTITY_FILENAME, identityJson } from "./reader/download-cache.ts";
export {
  DEFAULT_MMAP_SIZE,
  type DownloadReaderOptions,
  LOOKUP_SQL,
  SqliteDownloadReader,
} from "./reader/download-reader.ts";
export {
  DEFAULT_PAGE_CACHE_PAGES,
  type RangeReaderOpenInfo,
  type RangeReaderOptions,
  type RangeReaderStats,
  SqliteRangeReader,
} from "./reader/range-reader.ts";
export { buildSidecarContent } from "./sidecar/build.ts";
export {
  type DecodedSidecar,
  decodeSidecar,
  encodeSidecar,
  encodeSidecarBody,
  frameSidecar,
  SIDECAR_FILENAME,
  SIDECAR_FORMAT_VERSION,
  type SidecarContent,
} from "./sidecar/format.ts";
export { restorePageGap, stripPageGap } from "./sidecar/gap.ts";
export { canCompressZstd, zstdCompress, zstdDecompress } from "./sidecar/zstd.ts";
export { DB_FILENAME, shardObjectKey } from "./util/urls.ts";
export {
  DEFAULT_MEMORY_BUDGET_BYTES,
  type ShardWriteProgress,
  type SidecarOutcome,
  SQLITE_MAX_LENGTH,
  type SqliteShardWriteResult,
  SqliteShardWriter,
  type SqliteShardWriterOptions,
} from "./writer/shard-writer.ts";
