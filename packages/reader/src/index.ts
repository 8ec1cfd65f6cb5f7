// Public API of @shardy/reader.
export {
  type BackendName,
  type BackendOptions,
  defaultFactoryProvider,
  detectBackend,
  type ShardOpenInfo,
  type ShardReader,
  type ShardReaderFactory,
  type ShardReaderFactoryProvider,
  type SlateDbBackendOptions,
  type SnapshotContext,
  type SqliteBackendOptions,
  shardChecksums,
  slateDbFactory,
  sqliteFactory,
} from "./backends.ts";
export type { PinTarget } from "./load-manifest.ts";
export { type LocationOptions, resolveLocation, type SnapshotLocation, splitCurrentUrl } from "./location.ts";
export { type MetricsCollector, type ReaderEventName, ReaderEvents } from "./metrics.ts";
export { healthRecord, shardDetailRecord, snapshotInfoRecord } from "./records.ts";
export {
  type CelRouteHook,
  type CelRouteRequest,
  describeKey,
  type ReaderKey,
  type RoutingContext,
} from "./router.ts";
export {
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_FALLBACK_ATTEMPTS,
  type ReadOptions,
  ShardedReader,
  type ShardedReaderOptions,
} from "./sharded-reader.ts";
export type { OpenShardsPolicy } from "./snapshot-state.ts";
export { coerceTextKey } from "./text-keys.ts";
export type { HealthStatus, ReaderHealth, ShardDetail, SnapshotInfo } from "./types.ts";
export { encodeValue, VALUE_ENCODINGS, type ValueEncoding } from "./values.ts";
