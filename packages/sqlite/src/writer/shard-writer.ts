/**
 * Writes one SQLite shard attempt (reference-format §6): buffer pairs, sort them by encoded key,
 * insert them into a local `shard.db` with the reference pragmas, then upload `shard.db` and its
 * sidecar v8 bound to the uploaded ETag.
 *
 * Memory is bounded by `memoryBudgetBytes`: past it the buffer is sorted and spilled to a run
 * file next to shard.db, and the runs are merged at the end, so SQLite always sees sorted input.
 */
import { ConfigValidationError, ShardWriteError, ShardyError, SidecarUnavailableError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import { createChecksum } from "../checksum.ts";
import type { ShardWriteResult, ShardWriter } from "../contract.ts";
import { loadDriver } from "../drivers/select.ts";
import { queryOne, type SqliteConnection, type SqliteDriver } from "../drivers/types.ts";
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
import { PairBuffer } from "./pair-buffer.ts";
import { forEachLatest, mergeRuns, RunReader, writeRun } from "./spill.ts";

/** SQLite's default SQLITE_MAX_LENGTH: no string, blob or row record may be longer. */
export const SQLITE_MAX_LENGTH = 1_000_000_000;
/** Worst-case record header of a two-column row (header size + two serial types, varints). */
const RECORD_HEADER_MAX = 1 + 9 + 9;
export const DEFAULT_MEMORY_BUDGET_BYTES = 256 * 1024 * 1024;
const UPLOAD_CHUNK = 8 * 1024 * 1024;

export interface SqliteShardWriterOptions {
  store: ObjectStore;
  /** Attempt URL inside `store` (`<s3_prefix>/shards/run_id=<r>/db=00000/attempt=00`). */
  dbUrl: string;
  /** Local scratch directory for shard.db and spill runs (created; emptied of our files after). */
  localDir: string;
  /** 4096..65536 or "auto" (reference formula); default 4096. */
  pageSize?: number | "auto";
  /** `PRAGMA cache_size` while writing (negative = KiB); default -2000. */
  cacheSizePages?: number;
  /** Write shard.sidecar (default true). */
  emitSidecar?: boolean;
  /** Engine; default the runtime's (`loadDriver()`). */
  driver?: SqliteDriver;
  /** Buffered bytes (keys + values + 12 per pair) before a sorted run is spilled; default 256 MiB. */
  memoryBudgetBytes?: number;
  /** Largest shard.db allowed on local disk (`PRAGMA max_page_count`); exceeding it is a disk-full error. */
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
  stage: "spill" | "insert" | "sidecar" | "upload" | "done";
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
  driver: string;
  /** The journal mode SQLite accepted ("off", or "memory" where OFF is refused). */
  journalMode: string;
  spilledRuns: number;
}

const INSERT_SQL = "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)";
/** Rows `putBatch` copies before it checks the memory budget. */
const PUT_BATCH_SLICE = 4096;
/** Rows per multi-row INSERT (512 bound variables, below SQLite's 32766 limit and the old 999). */
const BATCH_ROWS = 256;

interface BuiltShard {
  rows: number;
  duplicates: number;
  minKey?: Uint8Array;
  maxKey?: Uint8Array;
  journalMode: string;
}

/**
 * `PRAGMA journal_mode = OFF` as the reference sets it. SQLite refuses OFF in defensive mode,
 * which Bun's build enables; MEMORY is the closest allowed mode (an empty database being filled
 * journals next to nothing) and leaves the file identical. Returns the mode in force.
 */
function setJournalModeOff(db: SqliteConnection): string {
  const mode = String(queryOne(db, "PRAGMA journal_mode = OFF")?.journal_mode ?? "").toLowerCase();
  if (mode === "off") return mode;
  return String(queryOne(db, "PRAGMA journal_mode = MEMORY")?.journal_mode ?? "").toLowerCase();
}

export class SqliteShardWriter implements ShardWriter<SqliteShardWriteResult> {
  readonly #opts: SqliteShardWriterOptions;
  readonly #fs: LocalFs;
  readonly #pageSize: PageSizeOption;
  readonly #budget: number;
  readonly #buffer = new PairBuffer();
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
    this.#buffer.add(key, value);
    this.#puts++;
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
    // Slices keep the buffer near the memory budget: a spill happens between slices.
    for (let at = start; at < end; ) {
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
    const driver = opts.driver ?? (await loadDriver());
    const dbPath = this.dbPath;
    this.#fs.rmSync(dbPath, { force: true });
    const maxPairBytes = Math.max(this.#maxPairBytes, this.#buffer.maxPairBytes);

    // 1. Build shard.db locally.
    let built: BuiltShard;
    let pageSize: number;
    if (this.#runs.length === 0) {
      const order = this.#buffer.sortedOrder();
      pageSize = this.#pageSize === "auto" ? this.#autoPageSizeInMemory(order) : this.#pageSize;
      built = this.#insert(driver, pageSize, (insert) => forEachLatest(this.#buffer, order, insert));
    } else {
      if (this.#buffer.count > 0) this.#spill();
      const readers = this.#runs.map((path, i) => RunReader.open(this.#fs, path, i));
      try {
        // mergeRuns emits copies (its readers reuse their buffers), so they can wait in a batch.
        built = this.#insert(driver, this.#pageSize === "auto" ? 4096 : this.#pageSize, (insert) =>
          mergeRuns(readers, insert),
        );
      } finally {
        for (const r of readers) r.close();
      }
      built.duplicates += this.#runDuplicates;
      pageSize = this.#pageSize === "auto" ? repageToAuto(driver, dbPath) : this.#pageSize;
    }
    for (const run of this.#runs) this.#fs.rmSync(run, { force: true });
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
      driver: driver.name,
      journalMode: built.journalMode,
      spilledRuns: this.#runs.length,
    };
  }

  /** Creates shard.db with the reference pragmas and inserts what `feed` emits, in one transaction. */
  #insert(
    driver: SqliteDriver,
    pageSize: number,
    /** Emits rows in key order; a row waits in a multi-row batch, so its views must stay valid. */
    feed: (insert: (k: Uint8Array, v: Uint8Array) => void) => number,
  ): BuiltShard {
    const opts = this.#opts;
    const dbPath = this.dbPath;
    let db: SqliteConnection | undefined;
    let rows = 0;
    let journalMode = "off";
    try {
      db = driver.open(dbPath);
      db.exec(`PRAGMA page_size = ${pageSize}`);
      journalMode = setJournalModeOff(db);
      db.exec("PRAGMA synchronous = OFF");
      db.exec(`PRAGMA cache_size = ${Math.trunc(opts.cacheSizePages ?? -2000)}`);
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("PRAGMA temp_store = MEMORY");
      if (opts.maxDbBytes !== undefined) {
        db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(opts.maxDbBytes / pageSize))}`);
      }
      db.exec("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
      db.exec("BEGIN");
      const single = db.prepare(INSERT_SQL);
      // Many rows per statement: one call into the engine per BATCH_ROWS rows instead of per row.
      const batch = db.prepare(INSERT_SQL + ", (?, ?)".repeat(BATCH_ROWS - 1));
      const params: Uint8Array[] = new Array(BATCH_ROWS * 2);
      let pending = 0;
      const signal = opts.signal;
      const progress = opts.onProgress;
      const duplicates = feed((k, v) => {
        params[2 * pending] = k;
        params[2 * pending + 1] = v;
        if (++pending === BATCH_ROWS) {
          batch.run(...params);
          pending = 0;
        }
        if ((++rows & 0xffff) === 0) {
          signal?.throwIfAborted();
          progress?.({ stage: "insert", rows });
        }
      });
      for (let i = 0; i < pending; i++) single.run(params[2 * i]!, params[2 * i + 1]!);
      single.close();
      batch.close();
      db.exec("COMMIT");
      // The b-tree's ends: cheaper than copying every key as it streams past. One subquery per
      // end: SQLite's min/max shortcut (one b-tree descent) only applies to a lone aggregate;
      // `SELECT min(k), max(k)` scans the whole table.
      const ends = queryOne(db, "SELECT (SELECT min(k) FROM kv) AS lo, (SELECT max(k) FROM kv) AS hi");
      const minKey = ends?.lo instanceof Uint8Array ? ends.lo.slice() : undefined;
      const maxKey = ends?.hi instanceof Uint8Array ? ends.hi.slice() : undefined;
      db.exec("PRAGMA optimize");
      db.close();
      db = undefined;
      return { rows, duplicates, minKey, maxKey, journalMode };
    } catch (err) {
      try {
        db?.close();
      } catch {
        // The original error is the one worth reporting.
      }
      throw asDiskError(err, dbPath);
    }
  }

  /** The reference's "auto" page size, computed before inserting so no VACUUM is needed. */
  #autoPageSizeInMemory(order: Uint32Array): number {
    const lengths: number[] = [];
    let maxKey = 0;
    forEachLatest(this.#buffer, order, (k, v) => {
      lengths.push(v.length);
      if (k.length > maxKey) maxKey = k.length;
    });
    if (lengths.length === 0) return 4096;
    const sorted = Uint32Array.from(lengths).sort();
    return recommendPageSize(sorted[p95Index(sorted.length)]!, maxKey);
  }

  /** Streams shard.db to the store, hashing as it goes; returns the checksum. */
  async #upload(dbPath: string, key: string, size: number): Promise<string> {
    const fs = this.#fs;
    const checksum = await createChecksum();
    const fd = fs.openSync(dbPath, "r");
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let pos = 0; pos < size; pos += UPLOAD_CHUNK) {
        const chunk = new Uint8Array(Math.min(UPLOAD_CHUNK, size - pos));
        const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
        if (n !== chunk.length) throw new Error(`short read of ${dbPath} at ${pos}`);
        checksum.update(chunk);
        yield chunk;
      }
    }
    try {
      await this.#opts.store.putStream(key, chunks(), {
        contentType: "application/x-sqlite3",
        signal: this.#opts.signal,
      });
    } finally {
      fs.closeSync(fd);
    }
    return checksum.digest();
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
    this.#buffer.reset();
    for (const path of [...this.#runs, this.dbPath]) {
      try {
        this.#fs.rmSync(path, { force: true });
      } catch {
        // Local scratch; nothing points at it.
      }
    }
    await this.#deleteRemote();
  }
}

/** Runs the reference's post-build "auto" check (p95 by SQL) and VACUUMs into the target size. */
function repageToAuto(driver: SqliteDriver, dbPath: string): number {
  const db = driver.open(dbPath);
  try {
    const current = Number(queryOne(db, "PRAGMA page_size")?.page_size);
    const n = Number(queryOne(db, "SELECT count(*) AS n FROM kv")?.n ?? 0);
    if (n === 0) return current;
    const p95Sql = "SELECT length(v) AS n FROM kv ORDER BY length(v) LIMIT 1 OFFSET ?";
    const p95 = Number(queryOne(db, p95Sql, p95Index(n))?.n ?? 0);
    const maxKey = Number(queryOne(db, "SELECT max(length(k)) AS n FROM kv")?.n ?? 0);
    const target = recommendPageSize(p95, maxKey);
    if (target !== current) {
      db.exec(`PRAGMA page_size = ${target}`);
      db.exec("VACUUM");
    }
    return target;
  } finally {
    db.close();
  }
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
