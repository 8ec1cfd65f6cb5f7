export type {
  CallRecord,
  FaultAction,
  FaultRule,
  FaultyStoreOptions,
  StoreOp,
} from "./faulty.ts";
export { FaultyStore } from "./faulty.ts";
export type { FileStoreOptions } from "./file.ts";
export { FILE_STORE_RESERVED_PREFIX, FileStore } from "./file.ts";
export { compareKeys, isUnderSegment } from "./keys.ts";
export { MemoryStore } from "./memory.ts";
export type { S3Credentials, S3StoreOptions } from "./s3.ts";
export { S3Store } from "./s3.ts";
export type {
  ByteRange,
  GetResult,
  ListOptions,
  ListResult,
  ObjectMeta,
  ObjectStore,
  PutFileOptions,
  PutOptions,
  PutResult,
  StoreCapabilities,
} from "./types.ts";
export type { OpenedStore, OpenStoreOptions, S3Location } from "./url.ts";
export { joinKey, joinUrl, openStore, parseS3Url } from "./url.ts";
