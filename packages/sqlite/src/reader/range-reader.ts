/**
 * Range reader: answers lookups from a remote shard.db with HTTP range requests, running real
 * SQLite (sql.js, so it works in edge workers and browsers) over a read-only virtual file backed
 * by a page cache. Opening costs a HEAD and a GET of the sidecar; the sidecar's interior pages
 * stay pinned, so a cold lookup needs the leaf page (one request) and, for a value that spills,
 * its overflow chain (one more). Without a usable sidecar it falls back to fetching the path
 * page by page.
 */
import { DbAdapterError, ReaderStateError, S3VfsError, ShardyError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import type { ShardReader } from "../contract.ts";
import { createSqlJsDriver, type SqlJsOptions, type SqlJsStatic } from "../drivers/sqljs.ts";
import { parseDbHeader } from "../format/header.ts";
import { type DecodedSidecar, decodeSidecar, SIDECAR_FILENAME } from "../sidecar/format.ts";
import { DB_FILENAME, shardObjectKey } from "../util/urls.ts";
import { LOOKUP_SQL, toBytes } from "./download-reader.ts";
import { type BtreeContext, planLookup } from "./range/descent.ts";
import { PageCache } from "./range/page-cache.ts";
import { type SynthesisPlan, VirtualDbFile } from "./range/virtual-file.ts";

export const DEFAULT_PAGE_CACHE_PAGES = 1024;
/** Bytes fetched at open when there is no sidecar: page 1 whatever the page size. */
const FIRST_FETCH_BYTES = 65536;
/** Keys planned and fetched together by multiGet (keeps the batch well inside the LRU). */
const MULTIGET_BATCH = 128;
const MAX_QUERY_RETRIES = 64;

export interface RangeReaderOptions {
  store: ObjectStore;
  dbUrl: string;
  /** Pages kept besides the pinned ones; default 1024. */
  pageCachePages?: number;
  /** Use shard.sidecar when present and bound to the current shard.db (default true). */
  useSidecar?: boolean;
  /** sql.js options (e.g. `wasmBinary` in an edge worker). */
  sqljs?: SqlJsOptions;
  signal?: AbortSignal;
}

export interface RangeReaderStats {
  /** Range GETs of shard.db since open (or the last reset), excluding the open itself. */
  rangeRequests: number;
  bytesFetched: number;
  /** Queries SQLite had to re-run because a page was not planned. */
  retries: number;
}

export interface RangeReaderOpenInfo {
  size: number;
  etag: string;
  pageSize: number;
  /** Why the sidecar was not used, or "used". */
  sidecar: string;
  pinnedPages: number;
  /** Requests made by open (HEAD, sidecar GET, first pages). */
  openRequests: number;
}

type SqlDatabase = InstanceType<SqlJsStatic["Database"]>;

export class SqliteRangeReader implements ShardReader {
  readonly #store: ObjectStore;
  readonly #key: string;
  readonly #sql: SqlJsStatic;
  readonly #cache: PageCache;
  readonly #file: VirtualDbFile;
  readonly #ctx: BtreeContext;
  readonly #nextOverflow: Map<number, number> | undefined;
  readonly #signal: AbortSignal | undefined;
  #db: SqlDatabase | undefined;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();
  #stats: RangeReaderStats = { rangeRequests: 0, bytesFetched: 0, retries: 0 };

  private constructor(
    readonly dbUrl: string,
    readonly info: RangeReaderOpenInfo,
    init: {
      store: ObjectStore;
      key: string;
      sql: SqlJsStatic;
      cache: PageCache;
      usableSize: number;
      chains?: Map<number, number[]>;
      signal?: AbortSignal;
    },
  ) {
    this.#store = init.store;
    this.#key = init.key;
    this.#sql = init.sql;
    this.#cache = init.cache;
    this.#signal = init.signal;
    this.#file = new VirtualDbFile(info.size, info.pageSize, init.cache);
    this.#ctx = { root: 0, usableSize: init.usableSize, cache: init.cache, chains: init.chains };
    if (init.chains) {
      this.#nextOverflow = new Map();
      for (const chain of init.chains.values()) {
        for (let i = 0; i < chain.length; i++) this.#nextOverflow.set(chain[i]!, chain[i + 1] ?? 0);
      }
    }
  }

  static async open(options: RangeReaderOptions): Promise<SqliteRangeReader> {
    const { store, dbUrl, signal } = options;
    const key = shardObjectKey(store, dbUrl, DB_FILENAME);
    const sqlPromise = createSqlJsDriver(options.sqljs).then((d) => d.sql);
    const head = await store.head(key, { signal });
    if (!head) throw new DbAdapterError(`shard object ${key} does not exist in ${store.baseUrl}`);
    let openRequests = 1;
    const cache = new PageCache(options.pageCachePages ?? DEFAULT_PAGE_CACHE_PAGES);

    let sidecar: DecodedSidecar | undefined;
    let sidecarState = "disabled";
    if (options.useSidecar ?? true) {
      openRequests++;
      const got = await store.get(shardObjectKey(store, dbUrl, SIDECAR_FILENAME), { signal });
      if (!got) sidecarState = "absent";
      else {
        try {
          const decoded = decodeSidecar(got.body);
          if (decoded.dbTag === "") sidecarState = "unbound (no ETag): not trusted";
          else if (decoded.dbTag !== head.etag) {
            sidecarState = `stale: bound to ${decoded.dbTag}, shard.db is ${head.etag}`;
          } else if (!decoded.pages.has(1)) sidecarState = "holds no page 1";
          else {
            sidecar = decoded;
            sidecarState = "used";
          }
        } catch (err) {
          sidecarState = (err as Error).message;
        }
      }
    }

    let pageSize: number;
    let usableSize: number;
    if (sidecar) {
      const header = parseDbHeader(sidecar.pages.get(1)!, key);
      if (header.pageSize !== sidecar.pageSize) {
        throw new S3VfsError(
          `${key}: sidecar page size ${sidecar.pageSize} disagrees with its page 1 (${header.pageSize})`,
        );
      }
      pageSize = header.pageSize;
      usableSize = pageSize - header.reservedBytes;
      for (const [pgno, page] of sidecar.pages) cache.pin(pgno, page);
    } else {
      openRequests++;
      const first = await store.getRange(
        key,
        { start: 0, end: Math.min(head.size, FIRST_FETCH_BYTES) },
        { signal },
      );
      const header = parseDbHeader(first, key);
      pageSize = header.pageSize;
      usableSize = pageSize - header.reservedBytes;
      for (let i = 0; (i + 1) * pageSize <= first.length; i++) {
        const page = first.slice(i * pageSize, (i + 1) * pageSize);
        if (i === 0) cache.pin(1, page);
        else cache.put(i + 1, page);
      }
    }
    if (head.size % pageSize !== 0) {
      throw new DbAdapterError(
        `${key} is ${head.size} bytes, not a whole number of ${pageSize}-byte pages (truncated?)`,
      );
    }
    const reader = new SqliteRangeReader(
      dbUrl,
      {
        size: head.size,
        etag: head.etag,
        pageSize,
        sidecar: sidecarState,
        pinnedPages: cache.pinnedCount,
        openRequests,
      },
      { store, key, sql: await sqlPromise, cache, usableSize, chains: sidecar?.chains, signal },
    );
    try {
      await reader.#init();
    } catch (err) {
      reader.#db?.close();
      throw err;
    }
    reader.info.openRequests += reader.#stats.rangeRequests;
    reader.resetStats();
    return reader;
  }

  stats(): RangeReaderStats {
    return { ...this.#stats };
  }

  resetStats(): void {
    this.#stats = { rangeRequests: 0, bytesFetched: 0, retries: 0 };
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.multiGet([key]))[0];
  }

  multiGet(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    // One batch at a time: batches share the connection and the page cache.
    const run = this.#queue.then(() => this.#multiGet(keys));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    this.#db?.close();
    this.#db = undefined;
  }

  async #init(): Promise<void> {
    const fetched: number[] = [];
    const rows = await this.#query(
      "SELECT rootpage AS r FROM sqlite_schema WHERE type = 'table' AND name = 'kv'",
      [],
      undefined,
      fetched,
    );
    const root = Number(rows[0]?.r ?? 0);
    if (!(root > 0)) throw new DbAdapterError(`${this.#key} has no kv table: not a shardy SQLite shard`);
    this.#ctx.root = root;
    // Pages read while SQLite loads the schema (sqlite_stat1 after PRAGMA optimize) are read
    // again by every new connection: keep them.
    for (const p of fetched) {
      const page = this.#cache.get(p);
      if (page) this.#cache.pin(p, page);
    }
  }

  async #multiGet(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    if (this.#closed) throw new ReaderStateError(`shard reader for ${this.dbUrl} is closed`);
    const out: Array<Uint8Array | undefined> = [];
    // Keep a batch's pages (leaf + chain per key) well inside the LRU, or they evict each other.
    const batchSize = Math.max(1, Math.min(MULTIGET_BATCH, Math.floor(this.#cache.capacity / 8)));
    for (let i = 0; i < keys.length; i += batchSize) {
      const batch = keys.slice(i, i + batchSize);
      await this.#prefetchFor(batch);
      for (const key of batch) {
        const plan = planLookup(this.#ctx, key);
        const synthesis =
          plan.status === "ready" && plan.synthesisSafe && this.#nextOverflow
            ? { next: this.#nextOverflow, real: new Set(plan.realPages) }
            : undefined;
        const rows = await this.#query(LOOKUP_SQL, [key], synthesis);
        out.push(rows[0] ? toBytes(rows[0].v) : undefined);
      }
    }
    return out;
  }

  /** Fetches, level by level and all keys together, the pages the lookups will read. */
  async #prefetchFor(keys: readonly Uint8Array[]): Promise<void> {
    let pending = [...keys];
    for (let round = 0; round < 64 && pending.length > 0; round++) {
      const missing = new Set<number>();
      const next: Uint8Array[] = [];
      for (const key of pending) {
        const plan = planLookup(this.#ctx, key);
        if (plan.status === "missing") {
          for (const p of plan.pages) missing.add(p);
          next.push(key);
        }
      }
      if (missing.size === 0) return;
      await this.#fetchPages([...missing]);
      pending = next;
    }
  }

  /**
   * Runs a query; if SQLite read a page we did not have, fetches it and runs the query again on
   * a fresh connection. `synthesis` lets compare-only overflow pages be synthesized.
   */
  async #query(
    sql: string,
    params: Uint8Array[],
    synthesis?: SynthesisPlan,
    fetched?: number[],
  ): Promise<Array<Record<string, unknown>>> {
    let plan = synthesis;
    for (let attempt = 0; attempt <= MAX_QUERY_RETRIES; attempt++) {
      // SQLite may still cache synthetic pages from earlier queries: a query that needs real
      // bytes of one of them (or runs without synthesis) starts from a fresh connection.
      const file = this.#file;
      if (file.synthesized.size > 0 && (!plan || [...plan.real].some((p) => file.synthesized.has(p)))) {
        this.#dropConnection();
      }
      file.misses.clear();
      file.synthesis = plan;
      this.#db ??= this.#openDb();
      let rows: Array<Record<string, unknown>> = [];
      let failure: unknown;
      try {
        const stmt = this.#db.prepare(sql);
        try {
          stmt.bind(params);
          while (stmt.step()) rows.push(stmt.getAsObject());
        } finally {
          stmt.free();
        }
      } catch (err) {
        failure = err;
        rows = [];
      } finally {
        file.synthesis = undefined;
      }
      if (file.misses.size === 0) {
        if (failure) {
          throw new DbAdapterError(`query on ${this.dbUrl} failed: ${(failure as Error).message}`, {
            cause: failure,
          });
        }
        return rows;
      }
      // SQLite saw zero-filled pages: drop the connection (and its page cache), fetch, retry
      // without synthesis (the plan missed something).
      const missed = [...file.misses];
      this.#dropConnection();
      this.#stats.retries++;
      plan = undefined;
      await this.#fetchPages(missed);
      fetched?.push(...missed);
    }
    throw new S3VfsError(`query on ${this.dbUrl} still misses pages after ${MAX_QUERY_RETRIES} fetches`);
  }

  #dropConnection(): void {
    this.#db?.close();
    this.#db = undefined;
    this.#file.synthesized.clear();
  }

  #openDb(): SqlDatabase {
    // `new Database(file)`: MEMFS adopts the virtual file (see virtual-file.ts).
    const db = new this.#sql.Database(this.#file as unknown as Uint8Array);
    db.exec("PRAGMA query_only = 1");
    return db;
  }

  /** Fetches pages with one range request per run of consecutive pages, all in parallel. */
  async #fetchPages(pgnos: number[]): Promise<void> {
    const pageSize = this.info.pageSize;
    const pageCount = this.info.size / pageSize;
    const wanted = [...new Set(pgnos)]
      .filter((p) => p >= 1 && p <= pageCount && !this.#cache.has(p))
      .sort((a, b) => a - b);
    const runs: Array<[number, number]> = [];
    for (const p of wanted) {
      const last = runs[runs.length - 1];
      if (last && last[1] === p - 1) last[1] = p;
      else runs.push([p, p]);
    }
    try {
      await Promise.all(
        runs.map(async ([first, lastPage]) => {
          this.#stats.rangeRequests++;
          const bytes = await this.#store.getRange(
            this.#key,
            { start: (first - 1) * pageSize, end: lastPage * pageSize },
            { signal: this.#signal },
          );
          this.#stats.bytesFetched += bytes.length;
          for (let p = first; p <= lastPage; p++) {
            const off = (p - first) * pageSize;
            const page = new Uint8Array(pageSize); // short reads stay zero-padded
            page.set(bytes.subarray(off, Math.min(off + pageSize, bytes.length)));
            this.#cache.put(p, page);
          }
        }),
      );
    } catch (err) {
      if (err instanceof ShardyError) throw err;
      throw new DbAdapterError(`range read of ${this.#key} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
