/**
 * The snapshots a server serves. Each one has its own store location and `ShardedReader`; the
 * handle remembers whether its store answered on the last attempt, so a failed refresh marks the
 * store unreachable while the loaded snapshot keeps answering reads.
 */
import { ReaderStateError } from "@shardy/errors";
import {
  resolveLocation,
  ShardedReader,
  type ShardedReaderOptions,
  type SnapshotLocation,
} from "@shardy/reader";
import type { OpenStoreOptions } from "@shardy/store";
import type { SnapshotConfig } from "./config.ts";
import { classifyError, describeForLog, HttpError } from "./errors.ts";
import type { Logger } from "./log.ts";
import { type MetricsRegistry, readerCollector } from "./metrics.ts";

export interface RefreshOutcome {
  at: Date;
  ok: boolean;
  changed: boolean;
  error?: string;
}

export interface RegistryOptions {
  storeOptions?: OpenStoreOptions;
  metrics: MetricsRegistry;
  logger: Logger;
  /** Where a snapshot lives (default: its URL through `openStore`). */
  locate?: (config: SnapshotConfig) => SnapshotLocation;
  /** Reader options shared by every snapshot (edge: the kernel, sql.js, range mode). */
  readerOptions?: Partial<ShardedReaderOptions>;
  now?: () => Date;
}

export class SnapshotHandle {
  #reader: ShardedReader | undefined;
  #opening: Promise<ShardedReader> | undefined;
  #refreshing: Promise<boolean> | undefined;
  #loadError: string | undefined;
  #storeReachable = true;
  #lastRefresh: RefreshOutcome | undefined;

  constructor(
    readonly config: SnapshotConfig,
    readonly location: SnapshotLocation,
    private readonly options: RegistryOptions,
  ) {}

  get name(): string {
    return this.config.name;
  }

  get loaded(): boolean {
    return this.#reader !== undefined;
  }

  get storeReachable(): boolean {
    return this.#storeReachable;
  }

  get loadError(): string | undefined {
    return this.#loadError;
  }

  get lastRefresh(): RefreshOutcome | undefined {
    return this.#lastRefresh;
  }

  /** The reader, or a 503 saying why the snapshot is not loaded. */
  reader(): ShardedReader {
    const r = this.#reader;
    if (r) return r;
    throw new HttpError(
      503,
      "snapshot_not_loaded",
      `snapshot "${this.name}" is not loaded yet${this.#loadError ? `: ${this.#loadError}` : ""}; ` +
        "the server retries in the background",
    );
  }

  /** The reader when loaded, without throwing. */
  peek(): ShardedReader | undefined {
    return this.#reader;
  }

  now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  /** Opens the reader (once; concurrent callers share the attempt). */
  open(): Promise<ShardedReader> {
    if (this.#reader) return Promise.resolve(this.#reader);
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async #open(): Promise<ShardedReader> {
    const c = this.config;
    const sqlite = { ...(this.options.readerOptions?.sqlite ?? {}) };
    if (c.sqliteMode !== undefined) sqlite.mode = c.sqliteMode;
    if (c.localRoot !== undefined) sqlite.localRoot = c.localRoot;
    try {
      const readerOptions: ShardedReaderOptions = {
        ...this.options.readerOptions,
        store: this.location.store,
        prefix: this.location.prefix,
        currentPointerKey: this.location.currentPointerKey,
        sqlite,
        metrics: readerCollector(this.options.metrics, this.name),
      };
      if (c.backend !== undefined) readerOptions.backend = c.backend;
      const reader = await ShardedReader.open(readerOptions);
      this.#reader = reader;
      this.#loadError = undefined;
      this.#storeReachable = true;
      const info = reader.snapshotInfo();
      this.options.logger.log("info", "snapshot_loaded", {
        snapshot: this.name,
        run_id: info.runId,
        manifest_ref: info.manifestRef,
        backend: info.backend,
        num_dbs: info.numDbs,
      });
      return reader;
    } catch (err) {
      this.#loadError = describeForLog(err);
      this.noteFailure(err);
      this.options.logger.log("error", "snapshot_load_failed", {
        snapshot: this.name,
        error: this.#loadError,
      });
      throw err;
    }
  }

  /**
   * Opens the snapshot if it is not loaded, else follows `_CURRENT`. Concurrent calls share one
   * attempt. Failures are recorded (and rethrown); the loaded snapshot stays in service.
   */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<boolean> {
    const at = this.now();
    try {
      let changed: boolean;
      if (!this.#reader) {
        await this.open();
        changed = true;
      } else {
        changed = await this.#reader.refresh();
        if (changed) {
          const info = this.#reader.snapshotInfo();
          this.options.logger.log("info", "snapshot_refreshed", {
            snapshot: this.name,
            run_id: info.runId,
            manifest_ref: info.manifestRef,
          });
        }
      }
      this.#storeReachable = true;
      this.#lastRefresh = { at, ok: true, changed };
      return changed;
    } catch (err) {
      this.noteFailure(err);
      this.#lastRefresh = { at, ok: false, changed: false, error: describeForLog(err) };
      throw err;
    }
  }

  /** Records a failure seen while serving: store failures mark the store unreachable. */
  noteFailure(err: unknown): void {
    const answer = classifyError(err);
    if (answer.code === "store_unavailable" || err instanceof ReaderStateError) this.#storeReachable = false;
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    const r = this.#reader;
    this.#reader = undefined;
    await r?.close();
    if (this.location.ownsStore) await this.location.store.close?.();
  }
}

export class SnapshotRegistry {
  readonly #handles = new Map<string, SnapshotHandle>();

  constructor(
    configs: readonly SnapshotConfig[],
    readonly options: RegistryOptions,
  ) {
    for (const c of configs) {
      const location = options.locate
        ? options.locate(c)
        : resolveLocation({
            currentUrl: c.currentUrl,
            prefixUrl: c.prefixUrl,
            storeOptions: options.storeOptions,
          });
      this.#handles.set(c.name, new SnapshotHandle(c, location, options));
    }
  }

  get names(): string[] {
    return [...this.#handles.keys()];
  }

  handles(): SnapshotHandle[] {
    return [...this.#handles.values()];
  }

  /** The named snapshot, or a 404 listing the served ones. */
  get(name: string): SnapshotHandle {
    const h = this.#handles.get(name);
    if (h) return h;
    throw new HttpError(
      404,
      "unknown_snapshot",
      `unknown snapshot ${JSON.stringify(name)}; this server serves ${this.names.map((n) => JSON.stringify(n)).join(", ")}`,
    );
  }

  /** Opens every snapshot; failures are recorded per snapshot (and retried by refresh). */
  async openAll(): Promise<void> {
    await Promise.all(this.handles().map((h) => h.open().catch(() => undefined)));
  }

  /** One background pass: refreshes every snapshot, never throws. */
  async refreshAll(): Promise<void> {
    await Promise.all(
      this.handles().map((h) =>
        h.refresh().catch((err) => {
          this.options.logger.log("warn", "refresh_failed", { snapshot: h.name, error: describeForLog(err) });
        }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.handles().map((h) => h.close()));
  }
}

/** Refreshes every snapshot every `intervalMs` (a chain of timeouts, so passes never overlap). */
export function startRefreshLoop(registry: SnapshotRegistry, intervalMs: number): { stop(): void } {
  if (intervalMs <= 0) return { stop() {} };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const tick = async () => {
    await registry.refreshAll();
    if (!stopped) schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => void tick(), intervalMs);
  };
  schedule();
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
