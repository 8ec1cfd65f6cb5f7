/**
 * Test fixtures for publish/history/runs: manifests with known row counts, the stores every
 * reliability scenario runs against (memory, file, MinIO), and small store inspection helpers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FileStore, MemoryStore, type ObjectStore, S3Store } from "@shardy/store";
import { minioStoreOptions } from "../../../store/test/s3-env.ts";
import {
  hashSharding,
  type Manifest,
  type ShardMeta,
  shardAttemptUrl,
  urlForKey,
  utcNow,
} from "../../src/index.ts";

export interface StoreUnderTest {
  name: string;
  /** A fresh store plus a prefix nobody else uses. */
  open(): { store: ObjectStore; prefix: string };
  /** Removes what `open` created (temp dirs); stores are otherwise left as they are. */
  cleanup(): void;
}

let uniq = 0;
function uniquePrefix(label: string): string {
  uniq++;
  return `t/${label}-${Date.now().toString(36)}-${process.pid}-${uniq}`;
}

export function memoryStores(): StoreUnderTest {
  return {
    name: "memory",
    open: () => ({ store: new MemoryStore(`core-${++uniq}`), prefix: uniquePrefix("mem") }),
    cleanup() {},
  };
}

export function fileStores(): StoreUnderTest {
  const dirs: string[] = [];
  return {
    name: "file",
    open() {
      const dir = mkdtempSync(path.join(tmpdir(), "shardy-core-"));
      dirs.push(dir);
      return { store: new FileStore(dir, { fsync: false }), prefix: uniquePrefix("file") };
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
      return { store: shared, prefix: uniquePrefix("s3") };
    },
    cleanup() {},
  };
}

export const ALL_STORES = [memoryStores, fileStores, minioStores];

export interface ManifestSpec {
  runId: string;
  numDbs?: number;
  /** Rows per shard by db id; shards not listed are empty (absent from the manifest). */
  rows?: Record<number, number>;
  attempt?: number;
}

export function shardMeta(
  store: ObjectStore,
  prefix: string,
  runId: string,
  dbId: number,
  rows: number,
  attempt = 0,
  taskAttemptId: number | null = null,
): ShardMeta {
  return {
    dbId,
    dbUrl: shardAttemptUrl(urlForKey(store, prefix), "shards", runId, "db={db_id:05d}", dbId, attempt),
    attempt,
    rowCount: rows,
    dbBytes: rows * 100,
    minKey: 1n,
    maxKey: BigInt(rows),
    checkpointId: "0123456789abcdef0123456789abcdef",
    writerInfo: { attempt, durationMs: 5, stageId: null, taskAttemptId },
  };
}

export function makeManifest(store: ObjectStore, prefix: string, spec: ManifestSpec): Manifest {
  const numDbs = spec.numDbs ?? 4;
  const rows = spec.rows ?? { 0: 10, 1: 10, 2: 10, 3: 10 };
  return {
    build: {
      runId: spec.runId,
      createdAt: utcNow(),
      numDbs,
      s3Prefix: urlForKey(store, prefix),
      keyCol: "_key",
      sharding: hashSharding(),
      dbPathTemplate: "db={db_id:05d}",
      shardPrefix: "shards",
      formatVersion: 4,
      keyEncoding: "u64be",
    },
    shards: Object.entries(rows).map(([id, n]) =>
      shardMeta(store, prefix, spec.runId, Number(id), n, spec.attempt),
    ),
    custom: {},
  };
}

/** Every key under `prefix/` in the store. */
export async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  return (await store.list(`${prefix}/`)).objects.map((o) => o.key);
}

/** Writes a few fake shard files under an attempt URL. */
export async function writeAttemptFiles(
  store: ObjectStore,
  url: string,
  files = ["shard.db"],
): Promise<void> {
  const base = url.slice(store.baseUrl.replace(/\/+$/, "").length + 1);
  for (const file of files) await store.put(`${base}/${file}`, new TextEncoder().encode(`${url}/${file}`));
}

/** A sleep that resolves at once, so retry backoff costs no wall time in tests. */
export const instantRetry = { sleep: async () => {} } as const;
