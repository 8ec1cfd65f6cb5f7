/**
 * `sql.js`: SQLite compiled to wasm, for runtimes without a native SQLite (Node 20, edge workers,
 * browsers). The database lives in wasm memory: files are read in whole on open and written back
 * on close, so a filesystem is needed only for `open(path)`; `openBytes` needs none.
 */
import initSqlJs from "sql.js";
import { localFs } from "../util/local-fs.ts";
import type {
  OpenOptions,
  SqliteConnection,
  SqliteDriver,
  SqliteRow,
  SqliteStatement,
  SqliteValue,
} from "./types.ts";

export type SqlJsStatic = Awaited<ReturnType<typeof initSqlJs>>;
type SqlJsDatabase = InstanceType<SqlJsStatic["Database"]>;
type SqlJsStatementRaw = ReturnType<SqlJsDatabase["prepare"]>;
type BindParams = Parameters<SqlJsStatementRaw["bind"]>[0];

export interface SqlJsOptions {
  /** The `sql-wasm.wasm` bytes, for hosts where sql.js cannot find its file (edge, browser). */
  wasmBinary?: ArrayBuffer | Uint8Array;
}

let defaultModule: Promise<SqlJsStatic> | undefined;

/** Loads sql.js once per process (per `wasmBinary` when one is given). */
export function loadSqlJs(options?: SqlJsOptions): Promise<SqlJsStatic> {
  if (options?.wasmBinary) {
    return initSqlJs({ wasmBinary: options.wasmBinary as ArrayBuffer });
  }
  defaultModule ??= initSqlJs();
  return defaultModule;
}

class SqlJsStatementAdapter implements SqliteStatement {
  constructor(private readonly stmt: SqlJsStatementRaw) {}
  run(...params: SqliteValue[]): void {
    this.stmt.run(params as BindParams);
  }
  get(...params: SqliteValue[]): SqliteRow | undefined {
    try {
      this.stmt.bind(params as BindParams);
      return this.stmt.step() ? (this.stmt.getAsObject() as SqliteRow) : undefined;
    } finally {
      this.stmt.reset();
    }
  }
  all(...params: SqliteValue[]): SqliteRow[] {
    const rows: SqliteRow[] = [];
    try {
      this.stmt.bind(params as BindParams);
      while (this.stmt.step()) rows.push(this.stmt.getAsObject() as SqliteRow);
      return rows;
    } finally {
      this.stmt.reset();
    }
  }
  close(): void {
    this.stmt.free();
  }
}

/** A sql.js database behind the common connection interface; `onClose` may persist it. */
export class SqlJsConnection implements SqliteConnection {
  constructor(
    readonly db: SqlJsDatabase,
    private readonly onClose?: (db: SqlJsDatabase) => void,
  ) {}
  exec(sql: string): void {
    this.db.exec(sql);
  }
  prepare(sql: string): SqliteStatement {
    return new SqlJsStatementAdapter(this.db.prepare(sql));
  }
  close(): void {
    try {
      this.onClose?.(this.db);
    } finally {
      this.db.close();
    }
  }
}

export interface SqlJsDriver extends SqliteDriver {
  readonly sql: SqlJsStatic;
  /** An in-memory database initialised from `bytes` (no filesystem needed). */
  openBytes(bytes: Uint8Array): SqlJsConnection;
}

export async function createSqlJsDriver(options?: SqlJsOptions): Promise<SqlJsDriver> {
  const sql = await loadSqlJs(options);
  return {
    name: "sqljs",
    inPlace: false,
    sql,
    openBytes: (bytes) => new SqlJsConnection(new sql.Database(bytes)),
    open(path: string, openOptions?: OpenOptions): SqliteConnection {
      // node:fs is required only here, so edge bundles that use openBytes never touch it.
      const fs = localFs();
      if (openOptions?.readonly || openOptions?.immutable) {
        // The copy lives in wasm memory; query_only makes it refuse writes like a read-only file.
        const db = new sql.Database(fs.readFileSync(path));
        db.exec("PRAGMA query_only = 1");
        return new SqlJsConnection(db);
      }
      const existing = fs.existsSync(path) ? fs.readFileSync(path) : null;
      return new SqlJsConnection(new sql.Database(existing), (db) => fs.writeFileSync(path, db.export()));
    },
  };
}
