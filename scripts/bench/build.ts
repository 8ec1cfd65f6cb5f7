/**
 * Build benchmark (issue 5, item 7): `--rows` rows (u64be keys, 64-byte values) from an Arrow IPC
 * file, 16 shards, local file store, SQLite, through `buildSnapshot` with worker threads.
 * Measures end-to-end rows/s and peak RSS (the build runs in a child process so its VmHWM is its
 * own), against a ceiling measured in the same run: cores x the raw single-core SQLite insert
 * rate (pre-encoded, key-ordered pairs, reference pragmas, one transaction, no pipeline at all).
 * Prints a table and writes bench-results/build.json.
 *
 *   bun scripts/bench/build.ts                 # 2M rows (a few minutes on 2 cores)
 *   bun scripts/bench/build.ts --rows 10000000 # the size
 */
import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  Binary,
  Field,
  Int64,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
} from "apache-arrow";

const ROOT = path.resolve(import.meta.dir, "../..");
const VALUE_BYTES = 64;
const BATCH_ROWS = 65_536;

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "2000000" },
    shards: { type: "string", default: "16" },
    workers: { type: "string" },
    "calibration-rows": { type: "string", default: "1000000" },
    "memory-budget-mb": { type: "string", default: "128" },
    keep: { type: "boolean", default: false },
    child: { type: "string" },
  },
});

/** Deterministic 64-byte value of row `i` (xorshift stream seeded by the row). */
function fillValue(out: Uint8Array, at: number, i: number): void {
  let x = (i * 2654435761) >>> 0 || 1;
  for (let k = 0; k < VALUE_BYTES; k += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[at + k] = x & 255;
    out[at + k + 1] = (x >>> 8) & 255;
    out[at + k + 2] = (x >>> 16) & 255;
    out[at + k + 3] = (x >>> 24) & 255;
  }
}

function makeInputBatch(schema: Schema, start: number, n: number): RecordBatch {
  const ids = new BigInt64Array(n);
  const data = new Uint8Array(n * VALUE_BYTES);
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    ids[i] = BigInt(start + i);
    fillValue(data, i * VALUE_BYTES, start + i);
    offsets[i + 1] = (i + 1) * VALUE_BYTES;
  }
  const children = [
    makeData({ type: new Int64(), length: n, data: ids }),
    makeData({ type: new Binary(), length: n, valueOffsets: offsets, data }),
  ];
  return new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }),
  );
}

/** Writes the input Arrow IPC file batch by batch (bounded memory). */
async function generateInput(file: string, rows: number): Promise<void> {
  const schema = new Schema([new Field("id", new Int64(), false), new Field("value", new Binary(), false)]);
  const writer = RecordBatchFileWriter.throughNode();
  const { createWriteStream } = await import("node:fs");
  const sink = createWriteStream(file);
  const done = new Promise<void>((resolve, reject) => {
    sink.on("finish", () => resolve());
    sink.on("error", reject);
  });
  (writer as unknown as NodeJS.ReadableStream).pipe(sink);
  for (let start = 0; start < rows; start += BATCH_ROWS) {
    const n = Math.min(BATCH_ROWS, rows - start);
    writer.write(makeInputBatch(schema, start, n));
    if (!sink.writableNeedDrain) continue;
    await new Promise<void>((r) => sink.once("drain", () => r()));
  }
  writer.end();
  await done;
}

/**
 * The raw single-core insert rate: what one core does with SQLite alone. Pairs are pre-encoded
 * (u64be keys in key order, 64-byte values) and inserted with the reference pragmas in one
 * transaction, the best case for SQLite.
 */
function measureRawInsert(dir: string, rows: number): { rows: number; ms: number; rowsPerSecond: number } {
  const keys: Uint8Array[] = new Array(rows);
  const values: Uint8Array[] = new Array(rows);
  const arena = new Uint8Array(rows * VALUE_BYTES);
  for (let i = 0; i < rows; i++) {
    const k = new Uint8Array(8);
    new DataView(k.buffer).setBigUint64(0, BigInt(i));
    keys[i] = k;
    fillValue(arena, i * VALUE_BYTES, i);
    values[i] = arena.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES);
  }
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run++) {
    const file = path.join(dir, `raw-${run}.db`);
    rmSync(file, { force: true });
    const db = new Database(file);
    db.exec("PRAGMA page_size = 4096");
    db.exec("PRAGMA journal_mode = MEMORY");
    db.exec("PRAGMA synchronous = OFF");
    db.exec("PRAGMA cache_size = -2000");
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("PRAGMA temp_store = MEMORY");
    db.exec("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
    const t = performance.now();
    db.exec("BEGIN");
    const stmt = db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
    for (let i = 0; i < rows; i++) stmt.run(keys[i]!, values[i]!);
    db.exec("COMMIT");
    best = Math.min(best, performance.now() - t);
    db.close();
    rmSync(file, { force: true });
  }
  return { rows, ms: best, rowsPerSecond: (rows * 1000) / best };
}

function peakRssBytes(): number {
  const status = readFileSync("/proc/self/status", "utf8");
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

interface ChildReport {
  rows: number;
  totalMs: number;
  shardingMs: number;
  writeMs: number;
  manifestMs: number;
  rowsWritten: number;
  peakRssBytes: number;
  /** CPU time of the build process, all threads (user + system). */
  cpuMs: number;
  winners: number;
  dbBytes: number;
}

/** The measured build, in its own process (`--child <json>`). */
async function child(spec: {
  input: string;
  out: string;
  shards: number;
  workers: number;
  budgetMb: number;
}) {
  const { buildSnapshot, ValueSpec } = await import("../../packages/writer/src/index.ts");
  const cpuBefore = process.cpuUsage();
  const t = performance.now();
  const result = await buildSnapshot({
    inputs: [spec.input],
    config: {
      s3_prefix: `file://${spec.out}`,
      num_dbs: spec.shards,
      key_encoding: "u64be",
      adapter_factory: { kind: "sqlite" },
      output: { local_root: path.join(spec.out, "..", "scratch") },
    },
    input: { key_col: "id", value_spec: ValueSpec.binaryCol("value") },
    workers: spec.workers,
    memoryBudgetBytes: spec.budgetMb * 1024 * 1024,
  });
  const totalMs = performance.now() - t;
  const cpu = process.cpuUsage(cpuBefore);
  const d = result.stats.durations;
  const report: ChildReport = {
    rows: result.stats.rowsRead,
    totalMs,
    shardingMs: d.shardingMs,
    writeMs: d.writeMs,
    manifestMs: d.manifestMs,
    rowsWritten: result.stats.rowsWritten,
    peakRssBytes: peakRssBytes(),
    cpuMs: (cpu.user + cpu.system) / 1000,
    winners: result.winners.length,
    dbBytes: result.winners.reduce((s, w) => s + w.dbBytes, 0),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

async function main() {
  const rows = Number(args.rows);
  const shards = Number(args.shards);
  const cores = availableParallelism();
  const workers = args.workers === undefined ? cores : Number(args.workers);
  const budgetMb = Number(args["memory-budget-mb"]);
  const calibrationRows = Math.min(Number(args["calibration-rows"]), rows);
  const dir = mkdtempSync(path.join(tmpdir(), "shardy-bench-build-"));
  try {
    const input = path.join(dir, "input.arrow");
    console.error(`generating ${rows.toLocaleString()} rows into ${input} ...`);
    let t = performance.now();
    await generateInput(input, rows);
    console.error(
      `  ${(statSync(input).size / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    console.error(
      `calibrating the raw single-core SQLite insert rate on ${calibrationRows.toLocaleString()} rows ...`,
    );
    const raw = measureRawInsert(dir, calibrationRows);
    const ceiling = raw.rowsPerSecond * cores;

    console.error(`building: ${shards} shards, ${workers} writer threads, file store, SQLite ...`);
    const out = path.join(dir, "snapshot");
    mkdirSync(out, { recursive: true });
    t = performance.now();
    const proc = Bun.spawn(
      [
        process.execPath,
        import.meta.path,
        "--child",
        JSON.stringify({ input, out, shards, workers, budgetMb }),
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    const stdout = await new Response(proc.stdout).text();
    if ((await proc.exited) !== 0) throw new Error(`the build process failed (exit ${proc.exitCode})`);
    const report = JSON.parse(stdout.trim().split("\n").at(-1)!) as ChildReport;
    const rowsPerSecond = (report.rows * 1000) / report.totalMs;
    const ratio = rowsPerSecond / ceiling;
    // Throughput per CPU-second against the raw single-core rate: how much work a row costs,
    // next to the wall-clock ratio (which the load of other jobs on the machine moves too).
    const rowsPerCpuSecond = (report.rows * 1000) / report.cpuMs;

    const results = {
      benchmark: "build",
      date: new Date().toISOString(),
      machine: { cores, bun: Bun.version },
      config: {
        rows,
        shards,
        workers,
        valueBytes: VALUE_BYTES,
        keyEncoding: "u64be",
        store: "file",
        backend: "sqlite",
        input: "arrow-ipc file",
        memoryBudgetMb: budgetMb,
      },
      rawInsert: { rows: raw.rows, ms: Math.round(raw.ms), rowsPerSecond: Math.round(raw.rowsPerSecond) },
      ceilingRowsPerSecond: Math.round(ceiling),
      build: {
        totalMs: Math.round(report.totalMs),
        shardingMs: Math.round(report.shardingMs),
        writeMs: Math.round(report.writeMs),
        manifestMs: Math.round(report.manifestMs),
        rowsPerSecond: Math.round(rowsPerSecond),
        rowsWritten: report.rowsWritten,
        winners: report.winners,
        dbBytes: report.dbBytes,
        peakRssBytes: report.peakRssBytes,
        cpuMs: Math.round(report.cpuMs),
        rowsPerCpuSecond: Math.round(rowsPerCpuSecond),
      },
      ratioOfCeiling: Number(ratio.toFixed(3)),
      goals: { ratioOfCeiling: 0.75, peakRssBytes: 1024 ** 3 },
      met: { ratio: ratio >= 0.75, rss: report.peakRssBytes <= 1024 ** 3 },
    };
    const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
    const table: [string, string][] = [
      ["rows", fmt(rows)],
      ["shards / writer threads / cores", `${shards} / ${workers} / ${cores}`],
      ["raw insert, 1 core (rows/s)", fmt(raw.rowsPerSecond)],
      [`ceiling = ${cores} x raw (rows/s)`, fmt(ceiling)],
      ["build end to end (rows/s)", fmt(rowsPerSecond)],
      ["  of the ceiling", `${(ratio * 100).toFixed(1)} %  (goal >= 75 %)`],
      [
        "  total / read+route / write / publish (ms)",
        `${fmt(report.totalMs)} / ${fmt(report.shardingMs)} / ${fmt(report.writeMs)} / ${fmt(report.manifestMs)}`,
      ],
      [
        "CPU, all threads (ms) / rows per CPU-second",
        `${fmt(report.cpuMs)} / ${fmt(rowsPerCpuSecond)}  (${((100 * rowsPerCpuSecond) / raw.rowsPerSecond).toFixed(1)} % of raw)`,
      ],
      [
        "peak RSS of the build process",
        `${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB  (goal <= 1024 MiB)`,
      ],
      ["rows written / winners", `${fmt(report.rowsWritten)} / ${report.winners}`],
    ];
    const width = Math.max(...table.map(([k]) => k.length));
    console.log(table.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n"));
    mkdirSync(path.join(ROOT, "bench-results"), { recursive: true });
    writeFileSync(path.join(ROOT, "bench-results", "build.json"), `${JSON.stringify(results, null, 2)}\n`);
    console.error(`wrote bench-results/build.json`);
  } finally {
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }
}

if (args.child) await child(JSON.parse(args.child));
else await main();
