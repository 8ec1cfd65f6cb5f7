/** Shared fixtures: temp dirs, stores (file + MinIO), snapshot inspection through raw SQLite. */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  currentPointerKeyFor,
  decodeRunRecord,
  keyForUrl,
  type Manifest,
  parseCurrentBytes,
  parseManifestBytes,
  type RunRecord,
} from "@shardy/core";
import { ShardWriteError } from "@shardy/errors";
import { getKernel } from "@shardy/kernel";
import { openSlateDbReader } from "@shardy/slatedb";
import { type ObjectStore, S3Store } from "@shardy/store";
import { Binary, Int64, type RecordBatch, Table, Utf8, vectorFromArray } from "apache-arrow";
import { minioStoreOptions, readS3TestEnv } from "../../store/test/s3-env.ts";
import { type ShardAdapterFactory, sqliteAdapterFactory } from "../src/index.ts";

const dirs: string[] = [];

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `shardy-writer-${label}-`));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

/** The reference's SMOKE_DATA: keys 0..9, values b"zero".."nine", group "a" even / "b" odd. */
export function smokeTable(): Table {
  const enc = new TextEncoder();
  return new Table({
    id: vectorFromArray(
      WORDS.map((_, i) => BigInt(i)),
      new Int64(),
    ),
    value: binaryVector(WORDS.map((w) => enc.encode(w))),
    group: vectorFromArray(
      WORDS.map((_, i) => (i % 2 === 0 ? "a" : "b")),
      new Utf8(),
    ),
  });
}

export function binaryVector(values: (Uint8Array | null)[]) {
  return vectorFromArray(values, new Binary());
}

export interface SnapshotView {
  manifest: Manifest;
  manifestRef: string;
  /** Per winner db id: stored pairs, key as hex -> value. */
  shards: Map<number, Map<string, Uint8Array>>;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function u64(i: number | bigint): Uint8Array {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setBigUint64(0, BigInt(i));
  return k;
}

/** Loads `_CURRENT`, its manifest, and every winner's pairs (`shard.db` through bun:sqlite, SlateDB through its reader). */
export async function inspectSnapshot(store: ObjectStore, prefix: string): Promise<SnapshotView> {
  const current = await store.get(currentPointerKeyFor(prefix));
  if (!current) throw new Error(`no _CURRENT under ${store.baseUrl}/${prefix}`);
  const pointer = parseCurrentBytes(current.body);
  const manifestObj = await store.get(keyForUrl(store, pointer.manifestRef));
  if (!manifestObj) throw new Error(`manifest ${pointer.manifestRef} missing`);
  const manifest = await parseManifestBytes(manifestObj.body);
  const shards = new Map<number, Map<string, Uint8Array>>();
  const scratch = tempDir("inspect");
  for (const shard of manifest.shards) {
    const dbPrefix = keyForUrl(store, shard.dbUrl!);
    const obj = await store.get(`${dbPrefix}/shard.db`);
    if (!obj) {
      // No shard.db: a SlateDB shard; read every pair back with our SlateDB reader.
      shards.set(shard.dbId, await readSlateDbShard(store, dbPrefix));
      continue;
    }
    const path = join(scratch, `db-${shard.dbId}.sqlite`);
    writeFileSync(path, obj.body);
    const db = new Database(path, { readonly: true });
    const rows = db.query("SELECT k, v FROM kv").all() as { k: Uint8Array; v: Uint8Array }[];
    db.close();
    shards.set(shard.dbId, new Map(rows.map((r) => [hex(r.k), new Uint8Array(r.v)])));
  }
  return { manifest, manifestRef: pointer.manifestRef, shards };
}

async function readSlateDbShard(store: ObjectStore, dbPrefix: string): Promise<Map<string, Uint8Array>> {
  const reader = await openSlateDbReader({ store, dbPrefix });
  const pairs = new Map<string, Uint8Array>();
  try {
    for await (const [key, value] of reader.scan()) pairs.set(hex(key), value);
  } finally {
    await reader.close();
  }
  return pairs;
}

/** Every key in exactly its predicted shard (kernel routing) and in no other. */
export async function expectKeysInPredictedShards(
  view: SnapshotView,
  keys: readonly (bigint | string)[],
  encode: (key: bigint | string) => Uint8Array,
): Promise<void> {
  const kernel = await getKernel();
  const numDbs = view.manifest.build.numDbs;
  for (const key of keys) {
    const want = kernel.routeKey(key, numDbs);
    const k = hex(encode(key));
    for (const [dbId, pairs] of view.shards) {
      const present = pairs.has(k);
      if (dbId === want && !present) throw new Error(`key ${key} missing from its shard ${dbId}`);
      if (dbId !== want && present) throw new Error(`key ${key} found in shard ${dbId}, predicted ${want}`);
    }
    if (!view.shards.has(want)) throw new Error(`key ${key}: predicted shard ${want} is not in the manifest`);
  }
}

export async function readRunRecords(store: ObjectStore, prefix: string): Promise<RunRecord[]> {
  const listed = await store.list(prefix ? `${prefix}/runs/` : "runs/");
  const out: RunRecord[] = [];
  for (const o of listed.objects) {
    if (!o.key.endsWith("run.yaml")) continue;
    const got = await store.get(o.key);
    out.push(decodeRunRecord(new TextDecoder().decode(got!.body)));
  }
  return out;
}

/** The MinIO test bucket (fails, never skips, when `scripts/minio start` was not run). */
export function minio(): { store: S3Store; bucket: string; connection: Record<string, unknown> } {
  const env = readS3TestEnv();
  return {
    store: new S3Store(minioStoreOptions(env)),
    bucket: env.bucket,
    connection: {
      s3_connection_options: {
        endpoint_url: env.endpoint,
        region_name: env.region,
        addressing_style: "path",
      },
      credential_provider: { kind: "static", access_key_id: env.accessKey, secret_access_key: env.secretKey },
    },
  };
}

export function batchesOf(table: Table): RecordBatch[] {
  return table.batches;
}

/** SQLite adapters whose first `writeBatch` in attempt 0 of shard `dbId` fails (a retryable hiccup). */
export function flakyOnceAdapters(dbId: number): { factory: ShardAdapterFactory; failures: () => number } {
  const inner = sqliteAdapterFactory({ emit_sidecar: false });
  let failures = 0;
  const factory: ShardAdapterFactory = {
    ...inner,
    async open(o) {
      const adapter = await inner.open(o);
      return {
        ...adapter,
        writeBatch(pairs) {
          if (o.dbId === dbId && o.attempt === 0 && failures++ === 0)
            throw new ShardWriteError("disk hiccup");
          return adapter.writeBatch(pairs);
        },
      };
    },
  };
  return { factory, failures: () => failures };
}
