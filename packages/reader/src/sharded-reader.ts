/**
 * `ShardedReader`: follows a snapshot's `_CURRENT` (or a pinned manifest), routes every key to its
 * shard and looks it up. Reads borrow the snapshot state they start on (see snapshot-state.ts), so
 * `refresh()` can swap in a new snapshot atomically while earlier reads finish on the old one.
 */
import { loadCurrent, loadManifest } from "@shardy/core";
import {
  ConfigValidationError,
  DbAdapterError,
  ManifestParseError,
  ReaderStateError,
  ShardyError,
} from "@shardy/errors";
import { getKernel, type Kernel } from "@shardy/kernel";
import { type BackendOptions, defaultFactoryProvider, type ShardReaderFactoryProvider } from "./backends.ts";
import { forEachLimited } from "./concurrency.ts";
import { type LoadedManifest, loadServedManifest, type PinTarget, resolvePin } from "./load-manifest.ts";
import { type LocationOptions, resolveLocation, type SnapshotLocation } from "./location.ts";
import { type MetricsCollector, ReaderEvents, safeEmit } from "./metrics.ts";
import { type CelRouteHook, type ReaderKey, type RoutingContext, SnapshotRouter } from "./router.ts";
import { type OpenShardsPolicy, SnapshotState } from "./snapshot-state.ts";
import type { ReaderHealth, ShardDetail, SnapshotInfo } from "./types.ts";

export const DEFAULT_MAX_CONCURRENCY = 16;
export const DEFAULT_MAX_FALLBACK_ATTEMPTS = 3;

export interface ShardedReaderOptions extends LocationOptions, BackendOptions {
  /** Serve this manifest instead of following `_CURRENT`. */
  pin?: PinTarget;
  /** Custom shard reader factory (overrides `backend`/`sqlite`/`slatedb`). */
  readerFactory?: ShardReaderFactoryProvider;
  /** Shards queried at once by `multiGet` and opened at once by eager opening (default 16). */
  maxConcurrency?: number;
  /** Older manifests tried when `_CURRENT`'s is malformed (default 3; 0 disables fallback). */
  maxFallbackAttempts?: number;
  /** `eager` (default) opens every shard at open/refresh; `lazy` opens a shard on its first read. */
  openShards?: OpenShardsPolicy;
  /** Routes keys of CEL snapshots (the reader rejects CEL snapshots without it). */
  celRoute?: CelRouteHook;
  metrics?: MetricsCollector;
  /** A loaded kernel (default: the process-wide one). */
  kernel?: Kernel;
  /** Clock for health (tests pin it). */
  now?: () => Date;
  signal?: AbortSignal;
}

/** `getNow`'s answer for an absent key (frozen: shared by every call). */
const NOT_FOUND: { readonly value: undefined } = Object.freeze({ value: undefined });

export interface ReadOptions {
  routingContext?: RoutingContext;
  signal?: AbortSignal;
}

export class ShardedReader {
  readonly #location: SnapshotLocation;
  readonly #options: ShardedReaderOptions;
  readonly #kernel: Kernel;
  readonly #provider: ShardReaderFactoryProvider;
  readonly #pinnedRef: string | undefined;
  readonly #concurrency: number;
  #state: SnapshotState;
  #closed = false;
  #closing: Promise<void> | undefined;
  #refreshTicket = 0;
  #swappedTicket = 0;

  private constructor(
    location: SnapshotLocation,
    options: ShardedReaderOptions,
    kernel: Kernel,
    provider: ShardReaderFactoryProvider,
    pinnedRef: string | undefined,
    state: SnapshotState,
  ) {
    this.#location = location;
    this.#options = options;
    this.#kernel = kernel;
    this.#provider = provider;
    this.#pinnedRef = pinnedRef;
    this.#concurrency = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    this.#state = state;
  }

  /** Loads the snapshot (and, with `openShards: "eager"`, opens its shards). */
  static async open(options: ShardedReaderOptions): Promise<ShardedReader> {
    const started = performance.now();
    const concurrency = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new ConfigValidationError(
        `maxConcurrency must be an integer >= 1, got ${options.maxConcurrency}`,
      );
    }
    const fallback = options.maxFallbackAttempts ?? DEFAULT_MAX_FALLBACK_ATTEMPTS;
    if (!Number.isSafeInteger(fallback) || fallback < 0) {
      throw new ConfigValidationError(
        `maxFallbackAttempts must be an integer >= 0, got ${options.maxFallbackAttempts}`,
      );
    }
    const location = resolveLocation(options);
    try {
      const kernel = options.kernel ?? (await getKernel());
      const provider = options.readerFactory ?? defaultFactoryProvider(options);
      const pinnedRef = options.pin ? await resolvePin(location, options.pin, options.signal) : undefined;
      const loaded = await loadServedManifest(location, {
        pinnedRef,
        maxFallbackAttempts: fallback,
        signal: options.signal,
      });
      const state = await buildState(loaded, location, options, kernel, provider);
      const reader = new ShardedReader(location, options, kernel, provider, pinnedRef, state);
      safeEmit(options.metrics, ReaderEvents.initialized, {
        manifest_ref: state.ref,
        num_dbs: state.manifest.build.numDbs,
        num_handles: state.manifest.shards.length,
        elapsed_ms: performance.now() - started,
      });
      return reader;
    } catch (err) {
      if (location.ownsStore) await location.store.close?.();
      throw err;
    }
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  get keyEncoding() {
    return this.#state.manifest.build.keyEncoding;
  }

  /** The manifest ref being served. */
  get manifestRef(): string {
    return this.#state.ref;
  }

  get pinned(): boolean {
    return this.#pinnedRef !== undefined;
  }

  /** The value stored under `key`, or `undefined` when it is absent (empty shards hold nothing). */
  async get(key: ReaderKey, options: ReadOptions = {}): Promise<Uint8Array | undefined> {
    const started = performance.now();
    const state = this.#borrow();
    let found = false;
    try {
      const dbId = state.router.route(key, options.routingContext);
      if (dbId === null) return undefined;
      const encoded = state.router.encode(key);
      // Warm shards are taken synchronously: a get then awaits only the shard read itself.
      const reader = state.openReader(dbId) ?? (await state.readerFor(dbId, options.signal));
      if (!reader) return undefined;
      let value: Uint8Array | undefined;
      try {
        value = await reader.get(encoded);
      } catch (err) {
        throw shardReadError(dbId, err);
      }
      found = value !== undefined;
      return value;
    } finally {
      state.release();
      this.#emitGet(started, found);
    }
  }

  /**
   * `get` answered synchronously when it can be: the key's shard is open and reads local data (a
   * downloaded SQLite shard). Returns `{ value }` then, or `undefined` when the answer needs I/O
   * (call `get`). Servers use it to answer warm gets without a promise. Errors and metrics are
   * those of `get`.
   */
  getNow(
    key: ReaderKey,
    options: { routingContext?: RoutingContext } = {},
  ): { value: Uint8Array | undefined } | undefined {
    const started = performance.now();
    const state = this.#borrow();
    let found = false;
    let deferred = false;
    try {
      const dbId = state.router.route(key, options.routingContext);
      if (dbId === null) return NOT_FOUND;
      const encoded = state.router.encode(key);
      if (state.shardsById[dbId] === undefined) return NOT_FOUND;
      const reader = state.openReader(dbId);
      if (reader?.getNow === undefined) {
        deferred = true;
        return undefined;
      }
      let value: Uint8Array | undefined;
      try {
        value = reader.getNow(encoded);
      } catch (err) {
        throw shardReadError(dbId, err);
      }
      found = value !== undefined;
      return found ? { value } : NOT_FOUND;
    } finally {
      state.release();
      // A deferred get is reported by the `get` that answers it.
      if (!deferred) this.#emitGet(started, found);
    }
  }

  /**
   * Values for `keys`, in input order (`undefined` where absent). Keys are grouped by shard; each
   * shard gets one batched lookup and up to `maxConcurrency` shards are queried at once.
   */
  async multiGet(
    keys: readonly ReaderKey[],
    options: ReadOptions = {},
  ): Promise<Array<Uint8Array | undefined>> {
    const started = performance.now();
    const state = this.#borrow();
    try {
      const results: Array<Uint8Array | undefined> = new Array(keys.length).fill(undefined);
      const groups = new Map<number, { positions: number[]; encoded: Uint8Array[] }>();
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const dbId = state.router.route(key, options.routingContext);
        if (dbId === null || state.shardsById[dbId] === undefined) continue;
        let group = groups.get(dbId);
        if (!group) {
          group = { positions: [], encoded: [] };
          groups.set(dbId, group);
        }
        group.positions.push(i);
        group.encoded.push(state.router.encode(key));
      }
      await forEachLimited([...groups], this.#concurrency, async ([dbId, group]) => {
        const reader = await state.readerFor(dbId, options.signal);
        if (!reader) return;
        let values: Array<Uint8Array | undefined>;
        try {
          values = await reader.multiGet(group.encoded);
        } catch (err) {
          throw shardReadError(dbId, err);
        }
        for (let j = 0; j < group.positions.length; j++) results[group.positions[j]!] = values[j];
      });
      return results;
    } finally {
      state.release();
      safeEmit(this.#options.metrics, ReaderEvents.multiGet, {
        duration_ms: performance.now() - started,
        num_keys: keys.length,
      });
    }
  }

  /** The shard `key` routes to. Unlike `get`, an unknown categorical token is an error here. */
  routeKey(key: ReaderKey, options: { routingContext?: RoutingContext } = {}): number {
    const state = this.#borrow();
    try {
      const dbId = state.router.route(key, options.routingContext);
      if (dbId === null) {
        throw new ConfigValidationError(
          `key ${String(key)} has no shard: its routing token is not among the snapshot's routing_values`,
        );
      }
      return dbId;
    } finally {
      state.release();
    }
  }

  /**
   * Follows `_CURRENT` again. Returns true when a new snapshot was swapped in; false when the
   * pointer did not move, the new manifest is malformed (the reader stays on the old one), the
   * reader is pinned, or a later refresh already swapped in something newer (this one is discarded).
   */
  async refresh(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    this.#assertOpen();
    const changed = await this.#refresh(options.signal);
    safeEmit(this.#options.metrics, ReaderEvents.refreshed, { changed });
    return changed;
  }

  async #refresh(signal: AbortSignal | undefined): Promise<boolean> {
    if (this.#pinnedRef !== undefined) return false;
    const ticket = ++this.#refreshTicket;
    const loc = this.#location;
    const pointer = await loadCurrent(
      { store: loc.store, prefix: loc.prefix, currentPointerKey: loc.currentPointerKey },
      { signal },
    );
    if (pointer === null) {
      throw new ReaderStateError(
        `CURRENT pointer not found at ${loc.prefix || "the store root"}/${loc.currentPointerKey} of ` +
          `${loc.store.baseUrl}; the reader keeps serving ${this.#state.ref}`,
      );
    }
    const ref = pointer.manifestRef;
    if (ref === this.#state.ref || ref === this.#state.pointerRef) return false;
    let manifest: LoadedManifest["manifest"];
    try {
      manifest = await loadManifest(loc.store, ref, { signal });
    } catch (err) {
      // A malformed or missing new manifest: keep serving the old snapshot (reference §3.5).
      if (err instanceof ManifestParseError) return false;
      throw err;
    }
    const loaded: LoadedManifest = { manifest, ref, pointerRef: ref, fellBack: false, pinned: false };
    const next = await buildState(loaded, loc, this.#options, this.#kernel, this.#provider);
    if (this.#closed || ticket < this.#swappedTicket || next.ref === this.#state.ref) {
      await next.retire();
      return false;
    }
    const old = this.#state;
    this.#state = next;
    this.#swappedTicket = ticket;
    void old.retire();
    return true;
  }

  snapshotInfo(): SnapshotInfo {
    const s = this.#state;
    const b = s.manifest.build;
    return {
      runId: b.runId,
      numDbs: b.numDbs,
      sharding: b.sharding,
      createdAt: b.createdAt,
      manifestRef: s.ref,
      rowCount: s.manifest.shards.reduce((sum, shard) => sum + shard.rowCount, 0),
      keyEncoding: b.keyEncoding,
      hashAlgorithm: b.sharding.hashAlgorithm,
      nonEmptyShards: s.shardsById.filter((x) => x !== undefined).length,
      backend: s.factory.description,
      pinned: s.pinned,
      fellBack: s.fellBack,
      currentRef: s.pointerRef,
      loadedAt: s.loadedAt,
    };
  }

  /** Every shard `0..num_dbs-1`, empty ones padded in (reference `SnapshotRouter` eager mode). */
  shardDetails(): ShardDetail[] {
    const s = this.#state;
    return s.shardsById.map((meta, dbId) =>
      meta
        ? {
            dbId,
            rowCount: meta.rowCount,
            dbBytes: meta.dbBytes,
            minKey: meta.minKey,
            maxKey: meta.maxKey,
            dbUrl: meta.dbUrl,
            attempt: meta.attempt,
            checkpointId: meta.checkpointId,
          }
        : {
            dbId,
            rowCount: 0,
            dbBytes: 0,
            minKey: null,
            maxKey: null,
            dbUrl: null,
            attempt: 0,
            checkpointId: null,
          },
    );
  }

  /**
   * `unhealthy` when closed; `degraded` when the manifest is older than `stalenessThresholdMs` or
   * the reader fell back from a malformed `_CURRENT` manifest; `healthy` otherwise.
   */
  health(options: { stalenessThresholdMs?: number } = {}): ReaderHealth {
    const s = this.#state;
    const now = (this.#options.now ?? (() => new Date()))();
    const manifestAgeMs = now.getTime() - s.manifest.build.createdAt.getTime();
    const reasons: string[] = [];
    if (this.#closed) reasons.push("reader is closed");
    const threshold = options.stalenessThresholdMs;
    if (threshold !== undefined && manifestAgeMs > threshold) {
      reasons.push(
        `manifest is ${Math.round(manifestAgeMs / 1000)} s old, over the ${threshold / 1000} s threshold`,
      );
    }
    if (s.fellBack)
      reasons.push(`_CURRENT names a malformed manifest (${s.pointerRef}); serving an older one`);
    return {
      status: this.#closed ? "unhealthy" : reasons.length > 0 ? "degraded" : "healthy",
      reasons,
      manifestRef: s.ref,
      manifestAgeMs,
      numShards: s.manifest.build.numDbs,
      isClosed: this.#closed,
    };
  }

  /** Closes the reader; shard readers close once in-flight reads have finished. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      this.#closing = (async () => {
        await this.#state.retire();
        if (this.#location.ownsStore) await this.#location.store.close?.();
        safeEmit(this.#options.metrics, ReaderEvents.closed, {});
      })();
    }
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ReaderStateError("the reader is closed; open a new ShardedReader");
  }

  #emitGet(started: number, found: boolean): void {
    safeEmit(this.#options.metrics, ReaderEvents.get, { duration_ms: performance.now() - started, found });
  }

  #borrow(): SnapshotState {
    this.#assertOpen();
    const state = this.#state;
    state.borrow();
    return state;
  }
}

async function buildState(
  loaded: LoadedManifest,
  location: SnapshotLocation,
  options: ShardedReaderOptions,
  kernel: Kernel,
  provider: ShardReaderFactoryProvider,
): Promise<SnapshotState> {
  const router = new SnapshotRouter(kernel, loaded.manifest.build, options.celRoute);
  const factory = await provider({
    store: location.store,
    manifest: loaded.manifest,
    manifestRef: loaded.ref,
  });
  const state = new SnapshotState({
    ...loaded,
    router,
    factory,
    loadedAt: (options.now ?? (() => new Date()))(),
  });
  if ((options.openShards ?? "eager") === "eager") {
    await state.openAll(options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY, options.signal);
  }
  return state;
}

/** A failed shard read: shardy errors pass through, others become `DbAdapterError` naming the shard. */
function shardReadError(dbId: number, err: unknown): Error {
  if (err instanceof ShardyError) return err;
  return new DbAdapterError(`Read failed for shard db_id=${dbId}: ${(err as Error)?.message ?? err}`, {
    cause: err,
  });
}
