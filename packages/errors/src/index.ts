/**
 * The closed taxonomy of shardy errors. Names mirror the reference implementation
 * (shardyfusion `errors.py`); every class says whether retrying the same operation may help.
 */

export interface ShardyErrorOptions {
  cause?: unknown;
}

export class ShardyError extends Error {
  /** Whether the same operation may succeed if simply run again. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: ShardyErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Invalid configuration or input: a bad key for the encoding, a bad option, a CEL compile error. */
export class ConfigValidationError extends ShardyError {
  /** Dotted name of the offending field, when there is one (e.g. `output.shard_prefix`). */
  readonly field: string | undefined;

  constructor(message: string, options?: ShardyErrorOptions & { field?: string }) {
    super(message, options);
    this.field = options?.field;
  }
}

/** A row was routed to a shard it does not belong to, or could not be routed at all. */
export class ShardAssignmentError extends ShardyError {}

/** Shard results do not cover the expected shard ids, or an engine gave up on a shard. */
export class ShardCoverageError extends ShardyError {
  readonly dbIds: readonly number[];

  constructor(message: string, options?: ShardyErrorOptions & { dbIds?: readonly number[] }) {
    super(message, options);
    this.dbIds = options?.dbIds ?? [];
  }
}

/** A shard database could not be opened, read or closed. */
export class DbAdapterError extends ShardyError {}

/** SlateDB operation timed out. */
export class BridgeTimeoutError extends ShardyError {
  override readonly retryable = true;
}

/** Building the manifest failed before anything was uploaded. */
export class ManifestBuildError extends ShardyError {}

/** Uploading the manifest object failed; nothing was published. */
export class PublishManifestError extends ShardyError {
  override readonly retryable = true;
}

/**
 * The manifest was uploaded but `_CURRENT` could not be moved to it (a failed write or a lost
 * compare-and-swap race). `manifestRef` lets the caller retry the pointer or roll forward.
 */
export class PublishCurrentError extends ShardyError {
  override readonly retryable = true;
  readonly manifestRef: string;

  constructor(message: string, options: ShardyErrorOptions & { manifestRef: string }) {
    super(message, options);
    this.manifestRef = options.manifestRef;
  }
}

/** A `_CURRENT` pointer or manifest could not be parsed or failed validation. */
export class ManifestParseError extends ShardyError {}

/** A manifest (or `_CURRENT`) object named by a ref does not exist. */
export class ManifestNotFoundError extends ManifestParseError {
  readonly ref: string;

  constructor(message: string, options: ShardyErrorOptions & { ref: string }) {
    super(message, options);
    this.ref = options.ref;
  }
}

/**
 * A validate-before-flip check vetoed a publish: the manifest was uploaded, `_CURRENT` was not
 * moved. `check` names the failing check.
 */
export class PublishCheckError extends ShardyError {
  readonly check: string;
  readonly manifestRef: string;

  constructor(message: string, options: ShardyErrorOptions & { check: string; manifestRef: string }) {
    super(message, options);
    this.check = options.check;
    this.manifestRef = options.manifestRef;
  }
}

/** The reader cannot serve: closed, no `_CURRENT`, no valid manifest. */
export class ReaderStateError extends ShardyError {}

/** A pooled shard reader could not be checked out in time. */
export class PoolExhaustedError extends ShardyError {
  override readonly retryable = true;
}

/** A manifest store (other than the object store itself) failed. */
export class ManifestStoreError extends ShardyError {
  override readonly retryable = true;
}

/** Writing or uploading one shard attempt failed; a new attempt may succeed. */
export class ShardWriteError extends ShardyError {
  override readonly retryable = true;
}

/** A transient object-store failure that survived the store's own retries. */
export class S3TransientError extends ShardyError {
  override readonly retryable = true;
}

/** The object store refused or failed an operation for a reason that retrying will not fix. */
export class ObjectStoreError extends ShardyError {}

/** A conditional put failed: the object changed (If-Match) or already exists (If-None-Match). */
export class PreconditionFailedError extends ShardyError {
  readonly key: string;

  constructor(message: string, options: ShardyErrorOptions & { key: string }) {
    super(message, options);
    this.key = options.key;
  }
}

/** SQLite shard adapter failure. */
export class SqliteAdapterError extends ShardyError {}

/** The SQLite sidecar could not be produced or read. */
export class SidecarUnavailableError extends SqliteAdapterError {}

/** Range-read VFS failure. */
export class S3VfsError extends ShardyError {}

/** True if `err` is a shardy error that may succeed when retried. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ShardyError && err.retryable;
}
