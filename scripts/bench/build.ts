/**
 * Build benchmark (issue 5, item 7): `--rows` rows (u64be keys, 64-byte values) from an Arrow IPC
 * file, 16 shards, local file store, SQLite, through `buildSnapshot` with worker threads.
 * Measures end-to-end rows/s and peak RSS (the build runs in a child process so its VmHWM is its
 * own), against a ceiling measured in the same run: cores x the raw single-core SQLite insert
 * rate (pre-encoded, key-ordered pairs, reference pragmas, one transaction, no pipeline at all).
 * Prints a table and writes bench-results/build.json.
 *
 * Each of `--runs` rounds (default 3) calibrates the ceiling and then builds; the headline is the
 * median round's share of its own ceiling.
 *
 *   bun scripts/bench/build.ts                 # 2M rows
 *   bun scripts/bench/build.ts --rows 10000000 # the size
 *   bun scripts/bench/build.ts --rows 10000000 --key-order shuffled  # rows not in key order
 */
import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
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
import { median } from "./lib.ts";

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
    runs: { type: "string", default: "3" },
    "key-order": { type: "string", default: "sorted" },
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

/**
 * Key of row `i`: the row number (`sorted`), or a fixed permutation of 0..rows-1 (`shuffled`:
 * multiplying by a number coprime to `rows` visits every key once, in scattered order).
 */
function keyOf(i: number, rows: number, order: KeyOrder): bigint {
  if (order === "sorted") return BigInt(i);
  return (BigInt(i) * SHUFFLE_MULTIPLIER) % BigInt(rows);
}

type KeyOrder = "sorted" | "shuffled";
/** A prime: coprime to every row count it does not divide. */
const SHUFFLE_MULTIPLIER = 2_654_435_761n;

function makeInputBatch(
  schema: Schema,
  start: number,
  n: number,
  rows: number,
  order: KeyOrder,
): RecordBatch {
  const ids = new BigInt64Array(n);
  const data = new Uint8Array(n * VALUE_BYTES);
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    ids[i] = keyOf(start + i, rows, order);
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
async function generateInput(file: string, rows: number, order: KeyOrder): Promise<void> {
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
    writer.write(makeInputBatch(schema, start, n, rows, order));
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

/** Runs one build in a child process (so its VmHWM is its own) and returns its report. */
async function buildInChild(spec: Parameters<typeof child>[0]): Promise<ChildReport> {
  rmSync(spec.out, { recursive: true, force: true });
  mkdirSync(spec.out, { recursive: true });
  const proc = Bun.spawn([process.execPath, import.meta.path, "--child", JSON.stringify(spec)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const stdout = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`the build process failed (exit ${proc.exitCode})`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as ChildReport;
}

interface Round {
  rawRowsPerSecond: number;
  ceiling: number;
  report: ChildReport;
  rowsPerSecond: number;
  ratio: number;
  /** Rows per CPU-second of the build against the raw single-core rate. */
  cpuRatio: number;
}

async function main() {
  const rows = Number(args.rows);
  const shards = Number(args.shards);
  const runs = Math.max(1, Number(args.runs));
  const keyOrder = args["key-order"] as KeyOrder;
  if (keyOrder !== "sorted" && keyOrder !== "shuffled") {
    throw new Error(`--key-order must be sorted or shuffled, got ${JSON.stringify(args["key-order"])}`);
  }
  if (keyOrder === "shuffled" && BigInt(rows) % SHUFFLE_MULTIPLIER === 0n) {
    throw new Error(`--rows ${rows} is a multiple of the shuffle multiplier; pick another row count`);
  }
  const cores = availableParallelism();
  const workers = args.workers === undefined ? cores : Number(args.workers);
  const budgetMb = Number(args["memory-budget-mb"]);
  const calibrationRows = Math.min(Number(args["calibration-rows"]), rows);
  const dir = mkdtempSync(path.join(tmpdir(), "shardy-bench-build-"));
  try {
    const input = path.join(dir, "input.arrow");
    console.error(`generating ${rows.toLocaleString()} rows into ${input} ...`);
    const t = performance.now();
    await generateInput(input, rows, keyOrder);
    console.error(
      `  ${(statSync(input).size / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    // Each round calibrates the ceiling right before its build, so load from other processes
    // moves both alike; the headline is the median round.
    const rounds: Round[] = [];
    for (let r = 1; r <= runs; r++) {
      console.error(
        `round ${r}/${runs}: raw single-core insert rate (${calibrationRows.toLocaleString()} rows) ...`,
      );
      const raw = measureRawInsert(dir, calibrationRows);
      console.error(
        `round ${r}/${runs}: build, ${shards} shards, ${workers} writer threads, file store, SQLite ...`,
      );
      const report = await buildInChild({
        input,
        out: path.join(dir, "snapshot"),
        shards,
        workers,
        budgetMb,
      });
      const rowsPerSecond = (report.rows * 1000) / report.totalMs;
      const ceiling = raw.rowsPerSecond * cores;
      rounds.push({
        rawRowsPerSecond: raw.rowsPerSecond,
        ceiling,
        report,
        rowsPerSecond,
        ratio: rowsPerSecond / ceiling,
        cpuRatio: (report.rows * 1000) / report.cpuMs / raw.rowsPerSecond,
      });
      console.error(`  ${(100 * (rowsPerSecond / ceiling)).toFixed(1)} % of the ceiling`);
    }
    const med = (f: (r: Round) => number) => median(rounds.map(f));
    const ratio = med((r) => r.ratio);
    const peakRss = Math.max(...rounds.map((r) => r.report.peakRssBytes));
    const last = rounds.at(-1)!.report;

    const results = {
      benchmark: "build",
      date: new Date().toISOString(),
      machine: { cores, bun: Bun.version, loadAverage: loadavg() },
      config: {
        rows,
        shards,
        workers,
        runs,
        valueBytes: VALUE_BYTES,
        keyEncoding: "u64be",
        store: "file",
        backend: "sqlite",
        input: "arrow-ipc file",
        keyOrder,
        memoryBudgetMb: budgetMb,
      },
      rounds: rounds.map((r) => ({
        rawRowsPerSecond: Math.round(r.rawRowsPerSecond),
        ceilingRowsPerSecond: Math.round(r.ceiling),
        rowsPerSecond: Math.round(r.rowsPerSecond),
        ratioOfCeiling: Number(r.ratio.toFixed(3)),
        totalMs: Math.round(r.report.totalMs),
        shardingMs: Math.round(r.report.shardingMs),
        writeMs: Math.round(r.report.writeMs),
        manifestMs: Math.round(r.report.manifestMs),
        cpuMs: Math.round(r.report.cpuMs),
        peakRssBytes: r.report.peakRssBytes,
      })),
      median: {
        rawRowsPerSecond: Math.round(med((r) => r.rawRowsPerSecond)),
        ceilingRowsPerSecond: Math.round(med((r) => r.ceiling)),
        rowsPerSecond: Math.round(med((r) => r.rowsPerSecond)),
        ratioOfCeiling: Number(ratio.toFixed(3)),
        cpuMs: Math.round(med((r) => r.report.cpuMs)),
        cpuRatioOfRaw: Number(med((r) => r.cpuRatio).toFixed(3)),
      },
      peakRssBytes: peakRss,
      rowsWritten: last.rowsWritten,
      winners: last.winners,
      dbBytes: last.dbBytes,
      goals: { ratioOfCeiling: 0.75, peakRssBytes: 1024 ** 3 },
      met: { ratio: ratio >= 0.75, rss: peakRss <= 1024 ** 3 },
    };
    const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    const header = [
      "round",
      "raw 1-core rows/s",
      "ceiling rows/s",
      "build rows/s",
      "of ceiling",
      "total / read+route / write / publish ms",
      "CPU ms",
      "peak RSS",
    ];
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    const table = [
      line(header),
      line(header.map(() => "---")),
      ...rounds.map((r, i) =>
        line([
          String(i + 1),
          fmt(r.rawRowsPerSecond),
          fmt(r.ceiling),
          fmt(r.rowsPerSecond),
          pct(r.ratio),
          `${fmt(r.report.totalMs)} / ${fmt(r.report.shardingMs)} / ${fmt(r.report.writeMs)} / ${fmt(r.report.manifestMs)}`,
          fmt(r.report.cpuMs),
          `${(r.report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
        ]),
      ),
      line([
        "**median**",
        fmt(results.median.rawRowsPerSecond),
        fmt(results.median.ceilingRowsPerSecond),
        fmt(results.median.rowsPerSecond),
        `**${pct(ratio)}** (goal >= 75 %)`,
        "",
        fmt(results.median.cpuMs),
        `max ${(peakRss / 2 ** 20).toFixed(0)} MiB (goal <= 1024)`,
      ]),
    ];
    console.log(
      `${fmt(rows)} rows (keys ${keyOrder}), ${shards} shards, ${workers} writer threads on ${cores} cores; ceiling = ${cores} x raw 1-core insert`,
    );
    console.log(table.join("\n"));
    console.log(
      `rows per CPU-second: ${pct(results.median.cpuRatioOfRaw)} of the raw 1-core rate (median); load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}`,
    );
    mkdirSync(path.join(ROOT, "bench-results"), { recursive: true });
    const name = keyOrder === "sorted" ? "build.json" : "build-shuffled.json";
    writeFileSync(path.join(ROOT, "bench-results", name), `${JSON.stringify(results, null, 2)}\n`);
    console.error(`wrote bench-results/${name}`);
  } finally {
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }
}

if (args.child) await child(JSON.parse(args.child));
else await main();
