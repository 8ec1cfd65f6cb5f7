/**
 * Routing throughput: the WASM kernel's routeBatch over Arrow columns against per-key hashing
 * from JS (canonical bytes + XXH3-64 + modulo per key), measured in the same run.
 *
 *   bun scripts/bench/routing.ts [--rows N] [--runs R] [--num-dbs D]
 *
 * Prints a table and writes bench-results/routing.json. Key generation is outside the timings;
 * per-key paths are timed on the first min(N, 1M) keys (their cost per key does not depend on N).
 */
import { parseArgs } from "node:util";
import { xxh3 as nodeRsXxh3 } from "@node-rs/xxhash";
import { Int64, makeData, Utf8, Vector } from "apache-arrow";
import { createXXHash3 } from "hash-wasm";
import { getKernel, type Kernel } from "../../packages/kernel/src/index.ts";
import { fmtMillions as fmt, makeIntKeys, measureRoundRobin, runtimeName, writeReport } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "10000000" },
    runs: { type: "string", default: "5" },
    "num-dbs": { type: "string", default: "1000" },
  },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const NUM_DBS = Number(args["num-dbs"]);
const PER_KEY_ROWS = Math.min(ROWS, 1_000_000);
if (!Number.isSafeInteger(ROWS) || ROWS < 1 || !Number.isSafeInteger(RUNS) || RUNS < 1) {
  throw new Error(`--rows and --runs must be positive integers, got ${args.rows} and ${args.runs}`);
}

const GOALS = { int64KeysPerSec: 50e6, stringKeysPerSec: 25e6, ratioOverFastestPerKey: 5 };

// ---- data (not timed) ---------------------------------------------------------------------------

/** The i-th 16-byte ASCII string key: `key-` + 12 hex digits. */
const stringKey = (i: number) => `key-${i.toString(16).padStart(12, "0")}`;

/** N 16-byte string keys as Arrow Utf8 buffers, written byte by byte (no JS strings). */
function makeStringColumn(n: number): Vector<Utf8> {
  const data = new Uint8Array(n * 16);
  const offsets = new Int32Array(n + 1);
  const hex = new TextEncoder().encode("0123456789abcdef");
  const prefix = new TextEncoder().encode("key-");
  for (let i = 0; i < n; i++) {
    const at = i * 16;
    data.set(prefix, at);
    let v = i;
    for (let d = 15; d >= 4; d--) {
      data[at + d] = hex[v % 16] as number;
      v = Math.floor(v / 16);
    }
    offsets[i + 1] = at + 16;
  }
  return new Vector([makeData({ type: new Utf8(), length: n, data, valueOffsets: offsets })]);
}

// ---- timing -------------------------------------------------------------------------------------

interface Measurement {
  keyType: "int64" | "string16";
  path: string;
  kind: "kernel" | "per-key";
  rows: number;
  runsMs: number[];
  medianMs: number;
  keysPerSec: number;
}

interface Path {
  keyType: Measurement["keyType"];
  path: string;
  kind: Measurement["kind"];
  rows: number;
  /** Runs the path once over `rows` keys; returns a value that keeps the work observable. */
  run: () => number;
}

function measureAll(paths: Path[], runs: number): Measurement[] {
  return measureRoundRobin(paths, runs).map((t, i) => {
    const p = paths[i] as Path;
    return {
      keyType: p.keyType,
      path: p.path,
      kind: p.kind,
      rows: p.rows,
      runsMs: t.runsMs,
      medianMs: t.medianMs,
      keysPerSec: t.rowsPerSec,
    };
  });
}

// ---- per-key JS paths ---------------------------------------------------------------------------

type Hash64 = (bytes: Uint8Array) => bigint;

async function perKeyHashers(): Promise<[string, Hash64][]> {
  const hw = await createXXHash3(0, 0);
  const digest = new DataView(new ArrayBuffer(8));
  const hashers: [string, Hash64][] = [
    [
      "hash-wasm xxhash3",
      (b) => {
        hw.init();
        hw.update(b);
        const out = hw.digest("binary");
        digest.setUint32(0, new DataView(out.buffer, out.byteOffset).getUint32(0));
        digest.setUint32(4, new DataView(out.buffer, out.byteOffset).getUint32(4));
        return digest.getBigUint64(0);
      },
    ],
    ["@node-rs/xxhash xxh3", (b) => nodeRsXxh3.xxh64(b, 0n)],
  ];
  const bunHash = (
    globalThis as { Bun?: { hash: { xxHash3(data: Uint8Array | string, seed?: bigint): bigint } } }
  ).Bun?.hash;
  if (bunHash) hashers.push(["Bun.hash.xxHash3", (b) => bunHash.xxHash3(b, 0n)]);
  return hashers;
}

/** Per key: bigint -> 8-byte signed LE -> hash -> BigInt modulo. */
function perKeyInts(keys: BigInt64Array, n: number, hash: Hash64, out: Int32Array): number {
  const buf = new Uint8Array(8);
  const view = new DataView(buf.buffer);
  const mod = BigInt(NUM_DBS);
  for (let i = 0; i < n; i++) {
    view.setBigInt64(0, keys[i] as bigint, true);
    out[i] = Number(hash(buf) % mod);
  }
  return out[n - 1] as number;
}

/** Per key: string -> UTF-8 (encodeInto a reused buffer) -> hash -> BigInt modulo. */
function perKeyStrings(keys: string[], hash: Hash64, out: Int32Array): number {
  const buf = new Uint8Array(64);
  const enc = new TextEncoder();
  const mod = BigInt(NUM_DBS);
  for (let i = 0; i < keys.length; i++) {
    const { written } = enc.encodeInto(keys[i] as string, buf);
    out[i] = Number(hash(buf.subarray(0, written)) % mod);
  }
  return out[keys.length - 1] as number;
}

function assertSame(what: string, got: Int32Array, want: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i])
      throw new Error(`${what} disagrees with the kernel at key ${i}: ${got[i]} vs ${want[i]}`);
  }
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const runtime = runtimeName();
  console.log(`routing bench: ${ROWS.toLocaleString()} keys, num_dbs ${NUM_DBS}, ${RUNS} runs, ${runtime}`);
  const kernel: Kernel = await getKernel();
  const intKeys = makeIntKeys(ROWS);
  const intColumn = new Vector([makeData({ type: new Int64(), length: ROWS, data: intKeys })]);
  const stringColumn = makeStringColumn(ROWS);
  const stringSample = Array.from({ length: PER_KEY_ROWS }, (_, i) => stringKey(i));
  // Every path writes shard ids into a preallocated array, as a pipeline reusing buffers would.
  const intIds = new Int32Array(ROWS);
  const strIds = new Int32Array(ROWS);
  const out = new Int32Array(PER_KEY_ROWS);
  const paths: Path[] = [
    {
      keyType: "int64",
      path: "kernel routeBatch (Arrow Int64)",
      kind: "kernel",
      rows: ROWS,
      run: () => kernel.routeBatch(intColumn, NUM_DBS, intIds)[0] as number,
    },
    {
      keyType: "string16",
      path: "kernel routeBatch (Arrow Utf8)",
      kind: "kernel",
      rows: ROWS,
      run: () => kernel.routeBatch(stringColumn, NUM_DBS, strIds)[0] as number,
    },
  ];
  // Kernel ids are the reference every per-key path is checked against before timing.
  kernel.routeBatch(intColumn, NUM_DBS, intIds);
  kernel.routeBatch(stringColumn, NUM_DBS, strIds);
  for (const [name, hash] of await perKeyHashers()) {
    perKeyInts(intKeys, PER_KEY_ROWS, hash, out);
    assertSame(name, out, intIds, PER_KEY_ROWS);
    perKeyStrings(stringSample, hash, out);
    assertSame(name, out, strIds, PER_KEY_ROWS);
    paths.push(
      {
        keyType: "int64",
        path: `per-key ${name}`,
        kind: "per-key",
        rows: PER_KEY_ROWS,
        run: () => perKeyInts(intKeys, PER_KEY_ROWS, hash, out),
      },
      {
        keyType: "string16",
        path: `per-key ${name}`,
        kind: "per-key",
        rows: PER_KEY_ROWS,
        run: () => perKeyStrings(stringSample, hash, out),
      },
    );
  }
  const bun = (globalThis as { Bun?: { hash: { xxHash3(data: string, seed?: bigint): bigint } } }).Bun;
  if (bun) {
    // Bun hashes a string's UTF-8 bytes natively: the cheapest per-key string path there is.
    const mod = BigInt(NUM_DBS);
    const direct = () => {
      for (let i = 0; i < stringSample.length; i++) {
        out[i] = Number(bun.hash.xxHash3(stringSample[i] as string, 0n) % mod);
      }
      return out[0] as number;
    };
    direct();
    assertSame("Bun.hash.xxHash3(string)", out, strIds, PER_KEY_ROWS);
    paths.push({
      keyType: "string16",
      path: "per-key Bun.hash.xxHash3(string)",
      kind: "per-key",
      rows: PER_KEY_ROWS,
      run: direct,
    });
  }
  // The kernel's single-key API (what a reader's get() uses), for reference; not a baseline.
  paths.push({
    keyType: "int64",
    path: "per-key kernel.routeKey (reference)",
    kind: "per-key",
    rows: PER_KEY_ROWS,
    run: () => {
      for (let i = 0; i < PER_KEY_ROWS; i++) out[i] = kernel.routeKey(intKeys[i] as bigint, NUM_DBS);
      return out[0] as number;
    },
  });
  const results = measureAll(paths, RUNS);

  // report
  const summary = (["int64", "string16"] as const).map((keyType) => {
    const rows = results.filter((r) => r.keyType === keyType);
    const k = rows.find((r) => r.kind === "kernel") as Measurement;
    const fastest = rows
      .filter((r) => r.kind === "per-key" && !r.path.includes("(reference)"))
      .reduce((a, b) => (b.keysPerSec > a.keysPerSec ? b : a));
    const goal = keyType === "int64" ? GOALS.int64KeysPerSec : GOALS.stringKeysPerSec;
    return {
      keyType,
      kernelKeysPerSec: k.keysPerSec,
      fastestPerKey: fastest.path,
      fastestPerKeyKeysPerSec: fastest.keysPerSec,
      ratio: k.keysPerSec / fastest.keysPerSec,
      meetsThroughputGoal: k.keysPerSec >= goal,
      meetsRatioGoal: k.keysPerSec / fastest.keysPerSec >= GOALS.ratioOverFastestPerKey,
    };
  });

  console.log("");
  console.log(
    `${"keys".padEnd(9)} ${"path".padEnd(42)} ${"rows".padStart(11)} ${"median ms".padStart(10)} ${"keys/s".padStart(9)}`,
  );
  for (const r of results) {
    console.log(
      `${r.keyType.padEnd(9)} ${r.path.padEnd(42)} ${r.rows.toLocaleString().padStart(11)} ${r.medianMs.toFixed(1).padStart(10)} ${fmt(r.keysPerSec).padStart(9)}`,
    );
  }
  console.log("");
  for (const s of summary) {
    const goal = s.keyType === "int64" ? GOALS.int64KeysPerSec : GOALS.stringKeysPerSec;
    console.log(
      `${s.keyType}: kernel ${fmt(s.kernelKeysPerSec)} keys/s (goal ${fmt(goal)}: ${s.meetsThroughputGoal ? "met" : "NOT met"}), ` +
        `${s.ratio.toFixed(1)}x the fastest per-key path (${s.fastestPerKey}, ${fmt(s.fastestPerKeyKeysPerSec)}; goal ${GOALS.ratioOverFastestPerKey}x: ${s.meetsRatioGoal ? "met" : "NOT met"})`,
    );
  }

  await writeReport("routing", {
    rows: ROWS,
    perKeyRows: PER_KEY_ROWS,
    runs: RUNS,
    numDbs: NUM_DBS,
    goals: GOALS,
    results,
    summary,
  });
}

await main();
