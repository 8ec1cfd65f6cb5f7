/** `bun:sqlite`: Bun's built-in SQLite (file-backed, mmap-capable). Loaded only under Bun. */
import type {
  OpenOptions,
  SqliteConnection,
  SqliteDriver,
  SqliteRow,
  SqliteStatement,
  SqliteValue,
} from "./types.ts";

type BunSqlite = typeof import("bun:sqlite");
type BunDatabase = InstanceType<BunSqlite["Database"]>;
type BunStatement = ReturnType<BunDatabase["prepare"]>;

class BunStatementAdapter implements SqliteStatement {
  constructor(private readonly stmt: BunStatement) {}
  run(...params: SqliteValue[]): void {
    this.stmt.run(...(params as never[]));
  }
  get(...params: SqliteValue[]): SqliteRow | undefined {
    return (this.stmt.get(...(params as never[])) as SqliteRow | null) ?? undefined;
  }
  all(...params: SqliteValue[]): SqliteRow[] {
    return this.stmt.all(...(params as never[])) as SqliteRow[];
  }
  close(): void {
    this.stmt.finalize();
  }
}

class BunConnection implements SqliteConnection {
  constructor(private readonly db: BunDatabase) {}
  exec(sql: string): void {
    this.db.exec(sql);
  }
  prepare(sql: string): SqliteStatement {
    return new BunStatementAdapter(this.db.prepare(sql));
  }
  close(): void {
    this.db.close();
  }
}

/**
 * `file:<path>?immutable=1` for SQLite's URI filenames: characters the URI syntax reserves are
 * percent-encoded, so any local path names the same file.
 */
function immutableUri(path: string): string {
  return `file:${path.replace(/[%?#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}?immutable=1`;
}

export async function createBunDriver(): Promise<SqliteDriver> {
  // A variable specifier keeps other runtimes' module graphs from trying to resolve `bun:`.
  const specifier = "bun:sqlite";
  const mod = (await import(specifier)) as BunSqlite;
  return {
    name: "bun",
    inPlace: true,
    open(path: string, options?: OpenOptions): SqliteConnection {
      // bun:sqlite reads URI filenames only when given the raw open flags.
      const db = options?.immutable
        ? new mod.Database(
            immutableUri(path),
            mod.constants.SQLITE_OPEN_READONLY | mod.constants.SQLITE_OPEN_URI,
          )
        : options?.readonly
          ? new mod.Database(path, { readonly: true })
          : new mod.Database(path, { create: true, readwrite: true });
      return new BunConnection(db);
    },
  };
}
