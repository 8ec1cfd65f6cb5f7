/** Manifest models for tests, and raw SQL access to manifest bytes (to inspect or corrupt them). */
import { hashSharding, loadSqlJs, type Manifest, parseIsoDatetime, type ShardMeta } from "../../src/index.ts";

/** The manifest of the spec's §3.1 example rows, as our model. */
export function exampleManifest(): Manifest {
  return {
    build: {
      runId: "3f2a",
      createdAt: parseIsoDatetime("2026-04-20T15:23:01.123456Z"),
      numDbs: 4,
      s3Prefix: "s3://bucket/prefix",
      keyCol: "_key",
      sharding: hashSharding(),
      dbPathTemplate: "db={db_id:05d}",
      shardPrefix: "shards",
      formatVersion: 4,
      keyEncoding: "u64be",
    },
    shards: [
      {
        dbId: 0,
        dbUrl: "s3://bucket/prefix/shards/run_id=3f2a/db=00000/attempt=00",
        attempt: 0,
        rowCount: 10,
        dbBytes: 8192,
        minKey: 1n,
        maxKey: 99n,
        checkpointId: "5b2f1c0a4d3a4e6f9b8c7a6d5e4f3210",
        writerInfo: { attempt: 0, durationMs: 55, stageId: 3, taskAttemptId: 17 },
      },
    ],
    custom: {
      sqlite_sidecar: { codec: "zstd", filename: "shard.sidecar", format_version: 8, page_size: 4096 },
    },
  };
}

export function shard(dbId: number, overrides: Partial<ShardMeta> = {}): ShardMeta {
  return {
    dbId,
    dbUrl: `s3://bucket/prefix/shards/run_id=r/db=${String(dbId).padStart(5, "0")}/attempt=00`,
    attempt: 0,
    rowCount: 1,
    dbBytes: 4096,
    minKey: null,
    maxKey: null,
    checkpointId: null,
    writerInfo: { attempt: 0, durationMs: 1, stageId: null, taskAttemptId: null },
    ...overrides,
  };
}

/** A CEL categorical manifest over `tokens`. */
export function categoricalManifest(
  tokens: (bigint | string | Uint8Array)[],
  shards: ShardMeta[] = [],
): Manifest {
  const m = exampleManifest();
  m.build.numDbs = Math.max(1, tokens.length);
  m.build.sharding = {
    strategy: "cel",
    hashAlgorithm: "xxh3_64",
    celExpr: "region",
    celColumns: { region: "string" },
    routingValues: tokens,
  };
  m.shards = shards;
  m.custom = {};
  return m;
}

export type Cell = number | string | Uint8Array | bigint | null;

/** Runs `sql` on a copy of the manifest and returns all rows. */
export async function query(bytes: Uint8Array, sql: string): Promise<Cell[][]> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(bytes);
  try {
    const stmt = db.prepare(sql);
    const rows: Cell[][] = [];
    while (stmt.step()) rows.push(stmt.get(null, { useBigInt: false }));
    stmt.free();
    return rows;
  } finally {
    db.close();
  }
}

/** Applies SQL statements to a copy of the manifest and returns the new bytes. */
export async function mutate(bytes: Uint8Array, ...statements: string[]): Promise<Uint8Array> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(bytes);
  try {
    for (const s of statements) db.run(s);
    return db.export();
  } finally {
    db.close();
  }
}
