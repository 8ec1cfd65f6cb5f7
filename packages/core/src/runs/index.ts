export {
  type CleanupOldRunsOptions,
  type CleanupOldRunsResult,
  cleanupOldRuns,
  type ProtectionReason,
} from "./cleanup-old-runs.ts";
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LEASE_MS,
  DEFAULT_RUN_REGISTRY_PREFIX,
  RunRecordLifecycle,
  type StartRunRecordOptions,
  withRunRecord,
} from "./lifecycle.ts";
export { type ListedRunRecord, listRunRecords, parseRunDirName, type RunRecordListing } from "./list-runs.ts";
export {
  decodeRunRecord,
  encodeRunRecord,
  RUN_RECORD_CONTENT_TYPE,
  RUN_RECORD_FILENAME,
  RUN_RECORD_FORMAT_VERSION,
  type RunRecord,
  type RunStatus,
  type WriterType,
} from "./record.ts";
