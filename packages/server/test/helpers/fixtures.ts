/**
 * Test snapshots for the HTTP suite, built with the writer's public `buildSnapshot` on the file
 * store and on MinIO, SQLite and SlateDB. Key `i` holds `<version prefix>-<i>`, so the suite can
 * compute every expected value. Bun only (the writer's file inputs); Deno runs it through
 * `fixtures-cli.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ShardingSpec } from "@shardy/core";
import { getKernel } from "@shardy/kernel";
import { FileStore, type ObjectStore, S3Store } from "@shardy/store";
import { buildSnapshot, ValueSpec } from "@shardy/writer";
import { writeSnapshot } from "../../../reader/test/helpers/snapshots.ts";
import { minioStoreOptions, readS3TestEnv } from "../../../store/test/s3-env.ts";
import { type FixtureSet, keyText, type SnapshotFixture, valueFor } from "./fixture-types.ts";

export type { FixtureSet, SnapshotFixture };

export interface FixtureSpec {
  name: string;
  store: "file" | "s3";
  backend: "sqlite" | "slatedb";
  keyEncoding?: "u64be" | "utf8";
  sqliteMode?: "download" | "range" | "auto";
  versions: string[];
  rollback?: boolean;
  live?: boolean;
  cel?: "key" | "region";
}

/** The server suite's snapshots: both stores, both backends, a utf8 one, two with history. */
export const SERVER_SPECS: FixtureSpec[] = [
  { name: "file-sqlite", store: "file", backend: "sqlite", versions: ["v1", "v2"], rollback: true },
  { name: "file-slatedb", store: "file", backend: "slatedb", versions: ["s1"] },
  { name: "file-utf8", store: "file", backend: "sqlite", keyEncoding: "utf8", versions: ["u1"] },
  { name: "file-live", store: "file", backend: "sqlite", versions: ["l1"], live: true },
  { name: "s3-sqlite", store: "s3", backend: "sqlite", versions: ["w1", "w2"], rollback: true },
  { name: "s3-sqlite-range", store: "s3", backend: "sqlite", sqliteMode: "range", versions: ["r1"] },
  { name: "s3-slatedb", store: "s3", backend: "slatedb", versions: ["t1"] },
  { name: "file-cel-key", store: "file", backend: "sqlite", versions: ["c1"], cel: "key" },
  { name: "file-cel-region", store: "file", backend: "sqlite", versions: ["d1"], cel: "region" },
];

/** The edge suite's snapshots: MinIO only (the worker reads over HTTP), SQLite read by ranges. */
export const EDGE_SPECS: FixtureSpec[] = [
  { name: "edge-sqlite", store: "s3", backend: "sqlite", sqliteMode: "range", versions: ["e1", "e2"] },
  { name: "edge-slatedb", store: "s3", backend: "slatedb", versions: ["f1"] },
  {
    name: "edge-utf8",
    store: "s3",
    backend: "sqlite",
    keyEncoding: "utf8",
    sqliteMode: "range",
    versions: ["g1"],
  },
  { name: "edge-live", store: "s3", backend: "sqlite", sqliteMode: "range", versions: ["h1"], live: true },
  {
    name: "edge-cel-region",
    store: "s3",
    backend: "sqlite",
    sqliteMode: "range",
    versions: ["k1"],
    cel: "region",
  },
];

export const REGIONS = ["ap", "eu", "us"];

/**
 * A CEL snapshot, written shard by shard with the reader's test writer: rows are placed by
 * `xxh3_64(key) % N` (which is what both CEL expressions below compute for their rows), and the
 * manifest records the CEL sharding.
 */
async function publishCel(fixture: SnapshotFixture, prefix: string): Promise<string> {
  const runId = `${fixture.name}-${prefix}-${Date.now().toString(36)}`;
  const mode = fixture.cel!.mode;
  const rows = Array.from({ length: fixture.rows }, (_, i) => [BigInt(i), valueFor(prefix, i)] as const);
  const sharding: ShardingSpec =
    mode === "key"
      ? {
          strategy: "cel",
          hashAlgorithm: "xxh3_64",
          celExpr: fixture.cel!.expr,
          celColumns: { key: "int" },
          routingValues: null,
        }
      : {
          strategy: "cel",
          hashAlgorithm: "xxh3_64",
          celExpr: fixture.cel!.expr,
          celColumns: { region: "string" },
          routingValues: [...REGIONS],
        };
  let store: ObjectStore;
  let storePrefix: string;
  const base = fixture.currentUrl.replace(/\/_CURRENT$/, "");
  if (fixture.store === "s3") {
    store = s3Store();
    storePrefix = base.slice(`${store.baseUrl}/`.length);
  } else {
    store = new FileStore(base.slice("file://".length), { fsync: false });
    storePrefix = "";
  }
  await writeSnapshot(store, storePrefix, { runId, numDbs: fixture.numDbs, rows, sharding });
  return runId;
}

export const ROWS = 240;
export const NUM_DBS = 4;

let s3: S3Store | undefined;
function s3Store(): S3Store {
  s3 ??= new S3Store({ ...minioStoreOptions(), maxAttempts: 3 });
  return s3;
}

/** Publishes one more version of a snapshot (value prefix `prefix`); returns its run id. */
export async function publishVersion(
  dir: string,
  fixture: Pick<
    SnapshotFixture,
    "name" | "store" | "backend" | "keyEncoding" | "numDbs" | "rows" | "currentUrl" | "cel"
  >,
  prefix: string,
): Promise<string> {
  if (fixture.cel) return publishCel(fixture as SnapshotFixture, prefix);
  const input = path.join(dir, "inputs", `${fixture.name}-${prefix}.ndjson`);
  mkdirSync(path.dirname(input), { recursive: true });
  let text = "";
  for (let i = 0; i < fixture.rows; i++) {
    const id = fixture.keyEncoding === "utf8" ? keyText("utf8", i) : i;
    text += `${JSON.stringify({ id, v: valueFor(prefix, i) })}\n`;
  }
  writeFileSync(input, text);
  const s3Prefix = fixture.currentUrl.replace(/\/_CURRENT$/, "");
  const store: ObjectStore | undefined = fixture.store === "s3" ? s3Store() : undefined;
  const result = await buildSnapshot({
    inputs: [input],
    config: {
      s3_prefix: s3Prefix,
      num_dbs: fixture.numDbs,
      key_encoding: fixture.keyEncoding,
      adapter_factory: { kind: fixture.backend },
      output: { run_id: `${fixture.name}-${prefix}-${Date.now().toString(36)}` },
    },
    input: { key_col: "id", value_spec: ValueSpec.binaryCol("v") },
    workers: 0,
    ...(store ? { store } : {}),
  });
  return result.runId;
}

/** Builds every fixture snapshot under `dir` (file store) and a unique MinIO prefix. */
export async function buildFixtures(
  dir: string,
  specs: readonly FixtureSpec[] = SERVER_SPECS,
): Promise<FixtureSet> {
  const env = readS3TestEnv();
  const kernel = await getKernel();
  const unique = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const snapshots: SnapshotFixture[] = [];
  for (const spec of specs) {
    const keyEncoding = spec.keyEncoding ?? "u64be";
    const currentUrl =
      spec.store === "file"
        ? `file://${path.join(dir, "snapshots", spec.name)}/_CURRENT`
        : `s3://${env.bucket}/server-tests/${unique}/${spec.name}/_CURRENT`;
    const numDbs = spec.cel === "region" ? REGIONS.length : NUM_DBS;
    const fixture: SnapshotFixture = {
      name: spec.name,
      store: spec.store,
      backend: spec.backend,
      keyEncoding,
      sqliteMode: spec.sqliteMode ?? "download",
      numDbs,
      rows: ROWS,
      currentUrl,
      versions: [],
      runIds: [],
      routes: [],
      rollback: spec.rollback ?? false,
      live: spec.live ?? false,
    };
    if (spec.cel === "key") fixture.cel = { mode: "key", expr: `shard_hash(key) % ${numDbs}u` };
    if (spec.cel === "region") {
      fixture.cel = {
        mode: "region",
        expr: "region",
        regions: REGIONS,
        regionOf: Array.from({ length: ROWS }, (_, i) => REGIONS[kernel.routeKey(BigInt(i), numDbs)]!),
      };
    }
    for (const prefix of spec.versions) {
      fixture.runIds.push(await publishVersion(dir, fixture, prefix));
      fixture.versions.push(prefix);
    }
    for (const i of [0, 1, 7, 42, ROWS - 1]) {
      const text = keyText(keyEncoding, i);
      const key = keyEncoding === "utf8" ? text : BigInt(i);
      fixture.routes.push({ key: text, dbId: kernel.routeKey(key, numDbs) });
    }
    snapshots.push(fixture);
  }
  return { dir, snapshots, s3: { endpoint: env.endpoint, bucket: env.bucket, region: env.region } };
}
