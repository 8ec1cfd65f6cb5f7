/**
 * Publish benchmark: manifest build + upload + `_CURRENT` compare-and-swap for 1, 1,000 and
 * 100,000 shards, against MinIO (SHARDY_TEST_S3_* from `scripts/minio start`) or, loudly, a local
 * FileStore. Baseline measured in the same run: the same manifest built with Python's sqlite3
 * (timed inside Python). Prints a table and writes bench-results/publish.json.
 *
 *   eval "$(bash scripts/minio start)"; bun scripts/bench/publish.ts; bash scripts/minio stop
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  BUILD_META_DDL,
  hashSharding,
  type Manifest,
  publishSnapshot,
  readCurrentState,
  SHARDS_DDL,
  shardAttemptUrl,
  urlForKey,
  utcNow,
} from "../../packages/core/src/index.ts";
import { FileStore, type ObjectStore, S3Store } from "../../packages/store/src/index.ts";
import { median } from "./lib.ts";

const SIZES = [1, 1_000, 100_000];
const RUNS: Record<number, number> = { 1: 7, 1000: 5, 100000: 3 };
const ROWS_PER_SHARD = 1000;
const CHECKPOINT = "0123456789abcdef0123456789abcdef";
const WRITER_INFO = '{"attempt": 0, "duration_ms": 5, "stage_id": null, "task_attempt_id": null}';
const SHARDING =
  '{"cel_columns": null, "cel_expr": null, "hash_algorithm": "xxh3_64", "routing_values": null, "strategy": "hash"}';

function openBenchStore(): { store: ObjectStore; kind: string; cleanup: () => void } {
  const env = process.env;
  const vars = ["ENDPOINT", "BUCKET", "ACCESS_KEY", "SECRET_KEY", "REGION"].map(
    (v) => env[`SHARDY_TEST_S3_${v}`],
  );
  if (vars.every((v) => v)) {
    const [endpoint, bucket, accessKeyId, secretAccessKey, region] = vars as string[];
    const store = new S3Store({
      bucket: bucket!,
      endpoint,
      region,
      credentials: { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! },
    });
    return { store, kind: `s3 (MinIO at ${endpoint})`, cleanup: () => {} };
  }
  const banner = "!".repeat(78);
  console.error(
    `${banner}\n!! SHARDY_TEST_S3_* not set: benchmarking a local FileStore INSTEAD OF MinIO.\n` +
      `!! Numbers below are NOT object-storage numbers. Run eval "$(bash scripts/minio start)" first.\n${banner}`,
  );
  const dir = mkdtempSync(path.join(tmpdir(), "shardy-bench-publish-"));
  return {
    store: new FileStore(dir),
    kind: `file (${dir})`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function makeManifest(s3Prefix: string, runId: string, numShards: number): Manifest {
  return {
    build: {
      runId,
      createdAt: utcNow(),
      numDbs: numShards,
      s3Prefix,
      keyCol: "_key",
      sharding: hashSharding(),
      dbPathTemplate: "db={db_id:05d}",
      shardPrefix: "shards",
      formatVersion: 4,
      keyEncoding: "u64be",
    },
    shards: Array.from({ length: numShards }, (_, dbId) => ({
      dbId,
      dbUrl: shardAttemptUrl(s3Prefix, "shards", runId, "db={db_id:05d}", dbId, 0),
      attempt: 0,
      rowCount: ROWS_PER_SHARD,
      dbBytes: ROWS_PER_SHARD * 64,
      minKey: 1n,
      maxKey: BigInt(ROWS_PER_SHARD),
      checkpointId: CHECKPOINT,
      writerInfo: { attempt: 0, durationMs: 5, stageId: null, taskAttemptId: null },
    })),
    custom: {},
  };
}

async function pythonBaseline(
  s3Prefix: string,
  runId: string,
): Promise<Record<string, { ms: number[]; bytes: number }>> {
  const job = {
    ddl: [BUILD_META_DDL, SHARDS_DDL],
    build_meta: [
      runId,
      "2026-04-20T15:23:01.123456Z",
      0,
      s3Prefix,
      "_key",
      SHARDING,
      "db={db_id:05d}",
      "shards",
      4,
      "u64be",
      "{}",
    ],
    shard_template: {
      url_prefix: `${s3Prefix}/shards/run_id=${runId}`,
      row_count: ROWS_PER_SHARD,
      db_bytes: ROWS_PER_SHARD * 64,
      checkpoint_id: CHECKPOINT,
      writer_info: WRITER_INFO,
    },
    sizes: SIZES,
    runs: Object.fromEntries(SIZES.map((n) => [String(n), RUNS[n]])),
  };
  const proc = Bun.spawn(["python3", path.join(import.meta.dir, "publish-baseline.py")], {
    stdin: new TextEncoder().encode(JSON.stringify(job)),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`python3 baseline failed (exit ${code}): ${err.trim()}`);
  return JSON.parse(out);
}

interface Row {
  shards: number;
  runs: number;
  buildMs: number;
  uploadMs: number;
  pointerMs: number;
  totalMs: number;
  manifestBytes: number;
  bytesPerShard: number;
  pythonBuildMs: number;
  pythonBytes: number;
}

async function main(): Promise<void> {
  const { store, kind, cleanup } = openBenchStore();
  const prefix = `bench/publish-${Date.now().toString(36)}`;
  const s3Prefix = urlForKey(store, prefix);
  const runId = "0123456789abcdef0123456789abcdef";
  console.log(`store: ${kind}\nprefix: ${prefix}`);

  const python = await pythonBaseline(s3Prefix, runId);
  const rows: Row[] = [];
  try {
    for (const shards of SIZES) {
      const manifest = makeManifest(s3Prefix, runId, shards);
      const samples: { build: number; upload: number; pointer: number; total: number; bytes: number }[] = [];
      await publishSnapshot({ store, prefix, manifest, mode: "last-writer-wins" }); // warm-up
      for (let i = 0; i < RUNS[shards]!; i++) {
        const seen = await readCurrentState({ store, prefix });
        const t0 = performance.now();
        const r = await publishSnapshot({ store, prefix, manifest, expectedCurrent: seen });
        const total = performance.now() - t0;
        samples.push({
          build: r.durations.buildMs,
          upload: r.durations.uploadMs,
          pointer: r.durations.currentMs,
          total,
          bytes: r.manifestBytes,
        });
      }
      const py = python[String(shards)]!;
      const bytes = samples[0]!.bytes;
      rows.push({
        shards,
        runs: samples.length,
        buildMs: median(samples.map((s) => s.build)),
        uploadMs: median(samples.map((s) => s.upload)),
        pointerMs: median(samples.map((s) => s.pointer)),
        totalMs: median(samples.map((s) => s.total)),
        manifestBytes: bytes,
        bytesPerShard: bytes / shards,
        pythonBuildMs: median(py.ms),
        pythonBytes: py.bytes,
      });
    }
  } finally {
    const removed = await store.deletePrefix(prefix).catch(() => 0);
    console.log(`cleaned up ${removed} bench objects`);
    cleanup();
  }

  const f = (n: number, d = 1) => n.toFixed(d);
  const header = [
    "shards",
    "runs",
    "build ms",
    "upload ms",
    "pointer ms",
    "total ms",
    "bytes",
    "B/shard",
    "py build ms",
    "py bytes",
    "build ts/py",
  ];
  const table = rows.map((r) => [
    String(r.shards),
    String(r.runs),
    f(r.buildMs),
    f(r.uploadMs),
    f(r.pointerMs),
    f(r.totalMs),
    String(r.manifestBytes),
    f(r.bytesPerShard),
    f(r.pythonBuildMs),
    String(r.pythonBytes),
    `${f(r.buildMs / r.pythonBuildMs, 2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
  for (const row of table) console.log(line(row));
  console.log(
    "\nmedians; build = manifest SQLite bytes (sql.js vs Python sqlite3), total = build+upload+checks+pointer",
  );

  const outDir = path.join(import.meta.dir, "..", "..", "bench-results");
  mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, "publish.json");
  writeFileSync(
    outFile,
    `${JSON.stringify({ benchmark: "publish", store: kind, date: new Date().toISOString(), rowsPerShard: ROWS_PER_SHARD, results: rows }, null, 2)}\n`,
  );
  console.log(`wrote ${outFile}`);
}

await main();
