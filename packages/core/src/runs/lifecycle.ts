/**
 * A run's record through its life: created `running` with a 10-minute lease, refreshed by a
 * heartbeat (an unref'd timer, so it never keeps a process alive), and closed `succeeded` or
 * `failed`. The registry is bookkeeping: every failure is logged, none is thrown, and a build never
 * fails because its record could not be written.
 */
import { joinKey, type ObjectStore } from "@shardy/store";
import { formatKeyTimestamp, fromEpochMicros, toEpochMicros, utcNow } from "../publish/formats.ts";
import { consoleLogger, type PublishLogger } from "../publish/logger.ts";
import { urlForKey } from "../publish/refs.ts";
import {
  encodeRunRecord,
  RUN_RECORD_CONTENT_TYPE,
  RUN_RECORD_FILENAME,
  RUN_RECORD_FORMAT_VERSION,
  type RunRecord,
  type WriterType,
} from "./record.ts";

export const DEFAULT_RUN_REGISTRY_PREFIX = "runs";
export const DEFAULT_LEASE_MS = 10 * 60 * 1000;
export const DEFAULT_HEARTBEAT_MS = 60 * 1000;

export interface StartRunRecordOptions {
  store: ObjectStore;
  /** Store-relative snapshot prefix. */
  prefix: string;
  runId: string;
  /** Snapshot prefix URL written into the record; defaults to the store URL of `prefix`. */
  s3Prefix?: string;
  shardPrefix?: string;
  dbPathTemplate?: string;
  writerType?: WriterType | (string & {});
  registryPrefix?: string;
  leaseMs?: number;
  /** Heartbeat period; 0 disables the timer (call `heartbeat()` yourself). */
  heartbeatMs?: number;
  now?: () => Date;
  logger?: PublishLogger;
}

function newRecordDirSuffix(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

export class RunRecordLifecycle {
  readonly key: string;
  readonly #store: ObjectStore;
  readonly #now: () => Date;
  readonly #leaseMs: number;
  readonly #logger: PublishLogger;
  #record: RunRecord;
  #written = false;
  #terminal = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  // Writes run one at a time in call order, so a late heartbeat never overwrites a terminal state.
  #queue: Promise<void> = Promise.resolve();

  private constructor(options: StartRunRecordOptions) {
    this.#store = options.store;
    this.#now = options.now ?? utcNow;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#logger = options.logger ?? consoleLogger;
    const startedAt = this.#now();
    const dir = `${formatKeyTimestamp(startedAt)}_run_id=${options.runId}_${newRecordDirSuffix()}`;
    this.key = joinKey(
      options.prefix,
      options.registryPrefix ?? DEFAULT_RUN_REGISTRY_PREFIX,
      dir,
      RUN_RECORD_FILENAME,
    );
    this.#record = {
      formatVersion: RUN_RECORD_FORMAT_VERSION,
      runId: options.runId,
      writerType: options.writerType ?? "python",
      status: "running",
      startedAt,
      updatedAt: startedAt,
      leaseExpiresAt: addMs(startedAt, this.#leaseMs),
      s3Prefix: options.s3Prefix ?? urlForKey(options.store, options.prefix),
      shardPrefix: options.shardPrefix ?? "shards",
      dbPathTemplate: options.dbPathTemplate ?? "db={db_id:05d}",
      manifestRef: null,
      errorType: null,
      errorMessage: null,
    };
  }

  /** Creates the record (status `running`) and starts the heartbeat. Never throws. */
  static async start(options: StartRunRecordOptions): Promise<RunRecordLifecycle> {
    const lifecycle = new RunRecordLifecycle(options);
    await lifecycle.#enqueue("create", () => {});
    const period = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (period > 0) lifecycle.#startTimer(period);
    return lifecycle;
  }

  /** The record's URL once it has been written at least once, else `null`. */
  get ref(): string | null {
    return this.#written ? urlForKey(this.#store, this.key) : null;
  }

  /** A copy of the record as last written (or attempted). */
  get record(): RunRecord {
    return { ...this.#record };
  }

  get isTerminal(): boolean {
    return this.#terminal;
  }

  /** Refreshes `updated_at` and extends the lease. */
  heartbeat(): Promise<void> {
    if (this.#terminal) return this.#queue;
    return this.#enqueue("heartbeat", (r, now) => {
      r.updatedAt = now;
      r.leaseExpiresAt = addMs(now, this.#leaseMs);
    });
  }

  setManifestRef(manifestRef: string): Promise<void> {
    return this.#enqueue("manifest ref", (r, now) => {
      r.manifestRef = manifestRef;
      r.updatedAt = now;
      if (!this.#terminal) r.leaseExpiresAt = addMs(now, this.#leaseMs);
    });
  }

  markSucceeded(): Promise<void> {
    return this.#finish("succeeded", null);
  }

  markFailed(error: unknown): Promise<void> {
    return this.#finish("failed", error);
  }

  /** Stops the heartbeat without changing the record (a terminal mark also stops it). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves when every queued write has finished. */
  settled(): Promise<void> {
    return this.#queue;
  }

  #finish(status: "succeeded" | "failed", error: unknown): Promise<void> {
    this.stop();
    if (this.#terminal) return this.#queue;
    this.#terminal = true;
    return this.#enqueue(`mark ${status}`, (r, now) => {
      r.status = status;
      r.updatedAt = now;
      r.leaseExpiresAt = now;
      if (status === "failed") {
        r.errorType = error instanceof Error ? error.name : typeof error;
        r.errorMessage = error instanceof Error ? error.message : String(error);
      }
    });
  }

  #startTimer(period: number): void {
    this.#timer = setInterval(() => {
      void this.heartbeat();
    }, period);
    unrefTimer(this.#timer);
  }

  #enqueue(what: string, change: (record: RunRecord, now: Date) => void): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      const next = { ...this.#record };
      change(next, this.#now());
      this.#record = next;
      try {
        await this.#store.put(this.key, new TextEncoder().encode(encodeRunRecord(next)), {
          contentType: RUN_RECORD_CONTENT_TYPE,
        });
        this.#written = true;
      } catch (err) {
        this.#logger.warn(
          `run record ${what} for run ${next.runId} could not be written to ${this.key}`,
          err,
        );
      }
    });
    return this.#queue;
  }
}

/** `date + ms`, keeping the microseconds a `PreciseDate` carries. */
function addMs(date: Date, ms: number): Date {
  return fromEpochMicros(toEpochMicros(date) + BigInt(Math.round(ms)) * 1000n);
}

/** Lets the process exit while the heartbeat is armed (Node/Bun `unref`, Deno `unrefTimer`). */
function unrefTimer(timer: ReturnType<typeof setInterval>): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer && typeof timer.unref === "function") {
    timer.unref();
    return;
  }
  const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
  if (typeof timer === "number") deno?.unrefTimer?.(timer);
}

/**
 * Runs `body` inside a run record: succeeded when it resolves, failed (with the error's type and
 * message) when it throws; the error is rethrown unchanged.
 */
export async function withRunRecord<T>(
  options: StartRunRecordOptions,
  body: (run: RunRecordLifecycle) => Promise<T>,
): Promise<T> {
  const run = await RunRecordLifecycle.start(options);
  try {
    const result = await body(run);
    await run.markSucceeded();
    return result;
  } catch (err) {
    await run.markFailed(err);
    throw err;
  } finally {
    run.stop();
  }
}
