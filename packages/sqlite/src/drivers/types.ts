/**
 * The one interface every SQLite engine sits behind (drizzle style: one file per driver, same
 * shape). Synchronous on purpose: all three engines are synchronous, and the writer's insert loop
 * must not pay a promise per row.
 */

export type DriverName = "bun" | "node" | "sqljs";

/** Values we bind: blobs for keys and values, numbers/strings for pragmas and stats. */
export type SqliteValue = Uint8Array | string | number | bigint | null;

export type SqliteRow = Record<string, unknown>;

export interface SqliteStatement {
  /** Executes with `params`, discarding rows. */
  run(...params: SqliteValue[]): void;
  /** First row, or `undefined`. */
  get(...params: SqliteValue[]): SqliteRow | undefined;
  all(...params: SqliteValue[]): SqliteRow[];
  /** Finalizes the statement; it cannot be used again. */
  close(): void;
}

export interface SqliteConnection {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

export interface OpenOptions {
  /** Open an existing file read-only (default false: read-write, created if missing). */
  readonly?: boolean;
  /**
   * The file never changes while it is open (a verified cache copy): read-only, and SQLite skips
   * the file locking and change check it otherwise pays on every query (`immutable=1`, or a shared
   * lock held for good where URIs cannot be passed). Engines without a file (sql.js) treat it as
   * `readonly`.
   */
  immutable?: boolean;
}

export interface SqliteDriver {
  readonly name: DriverName;
  /** Native engines read the file in place (and can mmap it); sql.js copies it into wasm memory. */
  readonly inPlace: boolean;
  /** Opens a database file on the local filesystem. */
  open(path: string, options?: OpenOptions): SqliteConnection;
}

/** Prepares, runs and finalizes a one-row query (statements left open keep files locked). */
export function queryOne(db: SqliteConnection, sql: string, ...params: SqliteValue[]): SqliteRow | undefined {
  const stmt = db.prepare(sql);
  try {
    return stmt.get(...params);
  } finally {
    stmt.close();
  }
}
