/**
 * HTTP serving benchmark: `wrk` (Debian; installed with apt when missing) on loopback against warm
 * gets of the HTTP server under Bun and under Deno, for a SQLite and a SlateDB snapshot on the
 * local file store. Baseline measured in the same run: the reader's own `get` rate in-process
 * (sequential awaited gets over the same keys). The server and the in-process baseline are pinned
 * to core 0 (`taskset`), wrk to core 1. Every variant runs `--runs` times, interleaved (each
 * round measures all variants once, servers restarted), and the table shows medians. Besides
 * req/s and p50/p99 it reports the server's CPU time per request (from /proc) and the rate one
 * fully available core would sustain, which stays meaningful when other work shares the machine.
 * The headline rows are the default server (no value cache); the value-cache row is labelled.
 * Prints a table and writes bench-results/serve.json.
 *
 *   bun scripts/bench/serve.ts [--rows 200000] [--shards 8] [--duration 10] [--connections 32] [--runs 3]
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { ShardedReader } from "../../packages/reader/src/index.ts";
import { buildSnapshot, ValueSpec } from "../../packages/writer/src/index.ts";

const ROOT = path.resolve(import.meta.dir, "../..");

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

const ROWS = flag("rows", 200_000);
const SHARDS = flag("shards", 8);
const DURATION = flag("duration", 10);
const CONNECTIONS = flag("connections", 32);
const RUNS = Math.floor(flag("runs", 3));
/** Core 0 runs what is measured (server, in-process reader), core 1 the load generator. */
const SERVER_CORE = "0";
const LOAD_CORE = "1";
/** Keys requested, spread over the whole key space (every shard), all warmed first. */
const KEYSET = Math.min(ROWS, 10_000);

function ensureWrk(): string {
  const found = spawnSync("bash", ["-c", "command -v wrk"], { encoding: "utf8" }).stdout.trim();
  if (found) return found;
  console.error("wrk not found: installing Debian's wrk with apt");
  const r = spawnSync("bash", ["-c", `source "${ROOT}/scripts/lib.sh"; apt_install wrk`], {
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error("could not install wrk (apt-get install wrk)");
  return "wrk";
}

function ensureTaskset(): void {
  if (spawnSync("taskset", ["-c", SERVER_CORE, "true"]).status !== 0) {
    throw new Error(`taskset cannot pin to core ${SERVER_CORE} (util-linux, and a machine with 2 cores)`);
  }
}

/** Pins this process (every thread) to the server core, so the in-process baseline runs there too. */
function pinSelf(): void {
  const r = spawnSync("taskset", ["-a", "-p", "-c", SERVER_CORE, String(process.pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`taskset -p failed: ${r.stderr}`);
}

function keyAt(i: number): number {
  // A fixed stride walks the key space so consecutive requests hit different shards.
  return (i * 7919) % ROWS;
}

async function buildSnapshots(dir: string): Promise<Record<"sqlite" | "slatedb", string>> {
  const input = path.join(dir, "rows.ndjson");
  let text = "";
  for (let i = 0; i < ROWS; i++) text += `{"id":${i},"name":"user-${i}","score":${(i * 7919) % 1000}}\n`;
  writeFileSync(input, text);
  const out = { sqlite: "", slatedb: "" };
  for (const backend of ["sqlite", "slatedb"] as const) {
    const prefix = path.join(dir, backend);
    const t = performance.now();
    await buildSnapshot({
      inputs: [input],
      config: {
        s3_prefix: `file://${prefix}`,
        num_dbs: SHARDS,
        key_encoding: "u64be",
        adapter_factory: { kind: backend },
      },
      input: { key_col: "id", value_spec: ValueSpec.jsonCols(["name", "score"]) },
      workers: 0,
    });
    console.error(
      `built the ${backend} snapshot (${ROWS} rows, ${SHARDS} shards) in ${(performance.now() - t).toFixed(0)} ms`,
    );
    out[backend] = path.join(prefix, "_CURRENT");
  }
  return out;
}

interface Rate {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time per request (µs), from /proc: robust when other work shares the machine. */
  cpuUsPerReq?: number;
  /** 1e6 / cpuUsPerReq: requests one fully available core would serve. */
  perCoreCapacity?: number;
}

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** utime + stime of a process, in microseconds. */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // After "pid (comm) ", utime and stime are the 12th and 13th fields.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

async function readerRate(currentUrl: string, localRoot: string): Promise<Rate> {
  const reader = await ShardedReader.open({ currentUrl, sqlite: { localRoot } });
  try {
    for (let i = 0; i < KEYSET; i++) await reader.get(BigInt(keyAt(i)));
    const latencies: number[] = [];
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < Math.min(DURATION, 5) * 1000) {
      const t = performance.now();
      const v = await reader.get(BigInt(keyAt(n % KEYSET)));
      latencies.push(performance.now() - t);
      if (v === undefined) throw new Error(`key ${keyAt(n % KEYSET)} not found`);
      n++;
    }
    const elapsed = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    latencies.sort((a, b) => a - b);
    const cpuUsPerReq = (cpu.user + cpu.system) / n;
    return {
      cpuUsPerReq,
      perCoreCapacity: 1e6 / cpuUsPerReq,
      reqPerSec: n / elapsed,
      p50Ms: latencies[Math.floor(latencies.length * 0.5)]!,
      p99Ms: latencies[Math.floor(latencies.length * 0.99)]!,
    };
  } finally {
    await reader.close();
  }
}

function startServer(
  runtime: "bun" | "deno",
  config: string,
): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const deno = JSON.parse(readFileSync(path.join(ROOT, "deno.json"), "utf8")).tasks.serve as string;
  const cmd =
    runtime === "bun"
      ? [process.execPath, "packages/server/src/main.ts"]
      : [path.join(ROOT, ".tools/node_modules/.bin/deno"), ...deno.split(/\s+/).slice(1)];
  const child = spawn("taskset", ["-c", SERVER_CORE, ...cmd, "--config", config], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (c) => {
    err += c;
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
      const m = /"event":"listening","url":"([^"]+)"/.exec(out);
      // Waits for the exit, so a stopping server never shares the core with the next one.
      const stop = () =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once("exit", () => done());
          child.kill("SIGTERM");
        });
      if (m) resolve({ url: m[1]!, pid: child.pid!, stop });
    });
    child.on("exit", (code) => reject(new Error(`${runtime} server exited (${code}): ${err}`)));
  });
}

function runWrk(wrk: string, url: string, snapshot: string, seconds: number, pid?: number): Rate {
  const script = path.join(tmpdir(), `shardy-wrk-${process.pid}.lua`);
  writeFileSync(
    script,
    `local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/v1/${snapshot}/get/" .. ((i % ${KEYSET}) * 7919 % ${ROWS}))
end
`,
  );
  const cpu0 = pid === undefined ? 0 : cpuMicros(pid);
  const r = spawnSync(
    "taskset",
    ["-c", LOAD_CORE, wrk, "-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "-s", script, url],
    { encoding: "utf8" },
  );
  const cpu = pid === undefined ? undefined : cpuMicros(pid) - cpu0;
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const out = r.stdout;
  if (/Non-2xx or 3xx responses: (\d+)/.test(out)) throw new Error(`wrk saw error responses:\n${out}`);
  const ms = (label: string) => {
    const m = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) throw new Error(`no ${label}% latency in wrk output:\n${out}`);
    const v = Number(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`no Requests/sec in wrk output:\n${out}`);
  const total = /(\d+) requests in/.exec(out);
  const rate: Rate = { reqPerSec: Number(rps[1]), p50Ms: ms("50"), p99Ms: ms("99") };
  if (cpu !== undefined && total) {
    rate.cpuUsPerReq = cpu / Number(total[1]);
    rate.perCoreCapacity = 1e6 / rate.cpuUsPerReq;
  }
  return rate;
}

const wrk = ensureWrk();
ensureTaskset();
pinSelf();
const dir = mkdtempSync(path.join(tmpdir(), "shardy-bench-serve-"));
const load = { start: loadavg()[0]!, end: 0 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The median of every field over the runs of one variant (req/s spread kept as min/max). */
function summarize(runner: string, backend: string, runs: Rate[]): Record<string, unknown> {
  const pick = (f: keyof Rate) => {
    const values = runs.map((r) => r[f]).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  const rps = runs.map((r) => r.reqPerSec);
  return {
    runtime: runner,
    backend,
    reqPerSec: pick("reqPerSec"),
    p50Ms: pick("p50Ms"),
    p99Ms: pick("p99Ms"),
    cpuUsPerReq: pick("cpuUsPerReq"),
    perCoreCapacity: pick("perCoreCapacity"),
    reqPerSecMin: Math.min(...rps),
    reqPerSecMax: Math.max(...rps),
    runs,
  };
}

try {
  const currents = await buildSnapshots(dir);
  const config = path.join(dir, "server.json");
  // Default server (no value cache) on both runtimes, then Bun with the optional value cache.
  const variants = [
    { runtime: "bun", cache: 0, backends: ["sqlite", "slatedb"] },
    { runtime: "deno", cache: 0, backends: ["sqlite", "slatedb"] },
    { runtime: "bun", cache: 2 * KEYSET, backends: ["sqlite"] },
  ] as const;
  const measured = new Map<string, { runner: string; backend: string; runs: Rate[] }>();
  const record = (runner: string, backend: string, rate: Rate) => {
    const id = `${runner}|${backend}`;
    if (!measured.has(id)) measured.set(id, { runner, backend, runs: [] });
    measured.get(id)!.runs.push(rate);
  };
  for (let round = 1; round <= RUNS; round++) {
    console.error(`round ${round} of ${RUNS}`);
    for (const backend of ["sqlite", "slatedb"] as const) {
      record(
        "bun (in-process reader)",
        backend,
        await readerRate(currents[backend], path.join(dir, "reader-cache")),
      );
    }
    for (const v of variants) {
      writeFileSync(
        config,
        JSON.stringify({
          port: 0,
          refresh_interval_seconds: 0,
          value_cache_entries: v.cache,
          snapshots: {
            sqlite: {
              current_url: currents.sqlite,
              local_root: path.join(dir, `cache-${v.runtime}-${v.cache}`),
            },
            slatedb: { current_url: currents.slatedb },
          },
        }),
      );
      const server = await startServer(v.runtime, config);
      try {
        for (const backend of v.backends) {
          runWrk(wrk, server.url, backend, 3); // warm: every key of the set, JIT, caches
          const label = `${v.runtime} (HTTP${v.cache ? ", value cache" : ""})`;
          record(label, backend, runWrk(wrk, server.url, backend, DURATION, server.pid));
        }
      } finally {
        await server.stop();
      }
    }
  }
  const results = [...measured.values()].map((m) => summarize(m.runner, m.backend, m.runs));
  load.end = loadavg()[0]!;
  const fmt = (n: number, d = 0) =>
    n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const rows = results.map((r) => [
    String(r.runtime),
    String(r.backend),
    fmt(r.reqPerSec as number),
    `${fmt(r.reqPerSecMin as number)}-${fmt(r.reqPerSecMax as number)}`,
    fmt(r.p50Ms as number, 3),
    fmt(r.p99Ms as number, 3),
    r.cpuUsPerReq === undefined ? "" : fmt(r.cpuUsPerReq as number, 1),
    r.perCoreCapacity === undefined ? "" : fmt(r.perCoreCapacity as number),
  ]);
  const head = [
    "runner",
    "backend",
    "req/s",
    "req/s range",
    "p50 ms",
    "p99 ms",
    "cpu µs/req",
    "req/s per core",
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(
    `\nwarm gets, ${ROWS} rows in ${SHARDS} shards, ${KEYSET} distinct keys, wrk -t1 -c${CONNECTIONS} ` +
      `${DURATION}s, ${cpus().length} cores (server on core ${SERVER_CORE}, wrk on core ${LOAD_CORE}); ` +
      `medians of ${RUNS} interleaved runs`,
  );
  console.log(line(head));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(r));
  console.log(`(1-minute load average: ${load.start.toFixed(2)} at start, ${load.end.toFixed(2)} at end)`);
  mkdirSync(path.join(ROOT, "bench-results"), { recursive: true });
  const json = {
    benchmark: "serve",
    date: new Date().toISOString(),
    rows: ROWS,
    shards: SHARDS,
    distinct_keys: KEYSET,
    duration_s: DURATION,
    connections: CONNECTIONS,
    runs: RUNS,
    cores: cpus().length,
    load_average: load,
    goal: { req_per_s: 40_000, p99_ms: 5, what: "warm SQLite get on one core" },
    results,
  };
  writeFileSync(path.join(ROOT, "bench-results", "serve.json"), `${JSON.stringify(json, null, 2)}\n`);
  console.log("wrote bench-results/serve.json");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
