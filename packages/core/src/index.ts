// Public API of @shardy/core. Part 1: JSON, time, manifest and _CURRENT codecs, config.

export { validateS3Prefix } from "./config/storage.ts";
export type * from "./config/types.ts";
export {
  CEL_COLUMN_TYPES,
  type CelExprCheck,
  configuredNumDbs,
  DEFAULT_BATCH_SIZE,
  DEFAULT_DB_PATH_TEMPLATE,
  DEFAULT_RETRY,
  DEFAULT_RUN_REGISTRY_PREFIX,
  DEFAULT_SHARD_ID_COL,
  DEFAULT_SHARD_PREFIX,
  SQLITE_PAGE_SIZES,
  setDefaultCelExprCheck,
  type ValidateCelOptions,
  validateCelConfig,
  validateHashConfig,
} from "./config/validate.ts";
export { configToJson, fromWire, toWire } from "./config/wire.ts";
// Part 2: two-phase publish, winners, history/rollback, run records, cleanup.
export * from "./history/index.ts";
export { bytesToBase64, toJson } from "./json/plain-json.ts";
export {
  COMPACT_SEPARATORS,
  compareCodePoints,
  DEFAULT_SEPARATORS,
  describeJson,
  type PyDumpsOptions,
  PyFloat,
  type PyJsonObject,
  type PyJsonValue,
  pyFloat,
  pyFloatRepr,
  pyJsonDumps,
  pyJsonDumpsCompact,
  pyJsonDumpsSorted,
} from "./json/python-json.ts";
export { PyJsonSyntaxError, type PyLoadsOptions, pyJsonLoads } from "./json/python-json-parse.ts";
export {
  BYTES_HEX_TAG,
  SHARDY_BYTES_CUSTOM_KEY,
} from "./manifest/bytes-extension.ts";
export {
  BUILD_META_DDL,
  type BuildManifestOptions,
  buildManifestBytes,
  DEFAULT_MANIFEST_PAGE_SIZE,
  type ManifestCodecOptions,
  parseManifestBytes,
  SHARDS_DDL,
  SQLITE_MAGIC,
} from "./manifest/codec.ts";
export { buildCurrentBytes, parseCurrentBytes } from "./manifest/current.ts";
export {
  CURRENT_POINTER_NAME,
  currentPointerKeyFor,
  joinS3,
  MANIFEST_NAME,
  MANIFEST_PREFIX_RE,
  MANIFESTS_DIR,
  type ManifestDirInfo,
  manifestDirName,
  manifestKeyFor,
  parseManifestDirName,
  runIdFromManifestRef,
  runShardsPrefix,
  shardAttemptUrl,
} from "./manifest/layout.ts";
export { formatDbPath, parseDbPathTemplate, validateDbPathTemplate } from "./manifest/path-template.ts";
export {
  bytesToHex,
  hexToBytes,
  type RoutingValueKind,
  routingValueKind,
  routingValuesProblem,
} from "./manifest/routing-values.ts";
export {
  configureSqlJs,
  loadSqlJs,
  type SqlJsDatabase,
  type SqlJsInitializer,
  type SqlJsModule,
  type SqlJsSource,
  type SqlJsStatement,
} from "./manifest/sqljs.ts";
export * from "./manifest/types.ts";
export { KEY_ENCODINGS, SUPPORTED_MANIFEST_FORMAT_VERSIONS } from "./manifest/validate.ts";
export * from "./publish/index.ts";
export * from "./runs/index.ts";
export {
  formatKeyTimestamp,
  formatPydanticDatetime,
  parseIsoDatetime,
  parseKeyTimestamp,
} from "./time/index.ts";
export { fromEpochMicros, PreciseDate, toEpochMicros, utcNow } from "./time/precise-date.ts";
