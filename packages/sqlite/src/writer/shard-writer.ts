/**
 * Writes one SQLite shard attempt (reference-format §6): buffer pairs, sort them by encoded key,
 * write the `kv` b-tree of a local `shard.db` page by page (`KvBtreeBuilder`: the file SQLite
 * would hold after the reference's pragmas and INSERTs, without running SQLite), then upload
 * `shard.db` and its sidecar v8 bound to the uploaded ETag.
 *
 * Rows that arrive in ascending key order (sorted input, or a shard's share of it) go straight
 * into the b-tree as they come: no buffer, no sort. The first row out of order (or a repeated key)
 * seals that b-tree as the oldest sorted run and switches to buffering. Buffered memory is bounded
 * by `memoryBudgetBytes`: past it the buffer is sorted and spilled to a run file next to shard.db,
 * and the runs are merged at the end, so the final b-tree sees sorted input.
 */
import { ConfigValidationError, ShardWriteError, ShardyError, SidecarUnavailableError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import { createChecksum } from "../checksum.ts";
import type { ShardWriteResult, ShardWriter } from "../contract.ts";
import {
  inlinePayloadThreshold,
  type PageSizeOption,
  p95Index,
  recommendPageSize,
  validatePageSize,
} from "../page-size.ts";
import { buildSidecarContent } from "../sidecar/build.ts";
import { encodeSidecarBody, frameSidecar, SIDECAR_FILENAME } from "../sidecar/format.ts";
import { zstdCompress } from "../sidecar/zstd.ts";
import { joinPath, type LocalFs, localFs } from "../util/local-fs.ts";
import { DB_FILENAME, shardObjectKey, toHex } from "../util/urls.ts";
import { KvBtreeBuilder } from "./btree-builder.ts";
import { BtreeRunReader } from "./btree-run.ts";
import { PAIR_OVERHEAD_BYTES, PairBuffer, type PairSink } from "./pair-buffer.ts";
import { SortedStream, type SortedStreamResult } from "./sorted-stream.ts";
import { mergeRuns, RunReader, type SortedRun, writeRun } from "./spill.ts";

/** SQLite's default SQLITE_MAX_LENGTH: no string, blob or row record may be longer. */
export const SQLITE_MAX_LENGTH = 1_000_000_000;
/** Worst-case record header of a two-column row (header size + two serial types, varints). */
const RECORD_HEADER_MAX = 1 + 9 + 9;
export const DEFAULT_MEMORY_BUDGET_BYTES = 256 * 1024 * 1024;
const UPLOAD_CHUNK = 8 * 1024 * 1024;
const SQLITE_CONTENT_TYPE = "application/x-sqlite3";
/** Bytes of shard.db written between background writeback requests (see `#newBuilder`). */
const WRITEBACK_BYTES = 16 * 1024 * 1024;

export interface SqliteShardWriterOptions {
  store: ObjectStore;
  /** Attempt URL inside `store` (`<s3_prefix>/shards/run_id=<r>/db=00000/attempt=00`). */
  dbUrl: string;
  /** Local scratch directory for shard.db and spill runs (created; emptied of our files after). */
  localDir: string;
  /** 4096..65536 or "auto" (reference formula); default 4096. */
  pageSize?: number | "auto";
  /** Write shard.sidecar (default true). */
  emitSidecar?: boolean;
  /** Buffered bytes (keys + values + 8 per pair) before a sorted run is spilled; default 256 MiB. */
  memoryBudgetBytes?: number;
  /** Largest shard.db allowed on local disk (like `PRAGMA max_page_count`); exceeding it is a disk-full error. */
  maxDbBytes?: number;
  /** Keep the local shard.db after upload (default false: removed). */
  keepLocalFile?: boolean;
  /** Encodes the key of `putRecord` (e.g. the kernel's `encodeKey(key, "u64be")`). */
  keyEncoder?: (key: unknown) => Uint8Array;
  signal?: AbortSignal;
  onProgress?: (event: ShardWriteProgress) => void;
  fs?: LocalFs;
}

export interface ShardWriteProgress {
  stage: "spill" | "build" | "sidecar" | "upload" | "done";
  rows?: number;
  bytes?: number;
}

export type SidecarOutcome =
  | { written: true; bytes: number; pages: number; chains: number }
  | { written: false; reason: string };

export interface SqliteShardWriteResult extends ShardWriteResult {
  checksum: string;
  pageSize: number;
  /** ETag of the uploaded shard.db (the sidecar is bound to it). */
  etag: string;
  sidecar: SidecarOutcome;
  spilledRuns: number;
}

/** Rows `putBatch` copies before it checks the memory budget. */
const PUT_BATCH_SLICE = 4096;

type BuiltShard = SortedStreamResult;

export class SqliteShardWriter implements ShardWriter<SqliteShardWriteResult> {
  readonly #opts: SqliteShardWriterOptions;
  readonly #fs: LocalFs;
  readonly #pageSize: PageSizeOption;
  readonly #budget: number;
  readonly #buffer = new PairBuffer();
  /** The b-tree taking rows while they arrive in key order; undefined once buffering. */
  #stream: SortedStream | undefined;
  /** The streamed rows sealed as a b-tree when the key order broke (the oldest run). */
  #streamedRun: string | undefined;
  readonly #runs: string[] = [];
  #puts = 0;
  /** Largest key + value put so far (spilled runs included): decides if leaves can overflow. */
  #maxPairBytes = 0;
  #runDuplicates = 0;
  #state: "open" | "finishing" | "done" | "aborted" = "open";

  private constructor(options: SqliteShardWriterOptions) {
    this.#opts = options;
    this.#fs = options.fs ?? localFs();
    this.#pageSize = validatePageSize(options.pageSize ?? 4096);
    this.#budget = options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
    if (!(this.#budget > 0)) {
      throw new ConfigValidationError(
        `memoryBudgetBytes must be a positive number, got ${options.memoryBudgetBytes}`,
        { field: "memoryBudgetBytes" },
      );
    }
    // Validates the URL early: a bad db_url is a config error, not a failed attempt.
    shardObjectKey(options.store, options.dbUrl, DB_FILENAME);
  }

  static async create(options: SqliteShardWriterOptions): Promise<SqliteShardWriter> {
    const writer = new SqliteShardWriter(options);
    writer.#fs.mkdirSync(options.localDir, { recursive: true });
    // "auto" needs every value length before the page size is known: buffer from the start.
    if (writer.#pageSize !== "auto") {
      writer.#stream = new SortedStream(writer.#newBuilder(writer.#pageSize));
    }
    return writer;
  }

  get dbPath(): string {
    return joinPath(this.#opts.localDir, DB_FILENAME);
  }

  /** Puts received so far (including duplicates). */
  get puts(): number {
    return this.#puts;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    if (this.#state !== "open")
      throw new ShardWriteError(`shard writer for ${this.#opts.dbUrl} is ${this.#state}`);
    const row = this.#puts;
    if (!(key instanceof Uint8Array)) {
      throw new ConfigValidationError(
        `row ${row}: key must be encoded bytes (Uint8Array), got ${describe(key)}; encode it with the snapshot's key encoding`,
        { field: "key" },
      );
    }
    if (!(value instanceof Uint8Array)) {
      throw new ConfigValidationError(
        `row ${row} (key ${toHex(key, 32)}): value must be bytes (Uint8Array), got ${describe(value)}`,
        { field: "value" },
      );
    }
    if (key.length + value.length + RECORD_HEADER_MAX > SQLITE_MAX_LENGTH) {
      throw new ConfigValidationError(
        `row ${row} (key ${toHex(key, 32)}): key + value are ${key.length + value.length} bytes, over SQLite's ` +
          `${SQLITE_MAX_LENGTH}-byte row limit (SQLITE_MAX_LENGTH); store large values elsewhere and keep a reference`,
        { field: "value" },
      );
    }
    this.#puts++;
    const stream = this.#stream;
    if (stream && this.#streamed(stream, () => stream.accept(key, 0, key.length, value, 0, value.length))) {
      return;
    }
    this.#endStream();
    this.#buffer.add(key, value);
    if (this.#buffer.bytes >= this.#budget) this.#spill();
  }

  /**
   * Puts rows `[start, end)` of two Arrow-binary-style columns at once (`keyOffsets` and
   * `valueOffsets` hold one offset per row plus one into `keyData` / `valueData`), as `put` would
   * row by row but without a view per row. The columns are copied; the caller may reuse them.
   */
  putBatch(
    keyOffsets: ArrayLike<number>,
    keyData: Uint8Array,
    valueOffsets: ArrayLike<number>,
    valueData: Uint8Array,
    start = 0,
    end = keyOffsets.length - 1,
  ): void {
    if (this.#state !== "open")
      throw new ShardWriteError(`shard writer for ${this.#opts.dbUrl} is ${this.#state}`);
    if (
      !(keyData instanceof Uint8Array) ||
      !(valueData instanceof Uint8Array) ||
      start < 0 ||
      end < start ||
      end >= keyOffsets.length ||
      end >= valueOffsets.length ||
      keyOffsets[end]! > keyData.length ||
      valueOffsets[end]! > valueData.length
    ) {
      throw new ConfigValidationError(
        `putBatch rows [${start}, ${end}) do not fit the columns (${keyOffsets.length} key offsets over ` +
          `${keyData?.length} bytes, ${valueOffsets.length} value offsets over ${valueData?.length} bytes); ` +
          "pass Uint8Array data and offsets with one entry per row plus one",
        { field: "putBatch" },
      );
    }
    // No row can pass SQLite's limit unless the whole range does: skip the per-row check then.
    const rangeBytes = keyOffsets[end]! - keyOffsets[start]! + (valueOffsets[end]! - valueOffsets[start]!);
    if (rangeBytes + RECORD_HEADER_MAX > SQLITE_MAX_LENGTH) {
      for (let r = start; r < end; r++) {
        const kl = keyOffsets[r + 1]! - keyOffsets[r]!;
        const vl = valueOffsets[r + 1]! - valueOffsets[r]!;
        if (kl + vl + RECORD_HEADER_MAX > SQLITE_MAX_LENGTH) {
          const key = keyData.subarray(keyOffsets[r]!, keyOffsets[r + 1]!);
          throw new ConfigValidationError(
            `row ${this.#puts + (r - start)} (key ${toHex(key, 32)}): key + value are ${kl + vl} bytes, over SQLite's ` +
              `${SQLITE_MAX_LENGTH}-byte row limit (SQLITE_MAX_LENGTH); store large values elsewhere and keep a reference`,
            { field: "value" },
          );
        }
      }
    }
    let at = start;
    const stream = this.#stream;
    if (stream) {
      at = this.#streamed(stream, () =>
        stream.acceptColumns(keyOffsets, keyData, valueOffsets, valueData, start, end),
      );
      this.#puts += at - start;
      if (at < end) this.#endStream();
    }
    // Slices keep the buffer near the memory budget: a spill happens between slices.
    while (at < end) {
      const stop = Math.min(end, at + PUT_BATCH_SLICE);
      this.#buffer.addColumns(keyOffsets, keyData, valueOffsets, valueData, at, stop);
      this.#puts += stop - at;
      at = stop;
      if (this.#buffer.bytes >= this.#budget) this.#spill();
    }
  }

  /** Encodes `key` with the configured `keyEncoder`, naming the row when it cannot be encoded. */
  putRecord(key: unknown, value: Uint8Array): void {
    const encoder = this.#opts.keyEncoder;
    if (!encoder) {
      throw new ConfigValidationError(
        "putRecord needs the keyEncoder option; or call put() with encoded keys",
        {
          field: "keyEncoder",
        },
      );
    }
    let encoded: Uint8Array;
    try {
      encoded = encoder(key);
    } catch (err) {
      throw new ConfigValidationError(
        `row ${this.#puts}: key ${describe(key)} cannot be encoded: ${(err as Error).message}`,
        { field: "key", cause: err },
      );
    }
    this.put(encoded, value);
  }

  async finish(): Promise<SqliteShardWriteResult> {
    if (this.#state !== "open")
      throw new ShardWriteError(`shard writer for ${this.#opts.dbUrl} is ${this.#state}`);
    this.#state = "finishing";
    try {
      const result = await this.#finish();
      this.#state = "done";
      return result;
    } catch (err) {
      await this.#cleanupAfterFailure();
      this.#state = "aborted";
      if (err instanceof ConfigValidationError) throw err;
      if (err instanceof ShardWriteError) throw err;
      throw new ShardWriteError(
        `writing shard ${this.#opts.dbUrl} failed: ${(err as Error).message}; the attempt left no objects behind, retry it as a new attempt`,
        { cause: err },
      );
    }
  }

  async abort(): Promise<void> {
    if (this.#state === "done") {
      await this.#deleteRemote();
      return;
    }
    this.#state = "aborted";
    await this.#cleanupAfterFailure();
  }

  /**
   * Runs a write into the streamed b-tree `stream`. A failure there (a full disk) ends the
   * attempt: the file is closed, the local files go, and the writer refuses further calls.
   */
  #streamed<T>(stream: SortedStream, write: () => T): T {
    try {
      return write();
    } catch (err) {
      stream.close();
      this.#stream = undefined;
      this.#state = "aborted";
      this.#removeLocalFiles();
      throw asDiskError(err, this.dbPath);
    }
  }

  /**
   * The key order broke. The streamed rows become the oldest sorted run, or, when they are few
   * (unsorted input breaks the order at once), go back into the now empty buffer as its first puts.
   */
  #endStream(): void {
    const stream = this.#stream;
    if (!stream) return;
    const path = joinPath(this.#opts.localDir, "streamed.db");
    this.#streamed(stream, () => {
      stream.finish();
      this.#fs.renameSync(this.dbPath, path);
    });
    this.#stream = undefined;
    this.#maxPairBytes = Math.max(this.#maxPairBytes, stream.maxPairBytes);
    if (stream.bytes + stream.rows * PAIR_OVERHEAD_BYTES > this.#budget / 2) {
      this.#streamedRun = path;
      return;
    }
    const reader = BtreeRunReader.open(path, 0);
    try {
      while (reader.next()) {
        const { buf, at, keyLength, valueLength } = reader;
        this.#buffer.add(
          buf.subarray(at, at + keyLength),
          buf.subarray(at + keyLength, at + keyLength + valueLength),
        );
      }
    } finally {
      reader.close();
      this.#fs.rmSync(path, { force: true });
    }
  }

  #spill(): void {
    this.#maxPairBytes = Math.max(this.#maxPairBytes, this.#buffer.maxPairBytes);
    const path = joinPath(this.#opts.localDir, `run-${this.#runs.length}.spill`);
    try {
      this.#runDuplicates += writeRun(this.#fs, path, this.#buffer);
    } catch (err) {
      throw asDiskError(err, path);
    }
    this.#runs.push(path);
    this.#buffer.reset();
    this.#opts.onProgress?.({ stage: "spill", rows: this.#puts });
  }

  async #finish(): Promise<SqliteShardWriteResult> {
    const opts = this.#opts;
    const signal = opts.signal;
    signal?.throwIfAborted();
    const dbPath = this.dbPath;
    if (!this.#stream) this.#fs.rmSync(dbPath, { force: true });

    // 1. Build shard.db locally.
    let built: BuiltShard;
    let pageSize: number;
    const stream = this.#stream;
    if (stream) {
      // Every row arrived in key order: the b-tree is already written.
      pageSize = stream.pageSize;
      built = this.#streamed(stream, () => stream.finish());
      this.#stream = undefined;
      this.#maxPairBytes = Math.max(this.#maxPairBytes, stream.maxPairBytes);
    } else if (this.#runs.length === 0 && this.#streamedRun === undefined) {
      const order = this.#buffer.sortedOrder();
      pageSize =
        this.#pageSize === "auto"
          ? autoPageSize((sink) => this.#buffer.forEachLatest(order, sink))
          : this.#pageSize;
      built = this.#build(pageSize, (add) => this.#buffer.forEachLatest(order, add));
    } else {
      if (this.#buffer.count > 0) this.#spill();
      // "auto" over spilled runs costs one extra merge pass for the lengths of the surviving rows.
      pageSize =
        this.#pageSize === "auto"
          ? autoPageSize((sink) => this.#withRuns((readers) => mergeRuns(readers, sink)))
          : this.#pageSize;
      built = this.#withRuns((readers) => this.#build(pageSize, (add) => mergeRuns(readers, add)));
      built.duplicates += this.#runDuplicates;
    }
    const maxPairBytes = Math.max(this.#maxPairBytes, this.#buffer.maxPairBytes);
    for (const run of this.#runFiles()) this.#fs.rmSync(run, { force: true });
    this.#buffer.reset();
    signal?.throwIfAborted();
    const dbBytes = this.#fs.statSync(dbPath)!.size;

    // 2. Sidecar body (needs only the local file; the ETag prefix comes after upload).
    let sidecarBody: { compressed: Uint8Array; size: number; pages: number; chains: number } | undefined;
    let sidecar: SidecarOutcome = { written: false, reason: "disabled (emitSidecar: false)" };
    if (opts.emitSidecar ?? true) {
      opts.onProgress?.({ stage: "sidecar" });
      try {
        // A row's record is its key, value and a header of at most RECORD_HEADER_MAX bytes.
        const leavesCannotOverflow = maxPairBytes + RECORD_HEADER_MAX <= inlinePayloadThreshold(pageSize);
        const content = buildSidecarContent(dbPath, { leavesCannotOverflow });
        const body = encodeSidecarBody(content);
        sidecarBody = {
          compressed: zstdCompress(body, 3),
          size: body.length,
          pages: content.pages.size,
          chains: content.chains.size,
        };
      } catch (err) {
        if (!(err instanceof SidecarUnavailableError)) throw err;
        sidecar = { written: false, reason: err.message };
      }
    }

    // 3. Upload shard.db, then check what landed.
    opts.onProgress?.({ stage: "upload", bytes: dbBytes });
    const dbKey = shardObjectKey(opts.store, opts.dbUrl, DB_FILENAME);
    const checksum = await this.#upload(dbPath, dbKey, dbBytes);
    const head = await opts.store.head(dbKey, { signal });
    if (!head) throw new ShardWriteError(`uploaded ${dbKey} but HEAD does not find it; retry the attempt`);
    if (head.size !== dbBytes) {
      throw new ShardWriteError(
        `uploaded ${dbKey} is ${head.size} bytes, the local file ${dbBytes}: the upload was truncated; retry the attempt`,
      );
    }

    // 4. Sidecar, bound to the ETag the store reports for shard.db.
    if (sidecarBody) {
      const framed = frameSidecar(sidecarBody.compressed, sidecarBody.size, pageSize, head.etag);
      await opts.store.put(shardObjectKey(opts.store, opts.dbUrl, SIDECAR_FILENAME), framed, {
        contentType: "application/octet-stream",
        signal,
      });
      sidecar = { written: true, bytes: framed.length, pages: sidecarBody.pages, chains: sidecarBody.chains };
    }

    if (!opts.keepLocalFile) this.#fs.rmSync(dbPath, { force: true });
    opts.onProgress?.({ stage: "done", rows: built.rows });
    return {
      dbUrl: opts.dbUrl,
      rowCount: built.rows,
      duplicateCount: built.duplicates,
      dbBytes,
      checksum,
      minKey: built.minKey,
      maxKey: built.maxKey,
      pageSize,
      etag: head.etag,
      sidecar,
      spilledRuns: this.#runs.length,
    };
  }

  /** Writes shard.db from the rows `feed` emits in ascending key order (distinct keys). */
  #build(
    pageSize: number,
    /** Emits rows in key order (distinct keys); returns the superseded puts it skipped. */
    feed: (sink: PairSink) => number,
  ): BuiltShard {
    const opts = this.#opts;
    const dbPath = this.dbPath;
    let stream: SortedStream | undefined;
    try {
      const s = new SortedStream(this.#newBuilder(pageSize));
      stream = s;
      const signal = opts.signal;
      const progress = opts.onProgress;
      const duplicates = feed((keys, keyAt, kl, values, valueAt, vl) => {
        if (!s.accept(keys, keyAt, kl, values, valueAt, vl)) {
          throw new Error(`internal: sorted rows reached the b-tree out of order at row ${s.rows}`);
        }
        if ((s.rows & 0xffff) === 0) {
          signal?.throwIfAborted();
          progress?.({ stage: "build", rows: s.rows });
        }
      });
      return { ...s.finish(), duplicates };
    } catch (err) {
      stream?.close();
      throw asDiskError(err, dbPath);
    }
  }

  /**
   * A b-tree builder on shard.db. When the store takes the file itself (the file store, which
   * fsyncs it), pages go to disk in the background as they are written.
   */
  #newBuilder(pageSize: number): KvBtreeBuilder {
    const writeback = this.#opts.store.putFile ? WRITEBACK_BYTES : 0;
    return new KvBtreeBuilder(this.#fs, this.dbPath, pageSize, this.#opts.maxDbBytes, writeback);
  }

  /** The streamed b-tree (if the key order broke) and the spilled runs, oldest first. */
  #runFiles(): string[] {
    return this.#streamedRun === undefined ? [...this.#runs] : [this.#streamedRun, ...this.#runs];
  }

  /** Opens a reader per sorted run for `use`, closing them after. */
  #withRuns<T>(use: (readers: SortedRun[]) => T): T {
    const readers: SortedRun[] = [];
    const streamed = this.#streamedRun;
    try {
      if (streamed !== undefined) readers.push(BtreeRunReader.open(streamed, 0));
      const first = readers.length;
      for (const [i, path] of this.#runs.entries()) readers.push(RunReader.open(this.#fs, path, first + i));
      return use(readers);
    } finally {
      for (const r of readers) r.close();
    }
  }

  /**
   * Uploads shard.db; returns its checksum. A store that takes local files (the file store) gets
   * the file itself, moved in unless it is kept; others get it streamed, hashed on the way.
   */
  async #upload(dbPath: string, key: string, size: number): Promise<string> {
    const { store, signal, keepLocalFile } = this.#opts;
    const checksum = await createChecksum();
    if (store.putFile) {
      // One reused buffer: fresh memory per chunk costs more in page faults than the read does.
      const buffer = new Uint8Array(Math.min(UPLOAD_CHUNK, size));
      for (const chunk of this.#fileChunks(dbPath, size, () => buffer)) checksum.update(chunk);
      await store.putFile(key, dbPath, { move: !keepLocalFile, contentType: SQLITE_CONTENT_TYPE, signal });
      return checksum.digest();
    }
    // The store may hold on to chunks (multipart parts in flight): each gets a buffer of its own.
    const fresh = this.#fileChunks(dbPath, size, (n) => new Uint8Array(n));
    async function* hashed(): AsyncGenerator<Uint8Array> {
      for (const chunk of fresh) {
        checksum.update(chunk);
        yield chunk;
      }
    }
    await store.putStream(key, hashed(), { contentType: SQLITE_CONTENT_TYPE, signal });
    return checksum.digest();
  }

  /** The bytes of a local file in `UPLOAD_CHUNK` pieces, each read into `bufferFor(length)`. */
  *#fileChunks(path: string, size: number, bufferFor: (length: number) => Uint8Array): Generator<Uint8Array> {
    const fs = this.#fs;
    const fd = fs.openSync(path, "r");
    try {
      for (let pos = 0; pos < size; pos += UPLOAD_CHUNK) {
        const length = Math.min(UPLOAD_CHUNK, size - pos);
        const chunk = bufferFor(length).subarray(0, length);
        const n = fs.readSync(fd, chunk, 0, length, pos);
        if (n !== length) throw new Error(`short read of ${path} at ${pos}`);
        yield chunk;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  async #deleteRemote(): Promise<void> {
    const { store, dbUrl } = this.#opts;
    for (const name of [SIDECAR_FILENAME, DB_FILENAME]) {
      try {
        await store.delete(shardObjectKey(store, dbUrl, name));
      } catch {
        // Best effort: an attempt that failed is never published, and loser cleanup removes leftovers.
      }
    }
  }

  async #cleanupAfterFailure(): Promise<void> {
    this.#stream?.close();
    this.#stream = undefined;
    this.#removeLocalFiles();
    await this.#deleteRemote();
  }

  #removeLocalFiles(): void {
    this.#buffer.reset();
    for (const path of [...this.#runFiles(), this.dbPath]) {
      try {
        this.#fs.rmSync(path, { force: true });
      } catch {
        // Local scratch; nothing points at it.
      }
    }
  }
}

/**
 * The reference's "auto" page size from the rows `feed` emits (the p95 value length and the
 * longest key), known before the b-tree is written so no VACUUM is needed.
 */
function autoPageSize(feed: (sink: PairSink) => number): number {
  let lengths = new Uint32Array(1024);
  let n = 0;
  let maxKey = 0;
  feed((_keys, _keyAt, kl, _values, _valueAt, vl) => {
    if (n === lengths.length) {
      const grown = new Uint32Array(n * 2);
      grown.set(lengths);
      lengths = grown;
    }
    lengths[n++] = vl;
    if (kl > maxKey) maxKey = kl;
  });
  if (n === 0) return 4096;
  const sorted = lengths.subarray(0, n).sort();
  return recommendPageSize(sorted[p95Index(n)]!, maxKey);
}

function asDiskError(err: unknown, path: string): unknown {
  if (err instanceof ShardyError) return err;
  const message = (err as Error)?.message ?? String(err);
  if (/disk is full|database or disk is full|ENOSPC|SQLITE_FULL/i.test(message)) {
    return new ShardWriteError(
      `local disk full while writing ${path} (${message}); free space under the writer's local_root or raise the limit, then retry`,
      { cause: err },
    );
  }
  return err;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v);
  if (typeof v === "object") return v.constructor?.name ?? "object";
  return `${typeof v} ${String(v)}`;
}
