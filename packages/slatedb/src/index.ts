export { crc32 } from "./hash/crc32.ts";
export type { SstHashing } from "./hash/hashing.ts";
export { jsHashing } from "./hash/hashing.ts";
export { defaultHashing, kernelHashing } from "./hash/kernel.ts";
export { siphash13 } from "./hash/siphash13.ts";
export type { LocalFile, LocalFs } from "./local-fs.ts";
export { nodeLocalFs } from "./local-fs.ts";
export type {
  LocalSlateDbSealResult,
  LocalSlateDbShardWriter,
  LocalSlateDbShardWriterOptions,
} from "./local-writer.ts";
export { createLocalSlateDbShardWriter } from "./local-writer.ts";
export { decodeManifest, encodeManifestV1 } from "./manifest/codec.ts";
export type { LoadedManifest } from "./manifest/store.ts";
export { latestManifestId, loadManifest, openManifest } from "./manifest/store.ts";
export type {
  BytesRange,
  CheckpointRef,
  ManifestState,
  SegmentState,
  SortedRunRef,
  SstRef,
} from "./manifest/types.ts";
export { manifestKey, sstKey } from "./paths.ts";
export type { KeyRange, KeyValue, ReaderStats, SlateDbReaderOptions } from "./reader.ts";
export { openSlateDbReader, SlateDbReader } from "./reader.ts";
export type { SnapshotOptions, SnapshotResult } from "./snapshot-builder.ts";
export { DEFAULT_SST_TARGET_BYTES } from "./snapshot-builder.ts";
export type { Row, RowKind } from "./sst/block-reader.ts";
export type { CompressionName, SsTableInfo } from "./sst/format.ts";
export { MAX_KEY_BYTES } from "./sst/format.ts";
export { readSstFooter, SstTable } from "./sst/table.ts";
export type { U128 } from "./ulid.ts";
export { newUlid, ulidFromString, ulidToString, uuidFromString, uuidToString } from "./ulid.ts";
export type { SlateDbSealResult, SlateDbShardWriter, SlateDbShardWriterOptions } from "./writer.ts";
export { createSlateDbShardWriter } from "./writer.ts";
