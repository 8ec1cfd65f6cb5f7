/**
 * One loaded snapshot: its manifest, router and shard readers, plus a borrow count. Every read
 * borrows the state it started on and returns it when done; a refresh retires the old state, which
 * closes its shard readers only once the last borrow is returned. So an in-flight read never
 * mixes two snapshots, and never sees a reader closed under it.
 */
import type { Manifest, ShardMeta } from "@shardy/core";
import { DbAdapterError, ShardyError } from "@shardy/errors";
import type { ShardReader, ShardReaderFactory } from "./backends.ts";
import { shardChecksums } from "./backends.ts";
import { forEachLimited } from "./concurrency.ts";
import type { SnapshotRouter } from "./router.ts";

export type OpenShardsPolicy = "eager" | "lazy";

export interface SnapshotStateInit {
  manifest: Manifest;
  /** The manifest served. */
  ref: string;
  /** The ref `_CURRENT` named when this state was loaded (differs from `ref` after a fallback). */
  pointerRef: string | null;
  fellBack: boolean;
  pinned: boolean;
  router: SnapshotRouter;
  factory: ShardReaderFactory;
  loadedAt: Date;
}

export class SnapshotState {
  readonly manifest: Manifest;
  readonly ref: string;
  readonly pointerRef: string | null;
  readonly fellBack: boolean;
  readonly pinned: boolean;
  readonly router: SnapshotRouter;
  readonly factory: ShardReaderFactory;
  readonly loadedAt: Date;
  /** Shard metadata by db id; `undefined` for empty shards (absent from the sparse manifest). */
  readonly shardsById: ReadonlyArray<ShardMeta | undefined>;
  readonly #checksums: Map<number, string>;
  readonly #readers = new Map<number, Promise<ShardReader>>();
  /** Readers whose open has finished, by db id: warm reads take them without awaiting a promise. */
  readonly #open: Array<ShardReader | undefined> = [];
  #borrows = 0;
  #retired = false;
  #closing: Promise<void> | undefined;
  #resolveClosed!: () => void;
  /** Resolves once the shard readers are closed (after retirement and the last release). */
  readonly closed: Promise<void>;

  constructor(init: SnapshotStateInit) {
    this.manifest = init.manifest;
    this.ref = init.ref;
    this.pointerRef = init.pointerRef;
    this.fellBack = init.fellBack;
    this.pinned = init.pinned;
    this.router = init.router;
    this.factory = init.factory;
    this.loadedAt = init.loadedAt;
    const byId: Array<ShardMeta | undefined> = new Array(init.manifest.build.numDbs).fill(undefined);
    for (const shard of init.manifest.shards) {
      if (shard.dbUrl !== null) byId[shard.dbId] = shard;
    }
    this.shardsById = byId;
    this.#checksums = shardChecksums(init.manifest);
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get borrows(): number {
    return this.#borrows;
  }

  get retired(): boolean {
    return this.#retired;
  }

  /** Opens every non-empty shard now; on failure closes what was opened and rethrows. */
  async openAll(concurrency: number, signal?: AbortSignal): Promise<void> {
    const ids = this.shardsById.flatMap((s, id) => (s ? [id] : []));
    try {
      await forEachLimited(ids, concurrency, async (id) => {
        await this.readerFor(id, signal);
      });
    } catch (err) {
      await this.#closeReaders();
      throw err;
    }
  }

  /** The reader of shard `dbId` when it is already open (the warm path), else `undefined`. */
  openReader(dbId: number): ShardReader | undefined {
    return this.#open[dbId];
  }

  /** The reader of shard `dbId` (opened on first use), or `null` for an empty shard. */
  readerFor(dbId: number, signal?: AbortSignal): Promise<ShardReader | null> {
    const meta = this.shardsById[dbId];
    if (!meta || meta.dbUrl === null) return Promise.resolve(null);
    let pending = this.#readers.get(dbId);
    if (!pending) {
      const dbUrl = meta.dbUrl;
      pending = this.factory
        .open(
          {
            dbId,
            dbUrl,
            dbBytes: meta.dbBytes,
            rowCount: meta.rowCount,
            checkpointId: meta.checkpointId,
            checksum: this.#checksums.get(dbId),
          },
          signal,
        )
        .then(
          (reader) => {
            // Only while still current: a reader opened after retirement is closed with the rest.
            if (this.#readers.get(dbId) === pending) this.#open[dbId] = reader;
            return reader;
          },
          (err: unknown) => {
            // Forget the failure so a later read can try again.
            this.#readers.delete(dbId);
            if (err instanceof ShardyError) throw err;
            throw new DbAdapterError(
              `cannot open shard db_id=${dbId} at ${dbUrl} (${this.factory.description}): ${(err as Error)?.message ?? err}`,
              { cause: err },
            );
          },
        );
      this.#readers.set(dbId, pending);
    }
    return pending;
  }

  borrow(): void {
    this.#borrows++;
  }

  release(): void {
    this.#borrows--;
    if (this.#retired && this.#borrows === 0) void this.#finish();
  }

  /** No new borrows will be taken; closes the shard readers once the last borrow is returned. */
  retire(): Promise<void> {
    this.#retired = true;
    if (this.#borrows === 0) void this.#finish();
    return this.closed;
  }

  #finish(): Promise<void> {
    this.#closing ??= this.#closeReaders().finally(() => this.#resolveClosed());
    return this.#closing;
  }

  async #closeReaders(): Promise<void> {
    const pending = [...this.#readers.values()];
    this.#readers.clear();
    this.#open.length = 0;
    await Promise.allSettled(
      pending.map(async (p) => {
        const reader = await p;
        await reader.close();
      }),
    );
  }
}
