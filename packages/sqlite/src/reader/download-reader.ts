/**
 * Download reader: one verified local copy of shard.db (see download-cache.ts), opened read-only
 * with mmap, answering `SELECT v FROM kv WHERE k = ?` locally.
 */
import { DbAdapterError, ReaderStateError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import type { ShardReader } from "../contract.ts";
import { loadDriver } from "../drivers/select.ts";
import type { SqliteConnection, SqliteDriver, SqliteStatement } from "../drivers/types.ts";
import { type LocalFs, localFs } from "../util/local-fs.ts";
import { ensureCachedShard } from "./download-cache.ts";

export const DEFAULT_MMAP_SIZE = 256 * 1024 * 1024;
export const LOOKUP_SQL = "SELECT v FROM kv WHERE k = ?";

export interface DownloadReaderOptions {
  store: ObjectStore;
  dbUrl: string;
  dbId: number;
  checkpointId?: string | null;
  localRoot: string;
  expectedChecksum?: string;
  expectedBytes?: number;
  driver?: SqliteDriver;
  /** `PRAGMA mmap_size` (bytes); default 256 MiB. */
  mmapSize?: number;
  /** `PRAGMA cache_size`; default -8000 (8 MB). */
  cacheSize?: number;
  fs?: LocalFs;
  signal?: AbortSignal;
}

export class SqliteDownloadReader implements ShardReader {
  #db: SqliteConnection | undefined;
  #lookup: SqliteStatement;

  private constructor(
    readonly dbUrl: string,
    readonly path: string,
    readonly downloaded: boolean,
    db: SqliteConnection,
  ) {
    this.#db = db;
    this.#lookup = db.prepare(LOOKUP_SQL);
  }

  static async open(options: DownloadReaderOptions): Promise<SqliteDownloadReader> {
    const fs = options.fs ?? localFs();
    const cached = await ensureCachedShard({ ...options, fs });
    const driver = options.driver ?? (await loadDriver());
    let db: SqliteConnection | undefined;
    try {
      // The cached copy is verified and never rewritten in place, so SQLite may skip the per-query
      // lock and change check (most of a warm get's cost otherwise).
      db = driver.open(cached.path, { immutable: true });
      db.exec(`PRAGMA mmap_size = ${Math.trunc(options.mmapSize ?? DEFAULT_MMAP_SIZE)}`);
      db.exec(`PRAGMA cache_size = ${Math.trunc(options.cacheSize ?? -8000)}`);
      return new SqliteDownloadReader(options.dbUrl, cached.path, cached.downloaded, db);
    } catch (err) {
      db?.close();
      throw new DbAdapterError(
        `cannot open the cached copy of ${options.dbUrl} at ${cached.path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.getNow(key);
  }

  async multiGet(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return keys.map((k) => this.getNow(k));
  }

  async close(): Promise<void> {
    if (!this.#db) return;
    this.#lookup.close();
    this.#db.close();
    this.#db = undefined;
  }

  /** `get` without a promise: the copy is local, so the lookup is synchronous. */
  getNow(key: Uint8Array): Uint8Array | undefined {
    if (!this.#db) throw new ReaderStateError(`shard reader for ${this.dbUrl} is closed`);
    try {
      const row = this.#lookup.get(key);
      return row ? toBytes(row.v) : undefined;
    } catch (err) {
      throw new DbAdapterError(`lookup in ${this.dbUrl} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Engines return blobs as Uint8Array (or a Buffer subclass); copy out of engine-owned memory. */
export function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v.constructor === Uint8Array ? v : new Uint8Array(v);
  if (typeof v === "string") return new TextEncoder().encode(v);
  throw new DbAdapterError(`kv.v holds a ${typeof v}, expected a blob`);
}
