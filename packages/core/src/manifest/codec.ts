/**
 * The manifest object (reference format §3.1): a serialized SQLite database with the exact DDL of
 * the reference's `build_meta` and `shards` tables. Built and read with sql.js, so it runs wherever
 * WebAssembly does.
 */
import { ManifestBuildError, ManifestParseError } from "@shardy/errors";
import {
  describeJson,
  PyFloat,
  type PyJsonValue,
  pyJsonDumps,
  pyJsonDumpsSorted,
} from "../json/python-json.ts";
import { pyJsonLoads } from "../json/python-json-parse.ts";
import { formatPydanticDatetime, parseIsoDatetime } from "../time/index.ts";
import {
  BytesExtensionWriter,
  readBytesExtension,
  SHARDY_BYTES_CUSTOM_KEY,
  taggedBytes,
} from "./bytes-extension.ts";
import { loadSqlJs, type SqlBindValue, type SqlCell, type SqlJsDatabase, type SqlJsSource } from "./sqljs.ts";
import type {
  BuildMeta,
  KeyEncoding,
  Manifest,
  ManifestKey,
  RoutingValue,
  ShardingSpec,
  ShardMeta,
  WriterInfo,
} from "./types.ts";
import { type Fail, validateManifest } from "./validate.ts";

/** `manifest.py::_SQLITE_BUILD_META_DDL`, byte for byte (it ends up in `sqlite_master.sql`). */
export const BUILD_META_DDL = `CREATE TABLE build_meta (
    run_id           TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    num_dbs          INTEGER NOT NULL,
    s3_prefix        TEXT    NOT NULL,
    key_col          TEXT    NOT NULL,
    sharding         TEXT    NOT NULL,
    db_path_template TEXT    NOT NULL,
    shard_prefix     TEXT    NOT NULL,
    format_version   INTEGER NOT NULL,
    key_encoding     TEXT    NOT NULL,
    custom           TEXT    NOT NULL DEFAULT '{}'
)`;

/** `manifest.py::_SQLITE_SHARDS_DDL`, byte for byte. */
export const SHARDS_DDL = `CREATE TABLE shards (
    db_id         INTEGER NOT NULL PRIMARY KEY,
    db_url        TEXT,
    attempt       INTEGER NOT NULL,
    row_count     INTEGER NOT NULL,
    db_bytes      INTEGER NOT NULL,
    min_key       TEXT,
    max_key       TEXT,
    checkpoint_id TEXT,
    writer_info   TEXT    NOT NULL DEFAULT '{}'
)`;

/** First 16 bytes of every SQLite database file. */
export const SQLITE_MAGIC = new TextEncoder().encode("SQLite format 3\0");

export const DEFAULT_MANIFEST_PAGE_SIZE = 4096;

export interface ManifestCodecOptions {
  /** How to load sql.js (default: the npm package, loaded once). */
  sqlJs?: SqlJsSource;
}

export interface BuildManifestOptions extends ManifestCodecOptions {
  /** SQLite page size of the manifest database; default 4096 like the reference. */
  pageSize?: number;
}

// ---------------------------------------------------------------------------------------------
// Build
// ---------------------------------------------------------------------------------------------

const failBuild: Fail = (message) => {
  throw new ManifestBuildError(`Cannot build manifest: ${message}`);
};

/** `json.dumps(model_dump(mode="json")["sharding"], sort_keys=True)`: always all five keys. */
function shardingJson(sharding: ShardingSpec, bytes: BytesExtensionWriter): string {
  return pyJsonDumpsSorted({
    cel_columns: sharding.celColumns,
    cel_expr: sharding.celExpr,
    hash_algorithm: sharding.hashAlgorithm,
    routing_values: bytes.routingValues(sharding.routingValues),
    strategy: sharding.strategy,
  });
}

function writerInfoJson(w: WriterInfo): string {
  return pyJsonDumpsSorted({
    attempt: w.attempt,
    duration_ms: w.durationMs,
    stage_id: w.stageId,
    task_attempt_id: w.taskAttemptId,
  });
}

function customJson(custom: Record<string, unknown>, extension: PyJsonValue | undefined): string {
  if (SHARDY_BYTES_CUSTOM_KEY in custom) {
    failBuild(`custom.${SHARDY_BYTES_CUSTOM_KEY} is reserved for shardy's bytes encoding; rename that field`);
  }
  const merged = extension === undefined ? custom : { ...custom, [SHARDY_BYTES_CUSTOM_KEY]: extension };
  try {
    return pyJsonDumpsSorted(merged as PyJsonValue);
  } catch (err) {
    return failBuild(`custom fields are not JSON-serializable: ${(err as Error).message}`);
  }
}

function checkPageSize(pageSize: number): void {
  if (
    !Number.isInteger(pageSize) ||
    pageSize < 512 ||
    pageSize > 65536 ||
    (pageSize & (pageSize - 1)) !== 0
  ) {
    failBuild(`pageSize must be a power of two in [512, 65536], got ${describeJson(pageSize)}`);
  }
}

/**
 * Serializes `manifest` to SQLite bytes the reference reader accepts. Validates first with the
 * reader's rules: an invalid manifest is a `ManifestBuildError`, never an unreadable upload.
 */
export async function buildManifestBytes(
  manifest: Manifest,
  options: BuildManifestOptions = {},
): Promise<Uint8Array> {
  validateManifest(manifest, failBuild);
  const pageSize = options.pageSize ?? DEFAULT_MANIFEST_PAGE_SIZE;
  checkPageSize(pageSize);
  const b = manifest.build;
  const bytes = new BytesExtensionWriter();
  const sharding = shardingJson(b.sharding, bytes);
  const shardRows: SqlBindValue[][] = [...manifest.shards]
    .sort((x, y) => x.dbId - y.dbId)
    .map((s) => {
      const min = bytes.keyBound(s.dbId, "min_key", s.minKey);
      const max = bytes.keyBound(s.dbId, "max_key", s.maxKey);
      return [
        BigInt(s.dbId),
        s.dbUrl,
        BigInt(s.attempt),
        BigInt(s.rowCount),
        BigInt(s.dbBytes),
        min === undefined ? null : pyJsonDumps(min),
        max === undefined ? null : pyJsonDumps(max),
        s.checkpointId,
        writerInfoJson(s.writerInfo),
      ];
    });
  const custom = customJson(manifest.custom, bytes.extension());
  let createdAt = "";
  try {
    createdAt = formatPydanticDatetime(b.createdAt);
  } catch (err) {
    failBuild(`build.createdAt cannot be written: ${(err as Error).message}`);
  }

  const SQL = await loadSqlJs(options.sqlJs);
  const db = new SQL.Database();
  try {
    db.run(`PRAGMA page_size = ${pageSize}`);
    db.run(BUILD_META_DDL);
    db.run(SHARDS_DDL);
    db.run("BEGIN");
    db.run(
      "INSERT INTO build_meta (run_id, created_at, num_dbs, s3_prefix, key_col, sharding, db_path_template," +
        " shard_prefix, format_version, key_encoding, custom) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
      [
        b.runId,
        createdAt,
        BigInt(b.numDbs),
        b.s3Prefix,
        b.keyCol,
        sharding,
        b.dbPathTemplate,
        b.shardPrefix,
        BigInt(b.formatVersion),
        b.keyEncoding,
        custom,
      ],
    );
    const insert = db.prepare(
      "INSERT INTO shards (db_id, db_url, attempt, row_count, db_bytes, min_key, max_key, checkpoint_id," +
        " writer_info) VALUES (?,?,?,?,?,?,?,?,?)",
    );
    try {
      for (const row of shardRows) insert.run(row);
    } finally {
      insert.free();
    }
    db.run("COMMIT");
    return db.export();
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Parse
// ---------------------------------------------------------------------------------------------

const fail: Fail = (message) => {
  throw new ManifestParseError(message);
};

type Row = Map<string, SqlCell>;

function readRows(db: SqlJsDatabase, sql: string): Row[] {
  const stmt = db.prepare(sql);
  try {
    const names = stmt.getColumnNames();
    const rows: Row[] = [];
    while (stmt.step()) {
      const cells = stmt.get(null, { useBigInt: true });
      rows.push(new Map(names.map((n, i) => [n, cells[i] ?? null])));
    }
    return rows;
  } finally {
    stmt.free();
  }
}

function column(row: Row, table: string, name: string): SqlCell {
  if (!row.has(name)) fail(`SQLite manifest table ${table} has no column ${name}`);
  return row.get(name) as SqlCell;
}

function text(row: Row, table: string, name: string): string {
  const v = column(row, table, name);
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return decodeUtf8(v, `${table}.${name}`);
  return fail(`${table}.${name} must be text, got ${describeCell(v)}`);
}

function optionalText(row: Row, table: string, name: string): string | null {
  return column(row, table, name) === null ? null : text(row, table, name);
}

function int(row: Row, table: string, name: string): number {
  const v = column(row, table, name);
  if (
    typeof v === "bigint" &&
    v <= BigInt(Number.MAX_SAFE_INTEGER) &&
    v >= -BigInt(Number.MAX_SAFE_INTEGER)
  ) {
    return Number(v);
  }
  return fail(`${table}.${name} must be an integer, got ${describeCell(v)}`);
}

function describeCell(v: SqlCell): string {
  return v === null ? "NULL" : describeJson(v);
}

function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail(`${where} is not valid UTF-8 text`);
  }
}

/**
 * Model columns parse every int as bigint (u64 keys, routing tokens). `custom` is free-form for
 * other consumers: safe ints as numbers, and floats kept as floats so a rebuild writes `1.0` back.
 */
function json(source: string, where: string, freeForm = false): PyJsonValue {
  try {
    return pyJsonLoads(source, freeForm ? { ints: "auto", preserveFloats: true } : { ints: "bigint" });
  } catch (err) {
    return fail(`${where} is not valid JSON: ${(err as Error).message}`);
  }
}

function isObject(v: PyJsonValue): v is { readonly [key: string]: PyJsonValue } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof PyFloat);
}

const SHARDING_FIELDS = new Set(["strategy", "routing_values", "cel_expr", "cel_columns", "hash_algorithm"]);

/** `ManifestShardingSpec` (pydantic, `extra="forbid"`), typed. */
function parseSharding(source: string): ShardingSpec {
  const raw = json(source, "build_meta.sharding");
  if (!isObject(raw)) return fail(`build_meta.sharding must be a JSON object, got ${describeJson(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!SHARDING_FIELDS.has(key)) {
      fail(`build_meta.sharding has unknown field ${JSON.stringify(key)} (extra fields are forbidden)`);
    }
  }
  const strategy = raw.strategy === undefined ? "hash" : raw.strategy;
  if (strategy !== "hash" && strategy !== "cel") {
    fail(`Unsupported sharding strategy: ${describeJson(strategy)}. Allowed: hash, cel`);
  }
  if (raw.hash_algorithm === undefined || raw.hash_algorithm === null) {
    fail('Manifest sharding.hash_algorithm is required (only "xxh3_64" exists)');
  }
  const expr = raw.cel_expr ?? null;
  if (expr !== null && typeof expr !== "string")
    fail(`sharding.cel_expr must be a string, got ${describeJson(expr)}`);
  const cols = raw.cel_columns ?? null;
  if (cols !== null && !isObject(cols))
    fail(`sharding.cel_columns must be an object, got ${describeJson(cols)}`);
  return {
    strategy,
    hashAlgorithm: raw.hash_algorithm as "xxh3_64", // value checked by validateSharding
    celExpr: expr,
    celColumns: cols as Record<string, string> | null,
    routingValues: parseRoutingValues(raw.routing_values ?? null),
  };
}

function parseRoutingValues(raw: PyJsonValue): RoutingValue[] | null {
  if (raw === null) return null;
  if (!Array.isArray(raw))
    return fail(`sharding.routing_values must be a list or null, got ${describeJson(raw)}`);
  return raw.map((v: PyJsonValue, i: number) => {
    if (typeof v === "bigint" || typeof v === "string") return v;
    const bytes = taggedBytes(v);
    if (bytes) return bytes;
    if (v === null) return fail(`Routing values must not contain null values; got [${i}]=null`);
    if (typeof v === "boolean") return fail(`Routing values must not be boolean values; got [${i}]=${v}`);
    return fail(`Routing values must be int, str, or bytes values; got [${i}]=${describeJson(v)}`);
  });
}

function parseKey(source: string | null, where: string): ManifestKey {
  if (source === null) return null;
  const v = json(source, where);
  if (v === null || typeof v === "bigint" || typeof v === "string") return v;
  return fail(`${where} must be an int, a string or null, got ${describeJson(v)}`);
}

function optionalInt(v: PyJsonValue | undefined, where: string): number | null {
  if (v === undefined || v === null) return null;
  if (
    typeof v === "bigint" &&
    v <= BigInt(Number.MAX_SAFE_INTEGER) &&
    v >= -BigInt(Number.MAX_SAFE_INTEGER)
  ) {
    return Number(v);
  }
  return fail(`${where} must be an integer or null, got ${describeJson(v)}`);
}

/** `WriterInfo` dataclass: missing fields take their defaults, unknown ones are ignored. */
function parseWriterInfo(source: string, dbId: number): WriterInfo {
  const where = `shards.writer_info (db_id=${dbId})`;
  const raw = json(source, where);
  if (!isObject(raw)) return fail(`${where} must be a JSON object, got ${describeJson(raw)}`);
  return {
    attempt: optionalInt(raw.attempt, `${where}.attempt`) ?? 0,
    durationMs: optionalInt(raw.duration_ms, `${where}.duration_ms`) ?? 0,
    stageId: optionalInt(raw.stage_id, `${where}.stage_id`),
    taskAttemptId: optionalInt(raw.task_attempt_id, `${where}.task_attempt_id`),
  };
}

function parseBuildMeta(row: Row): { build: BuildMeta; custom: Record<string, PyJsonValue> } {
  const t = "build_meta";
  const createdText = text(row, t, "created_at");
  let createdAt: Date;
  try {
    createdAt = parseIsoDatetime(createdText);
  } catch {
    return fail(`build_meta.created_at is not an ISO-8601 datetime: ${JSON.stringify(createdText)}`);
  }
  const customText = optionalText(row, t, "custom");
  const custom = customText ? json(customText, "build_meta.custom", true) : {};
  if (!isObject(custom)) return fail(`build_meta.custom must be a JSON object, got ${describeJson(custom)}`);
  return {
    build: {
      runId: text(row, t, "run_id"),
      createdAt,
      numDbs: int(row, t, "num_dbs"),
      s3Prefix: text(row, t, "s3_prefix"),
      keyCol: text(row, t, "key_col"),
      sharding: parseSharding(text(row, t, "sharding")),
      dbPathTemplate: text(row, t, "db_path_template"),
      shardPrefix: text(row, t, "shard_prefix"),
      formatVersion: int(row, t, "format_version"),
      keyEncoding: text(row, t, "key_encoding") as KeyEncoding, // value checked by validateManifest
    },
    custom: { ...custom },
  };
}

function parseShard(row: Row): ShardMeta {
  const t = "shards";
  const dbId = int(row, t, "db_id");
  return {
    dbId,
    dbUrl: optionalText(row, t, "db_url"),
    attempt: int(row, t, "attempt"),
    rowCount: int(row, t, "row_count"),
    dbBytes: int(row, t, "db_bytes"),
    minKey: parseKey(optionalText(row, t, "min_key"), `shards.min_key (db_id=${dbId})`),
    maxKey: parseKey(optionalText(row, t, "max_key"), `shards.max_key (db_id=${dbId})`),
    checkpointId: optionalText(row, t, "checkpoint_id"),
    writerInfo: parseWriterInfo(text(row, t, "writer_info"), dbId),
  };
}

/** Restores bytes recorded under `custom.shardy_bytes` and removes that key from `custom`. */
function applyBytesExtension(manifest: Manifest, custom: Record<string, PyJsonValue>): void {
  const raw = custom[SHARDY_BYTES_CUSTOM_KEY];
  if (raw === undefined) return;
  delete custom[SHARDY_BYTES_CUSTOM_KEY];
  const ext = readBytesExtension(raw);
  if (typeof ext === "string") fail(ext);
  const sharding = manifest.build.sharding;
  if (ext.routingValuesHex !== undefined) {
    const current = sharding.routingValues;
    if (current === null || current.length !== ext.routingValuesHex.length) {
      fail(
        `custom.${SHARDY_BYTES_CUSTOM_KEY}.routing_values_hex has ${ext.routingValuesHex.length} tokens but sharding.routing_values has ${current === null ? "none" : current.length}`,
      );
    }
    sharding.routingValues = ext.routingValuesHex;
  }
  const byId = new Map(manifest.shards.map((s) => [s.dbId, s]));
  for (const [dbId, bounds] of ext.keyBounds) {
    const shard = byId.get(dbId);
    if (!shard)
      fail(`custom.${SHARDY_BYTES_CUSTOM_KEY}.key_bounds_hex names db_id ${dbId}, which has no shard row`);
    if (bounds.minKey !== null) shard.minKey = bounds.minKey;
    if (bounds.maxKey !== null) shard.maxKey = bounds.maxKey;
  }
}

function hasSqliteMagic(bytes: Uint8Array): boolean {
  if (bytes.length < SQLITE_MAGIC.length) return false;
  return SQLITE_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Reads and validates a manifest exactly as the reference reader does (plus shardy's additive
 * bytes extension). Every problem is a `ManifestParseError` saying what is wrong.
 */
export async function parseManifestBytes(
  bytes: Uint8Array,
  options: ManifestCodecOptions = {},
): Promise<Manifest> {
  if (!hasSqliteMagic(bytes)) {
    throw new ManifestParseError(
      `Unsupported manifest format: expected SQLite (magic header not found; got ${bytes.length} bytes starting ${JSON.stringify(
        new TextDecoder().decode(bytes.subarray(0, 16)),
      )})`,
    );
  }
  const SQL = await loadSqlJs(options.sqlJs);
  let metaRows: Row[];
  let shardRows: Row[];
  let db: SqlJsDatabase | undefined;
  try {
    db = new SQL.Database(bytes);
    metaRows = readRows(db, "SELECT * FROM build_meta LIMIT 1");
    shardRows = metaRows.length > 0 ? readRows(db, "SELECT * FROM shards ORDER BY db_id") : [];
  } catch (err) {
    throw new ManifestParseError(`Failed to read SQLite manifest tables: ${errorText(err)}`, { cause: err });
  } finally {
    db?.close();
  }
  const metaRow = metaRows[0];
  if (metaRow === undefined) throw new ManifestParseError("SQLite manifest has no build_meta row");
  const { build, custom } = parseBuildMeta(metaRow);
  const manifest: Manifest = { build, shards: shardRows.map(parseShard), custom };
  applyBytesExtension(manifest, custom);
  validateManifest(manifest, fail);
  return manifest;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
