/** `node:sqlite`: the built-in SQLite of Deno and of Node >= 22.5 (file-backed, mmap-capable). */
import type {
  OpenOptions,
  SqliteConnection,
  SqliteDriver,
  SqliteRow,
  SqliteStatement,
  SqliteValue,
} from "./types.ts";

interface NodeStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface NodeDatabase {
  exec(sql: string): void;
  prepare(sql: string): NodeStatement;
  close(): void;
}
interface NodeSqliteModule {
  DatabaseSync: new (path: string, options?: { readOnly?: boolean }) => NodeDatabase;
}

class NodeStatementAdapter implements SqliteStatement {
  constructor(private readonly stmt: NodeStatement) {}
  run(...params: SqliteValue[]): void {
    this.stmt.run(...params);
  }
  get(...params: SqliteValue[]): SqliteRow | undefined {
    return (this.stmt.get(...params) as SqliteRow | undefined) ?? undefined;
  }
  all(...params: SqliteValue[]): SqliteRow[] {
    return this.stmt.all(...params) as SqliteRow[];
  }
  close(): void {
    // node:sqlite finalizes statements when they are garbage collected; nothing to do.
  }
}

class NodeConnection implements SqliteConnection {
  constructor(private readonly db: NodeDatabase) {}
  exec(sql: string): void {
    this.db.exec(sql);
  }
  prepare(sql: string): SqliteStatement {
    return new NodeStatementAdapter(this.db.prepare(sql));
  }
  close(): void {
    this.db.close();
  }
}

/** Throws (import failure) where the runtime has no `node:sqlite`. */
export async function createNodeDriver(): Promise<SqliteDriver> {
  const specifier = "node:sqlite";
  const mod = (await import(specifier)) as NodeSqliteModule;
  return {
    name: "node",
    inPlace: true,
    open(path: string, options?: OpenOptions): SqliteConnection {
      if (options?.immutable) {
        // No `immutable=1` URI here: Deno resolves the filename as a path for its permission check.
        // Holding the shared lock for good (exclusive locking mode) spares every query the same
        // lock and change check.
        const db = new mod.DatabaseSync(path, { readOnly: true });
        db.exec("PRAGMA locking_mode = EXCLUSIVE");
        return new NodeConnection(db);
      }
      return new NodeConnection(new mod.DatabaseSync(path, { readOnly: options?.readonly ?? false }));
    },
  };
}
