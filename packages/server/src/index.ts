// Public API of @shardy/server: the HTTP app, its config, and the pieces hosts compose.
export { type AppOptions, createApp } from "./app.ts";
export { type AuthConfig, bearerToken, checkAdmin, checkRead, tokensEqual } from "./auth.ts";
export {
  ADMIN_TOKEN_ENV,
  buildServerConfig,
  DEFAULT_HOST,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_MULTIGET_KEYS,
  DEFAULT_PORT,
  DEFAULT_REFRESH_INTERVAL_MS,
  READ_TOKEN_ENV,
  type ServerConfig,
  type ServerFlags,
  type SnapshotConfig,
  type SqliteModeOption,
  secretsOf,
  snapshotFromUrl,
  validateSnapshotName,
} from "./config.ts";
export { type FetchFn, FetchObjectStore, type FetchStoreOptions } from "./edge/fetch-store.ts";
export { createEdgeWorker, type EdgeContext, type EdgeEnv, type EdgeModules } from "./edge/worker.ts";
export { classifyError, describeForLog, type ErrorAnswer, HttpError, makeRedactor } from "./errors.ts";
export { type FetchHandler, type Listener, listen } from "./listen.ts";
export { jsonLogger, type Logger, type LogLevel, silentLogger } from "./log.ts";
export { DURATION_BUCKETS, METRIC_PREFIX, MetricsRegistry, readerCollector } from "./metrics.ts";
export {
  type RefreshOutcome,
  type RegistryOptions,
  SnapshotHandle,
  SnapshotRegistry,
  startRefreshLoop,
} from "./registry.ts";
export {
  KEY_FORMATS,
  type KeyFormat,
  parseJsonKey,
  parseRoutingContext,
  parseTextKey,
} from "./request-keys.ts";
export { type CreateServerOptions, createServer, type ShardyServer } from "./server.ts";
export { registerSnapshotGauges } from "./snapshot-gauges.ts";
export { ValueCache } from "./value-cache.ts";
