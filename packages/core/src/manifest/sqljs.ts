/**
 * sql.js (SQLite compiled to WASM) for manifests: the same code builds and reads manifests in Bun,
 * Deno, Node and edge workers. Loading is injectable, because edge runtimes cannot read the
 * `.wasm` file from disk: pass its bytes, or a whole initialiser of your own.
 */

export type SqlBindValue = number | string | Uint8Array | bigint | null;
export type SqlCell = number | bigint | string | Uint8Array | null;

/** The slice of the sql.js `Statement` API shardy uses. */
export interface SqlJsStatement {
  bind(values?: SqlBindValue[]): boolean;
  step(): boolean;
  get(params?: null, config?: { useBigInt?: boolean }): SqlCell[];
  getColumnNames(): string[];
  run(values?: SqlBindValue[]): void;
  free(): boolean;
}

/** The slice of the sql.js `Database` API shardy uses. */
export interface SqlJsDatabase {
  run(sql: string, params?: SqlBindValue[]): unknown;
  prepare(sql: string): SqlJsStatement;
  export(): Uint8Array;
  close(): void;
}

/** What `initSqlJs()` resolves to. */
export interface SqlJsModule {
  Database: new (data?: Uint8Array | null) => SqlJsDatabase;
}

export type SqlJsInitializer = () => Promise<SqlJsModule>;

/** How to get sql.js: nothing (load the npm package), the wasm bytes, or a custom initialiser. */
export interface SqlJsSource {
  /** Full control, e.g. an edge bundle that instantiates the module itself. */
  init?: SqlJsInitializer;
  /** The `sql-wasm.wasm` bytes, for runtimes without a file system. */
  wasmBinary?: Uint8Array | ArrayBuffer;
}

let defaultSource: SqlJsSource = {};
let defaultModule: Promise<SqlJsModule> | undefined;

/** Sets the process-wide default used when a call passes no `sqlJs` option. */
export function configureSqlJs(source: SqlJsSource): void {
  defaultSource = source;
  defaultModule = undefined;
}

/** Resolves sql.js from `source`, or from the configured default (loaded once, then shared). */
export function loadSqlJs(source?: SqlJsSource): Promise<SqlJsModule> {
  if (source) return instantiate(source);
  defaultModule ??= instantiate(defaultSource).catch((err: unknown) => {
    defaultModule = undefined; // let a later call retry, e.g. after configureSqlJs()
    throw err;
  });
  return defaultModule;
}

async function instantiate(source: SqlJsSource): Promise<SqlJsModule> {
  if (source.init) return source.init();
  // Lazy: edge bundles that inject `init` never pull the npm package in.
  const mod = await import("sql.js");
  const initSqlJs = mod.default as unknown as (config?: { wasmBinary?: ArrayBuffer }) => Promise<SqlJsModule>;
  if (!source.wasmBinary) return initSqlJs();
  const bytes = source.wasmBinary;
  const wasmBinary =
    bytes instanceof Uint8Array
      ? (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
      : bytes;
  return initSqlJs({ wasmBinary });
}
