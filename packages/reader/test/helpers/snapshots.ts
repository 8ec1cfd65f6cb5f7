/**
 * Test fixtures: real snapshots written with the SQLite (or SlateDB) shard writer and published
 * through the core's two-phase publish, on the file store or MinIO. Independent of the writer
 * package on purpose, so the reader's tests pin the reader alone.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  hashSharding,
  type KeyEncoding,
  type Manifest,
  type ManifestKey,
  publishSnapshot,
  readCurrentState,
  type ShardingSpec,
  type ShardMeta,
  shardAttemptUrl,
  urlForKey,
} from "@shardy/core";
import { getKernel } from "@shardy/kernel";
import { createSlateDbShardWriter } from "@shardy/slatedb";
import { SHARD_CHECKSUMS_CUSTOM_KEY, SqliteShardWriter } from "@shardy/sqlite";
import { FileStore, type ObjectStore, S3Store } from "@shardy/store";
import { minioStoreOptions } from "../../../store/test/s3-env.ts";

export type TestKey = bigint | string | Uint8Array;

export interface SnapshotSpec {
  runId: string;
  numDbs: number;
  rows: ReadonlyArray<readonly [TestKey, string | Uint8Array]>;
  keyEncoding?: KeyEncoding;
  backend?: "sqlite" | "slatedb";
  /** Leave `custom.sqlite_sidecar` out, so the reader must probe for shard.db. */
  omitSidecarField?: boolean;
  /** Clock for the manifest key and created_at. */
  now?: () => Date;
  /** Sharding recorded in the manifest (rows are still placed by hash routing). */
  sharding?: ShardingSpec;
}

export interface StoreUnderTest {
  name: string;
  open(): { store: ObjectStore; prefix: string; url: string };
  cleanup(): void;
}

let uniq = 0;
function uniquePrefix(label: string): string {
  uniq++;
  return `reader/${label}-${Date.now().toString(36)}-${process.pid}-${uniq}`;
}

export function tempDir(label = "shardy-reader-test-"): string {
  return mkdtempSync(path.join(tmpdir(), label));
}

export function fileStores(): StoreUnderTest {
  const dirs: string[] = [];
  return {
    name: "file",
    open() {
      const dir = tempDir();
      dirs.push(dir);
      const store = new FileStore(dir, { fsync: false });
      const prefix = uniquePrefix("file");
      return { store, prefix, url: `${store.baseUrl}/${prefix}` };
    },
    cleanup() {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** MinIO from `scripts/minio start`; fails (never skips) with instructions when it is not running. */
export function minioStores(): StoreUnderTest {
  let shared: S3Store | undefined;
  return {
    name: "s3 (MinIO)",
    open() {
      shared ??= new S3Store(minioStoreOptions());
      const prefix = uniquePrefix("s3");
      return { store: shared, prefix, url: `${shared.baseUrl}/${prefix}` };
    },
    cleanup() {},
  };
}

export const STORES = [fileStores, minioStores];

const enc = new TextEncoder();
const toBytes = (v: string | Uint8Array) => (typeof v === "string" ? enc.encode(v) : v);

function logicalKey(k: TestKey): ManifestKey {
  return k;
}

function compareLogical(a: TestKey, b: TestKey): number {
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  const ab = typeof a === "string" ? enc.encode(a) : a instanceof Uint8Array ? a : enc.encode(String(a));
  const bb = typeof b === "string" ? enc.encode(b) : b instanceof Uint8Array ? b : enc.encode(String(b));
  for (let i = 0; i < Math.min(ab.length, bb.length); i++) if (ab[i] !== bb[i]) return ab[i]! - bb[i]!;
  return ab.length - bb.length;
}

/** Writes every non-empty shard, then publishes the manifest and moves `_CURRENT` (CAS). */
export async function writeSnapshot(
  store: ObjectStore,
  prefix: string,
  spec: SnapshotSpec,
): Promise<{ manifestRef: string; manifest: Manifest; shardOf: Map<TestKey, number> }> {
  const kernel = await getKernel();
  const keyEncoding = spec.keyEncoding ?? "u64be";
  const backend = spec.backend ?? "sqlite";
  const expectedCurrent = await readCurrentState({ store, prefix });
  const byShard = new Map<number, Array<readonly [TestKey, string | Uint8Array]>>();
  const shardOf = new Map<TestKey, number>();
  for (const row of spec.rows) {
    const id = kernel.routeKey(row[0], spec.numDbs);
    shardOf.set(row[0], id);
    const list = byShard.get(id) ?? [];
    list.push(row);
    byShard.set(id, list);
  }
  const base = urlForKey(store, prefix);
  const shards: ShardMeta[] = [];
  const checksums: Record<string, string> = {};
  const scratch = tempDir("shardy-reader-write-");
  try {
    for (const [dbId, rows] of [...byShard].sort((a, b) => a[0] - b[0])) {
      const dbUrl = shardAttemptUrl(base, "shards", spec.runId, "db={db_id:05d}", dbId, 0);
      const sorted = [...rows].sort((a, b) => compareLogical(a[0], b[0]));
      let dbBytes: number;
      if (backend === "sqlite") {
        const writer = await SqliteShardWriter.create({
          store,
          dbUrl,
          localDir: path.join(scratch, `db=${dbId}`),
        });
        for (const [k, v] of rows) writer.put(kernel.encodeKey(k, keyEncoding), toBytes(v));
        const result = await writer.finish();
        dbBytes = result.dbBytes;
        checksums[String(dbId)] = result.checksum;
      } else {
        const writer = await createSlateDbShardWriter({
          store,
          dbPrefix: dbUrl.slice(store.baseUrl.length + 1),
        });
        const pairs = rows
          .map(([k, v]) => [kernel.encodeKey(k, keyEncoding), toBytes(v)] as const)
          .sort((a, b) => compareLogical(a[0], b[0]));
        await writer.writeBatch(pairs);
        const sealed = await writer.seal();
        await writer.close();
        dbBytes = Number(sealed.dbBytes ?? 0);
      }
      shards.push({
        dbId,
        dbUrl,
        attempt: 0,
        rowCount: new Set(rows.map((r) => (r[0] instanceof Uint8Array ? [...r[0]].join(",") : r[0]))).size,
        dbBytes,
        minKey: logicalKey(sorted[0]![0]),
        maxKey: logicalKey(sorted.at(-1)![0]),
        checkpointId: crypto.randomUUID().replaceAll("-", ""),
        writerInfo: { attempt: 0, durationMs: 1, stageId: null, taskAttemptId: null },
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const custom: Record<string, unknown> = {};
  if (backend === "sqlite") {
    custom[SHARD_CHECKSUMS_CUSTOM_KEY] = checksums;
    if (!spec.omitSidecarField) {
      custom.sqlite_sidecar = {
        codec: "zstd",
        filename: "shard.sidecar",
        format_version: 8,
        page_size: 4096,
      };
    }
  }
  const manifest: Manifest = {
    build: {
      runId: spec.runId,
      createdAt: (spec.now ?? (() => new Date()))(),
      numDbs: spec.numDbs,
      s3Prefix: base,
      keyCol: "_key",
      sharding: spec.sharding ?? hashSharding(),
      dbPathTemplate: "db={db_id:05d}",
      shardPrefix: "shards",
      formatVersion: 4,
      keyEncoding,
    },
    shards,
    custom,
  };
  const published = await publishSnapshot({ store, prefix, manifest, expectedCurrent, now: spec.now });
  return { manifestRef: published.manifestRef, manifest, shardOf };
}

/** `count` rows `(i, "<label>-i")` with u64 keys 0..count-1. */
export function numberedRows(count: number, label: string): Array<readonly [bigint, string]> {
  return Array.from({ length: count }, (_, i) => [BigInt(i), `${label}-${i}`] as const);
}

export const text = (v: Uint8Array | undefined) =>
  v === undefined ? undefined : new TextDecoder().decode(v);
