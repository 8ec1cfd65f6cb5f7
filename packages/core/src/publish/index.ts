export {
  type BuildDurations,
  type BuildResult,
  type BuildStats,
  type PublishBuildOptions,
  type PublishBuildOutcome,
  publishBuild,
  type RunRecordHandle,
} from "./build-result.ts";
export {
  checkNameOf,
  maxRowCountChange,
  minRowCount,
  type PublishCheck,
  type PublishCheckContext,
  totalRows,
} from "./checks.ts";
export { type CleanupLosersResult, cleanupLosers } from "./cleanup-losers.ts";
export {
  type CurrentLocation,
  type CurrentState,
  type MovePointerOptions,
  type MovePointerResult,
  movePointer,
  type PublishMode,
  readCurrentState,
} from "./current-state.ts";
export { consoleLogger, type PublishLogger } from "./logger.ts";
export {
  type PublishSnapshotOptions,
  type PublishSnapshotResult,
  publishSnapshot,
} from "./publish-snapshot.ts";
export { keyForUrl, tryKeyForUrl, urlForKey } from "./refs.ts";
export { abortableSleep, DEFAULT_RETRY_POLICY, isTransientStoreError, type RetryPolicy } from "./retry.ts";
export {
  compareAttempts,
  type ShardAttemptResult,
  selectWinners,
  type WinnerSelection,
} from "./winners.ts";
