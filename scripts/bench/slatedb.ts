/**
 * SlateDB backend benchmark (issue 7).
 *
 *   bun scripts/bench/slatedb.ts                       # 1M rows (a few minutes on 2 cores)
 *   bun scripts/bench/slatedb.ts --rows 10000000 [--gets 100000] [--cold 200] [--batch 10000]
 *
 * Writing: u64be keys in order, 64-byte values. Our snapshot writer (SSTs + manifest into a local
 * file store) against the official writer in the same process (`@slatedb/uniffi` 0.12.1, default
 * settings: write batches of --batch rows, filled into the same reused buffers, without waiting for WAL durability, then a memtable
 * flush and shutdown). Reading, on the database our writer produced: warm gets/s of our reader and
 * of the official reader (both pinned to the snapshot's checkpoint, same random keys after a
 * warm-up pass over them), and the ranged requests one cold get costs right after opening a
 * fresh reader. Prints a table and writes bench-results/slatedb.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "@shardy/store";
import { createSlateDbShardWriter, openSlateDbReader } from "../../packages/slatedb/src/index.ts";
import { officialWrite, openOfficialReader } from "../../packages/slatedb/test/official-binding.ts";

interface Args {
  rows: number;
  gets: number;
  cold: number;
  batch: number;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    rows: 1_000_000,
    gets: 100_000,
    cold: 200,
    batch: 10_000,
    out: "bench-results/slatedb.json",
  };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const n = Number(value.replace(/_/g, ""));
    if (flag === "--rows") args.rows = n;
    else if (flag === "--gets") args.gets = n;
    else if (flag === "--cold") args.cold = n;
    else if (flag === "--batch") args.batch = n;
    else if (flag === "--out") args.out = value;
    else throw new Error(`unknown flag ${flag}; see the header of scripts/bench/slatedb.ts`);
  }
  for (const [k, v] of Object.entries(args)) {
    if (k !== "out" && (!Number.isInteger(v) || (v as number) <= 0))
      throw new Error(`--${k} needs a positive integer`);
  }
  return args;
}

function key(i: number): Uint8Array {
  const k = new Uint8Array(8);
  setKey(new DataView(k.buffer), i);
  return k;
}

function setKey(view: DataView, i: number): void {
  view.setUint32(0, Math.floor(i / 0x1_0000_0000));
  view.setUint32(4, i >>> 0);
}

/**
 * Rows `[start, end)` into a reused batch (both writers copy what they are given), so the timing
 * measures the writers rather than allocating 2 x rows buffers.
 */
class BatchFiller {
  readonly rows: [Uint8Array, Uint8Array][];
  private readonly keyViews: DataView[];
  private readonly valueViews: DataView[];

  constructor(size: number) {
    this.rows = Array.from({ length: size }, () => [new Uint8Array(8), new Uint8Array(64).fill(0x61)]);
    this.keyViews = this.rows.map(([k]) => new DataView(k.buffer));
    this.valueViews = this.rows.map(([, v]) => new DataView(v.buffer));
  }

  fill(start: number, end: number): [Uint8Array, Uint8Array][] {
    for (let i = start; i < end; i++) {
      setKey(this.keyViews[i - start]!, i);
      this.valueViews[i - start]!.setUint32(0, i);
    }
    return end - start === this.rows.length ? this.rows : this.rows.slice(0, end - start);
  }
}

/** A seeded stream of row ids (mulberry32). */
function randomIds(n: number, max: number, seed: number): number[] {
  let a = seed >>> 0;
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * max);
  }
  return out;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const f of new Bun.Glob("**/*").scanSync({ cwd: dir, onlyFiles: true }))
    total += Bun.file(join(dir, f)).size;
  return total;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), "shardy-bench-slatedb-"));
  try {
    const ours = join(work, "ours");
    const official = join(work, "official");
    mkdirSync(ours);
    mkdirSync(official);
    const store = new FileStore(ours);

    // --- write: ours
    let t = performance.now();
    const writer = createSlateDbShardWriter({ store, dbPrefix: "db" });
    const filler = new BatchFiller(args.batch);
    for (let start = 0; start < args.rows; start += args.batch) {
      await writer.writeBatch(filler.fill(start, Math.min(args.rows, start + args.batch)));
    }
    const sealed = await writer.seal();
    const oursSeconds = (performance.now() - t) / 1000;

    // --- write: official
    t = performance.now();
    await officialWrite(official, "db", (start, end) => filler.fill(start, end), args.rows, args.batch);
    const officialSeconds = (performance.now() - t) / 1000;

    // --- warm gets
    const ids = randomIds(args.gets, args.rows, 7);
    const keys = ids.map(key);
    const reader = await openSlateDbReader({
      store,
      dbPrefix: "db",
      checkpointId: sealed.checkpointId,
      blockCacheBytes: 1 << 30,
    });
    for (const k of keys) await reader.get(k);
    t = performance.now();
    let found = 0;
    for (const k of keys) if ((await reader.get(k)) !== undefined) found++;
    const oursWarm = args.gets / ((performance.now() - t) / 1000);
    if (found !== args.gets) throw new Error(`our reader found ${found} of ${args.gets} keys`);
    t = performance.now();
    const multi = await reader.multiGet(keys);
    const oursMulti = args.gets / ((performance.now() - t) / 1000);
    if (multi.some((v) => v === undefined)) throw new Error("our multiGet missed keys");
    await reader.close();

    const off = await openOfficialReader(ours, "db", sealed.checkpointId);
    for (const k of keys) await off.get(k);
    t = performance.now();
    found = 0;
    for (const k of keys) if ((await off.get(k)) !== undefined) found++;
    const officialWarm = args.gets / ((performance.now() - t) / 1000);
    await off.close();
    if (found !== args.gets) throw new Error(`the official reader found ${found} of ${args.gets} keys`);

    // --- cold gets: one get on a freshly opened reader
    let coldReads = 0;
    let coldBytes = 0;
    let coldMax = 0;
    for (const id of randomIds(args.cold, args.rows, 11)) {
      const r = await openSlateDbReader({ store, dbPrefix: "db", checkpointId: sealed.checkpointId });
      if ((await r.get(key(id))) === undefined) throw new Error(`cold get missed key ${id}`);
      const s = r.stats();
      coldReads += s.rangeReads;
      coldBytes += s.bytesRead;
      coldMax = Math.max(coldMax, s.rangeReads);
      await r.close();
    }

    const result = {
      rows: args.rows,
      value_bytes: 64,
      key_encoding: "u64be",
      write: {
        ours: {
          seconds: oursSeconds,
          rows_per_s: args.rows / oursSeconds,
          db_bytes: sealed.dbBytes,
          ssts: sealed.sstCount,
        },
        official: {
          seconds: officialSeconds,
          rows_per_s: args.rows / officialSeconds,
          db_bytes: dirBytes(official),
          binding: "@slatedb/uniffi 0.12.1",
          batch_rows: args.batch,
        },
        speedup: officialSeconds / oursSeconds,
      },
      warm_gets: {
        gets: args.gets,
        ours_per_s: oursWarm,
        ours_multiget_per_s: oursMulti,
        official_per_s: officialWarm,
        ratio: oursWarm / officialWarm,
      },
      cold_get: {
        samples: args.cold,
        range_requests_mean: coldReads / args.cold,
        range_requests_max: coldMax,
        bytes_mean: coldBytes / args.cold,
      },
      runtime: `bun ${Bun.version}`,
      date: new Date().toISOString(),
    };

    const rowsOut: [string, string, string][] = [
      ["write rows/s", fmt(result.write.ours.rows_per_s), fmt(result.write.official.rows_per_s)],
      ["write seconds", oursSeconds.toFixed(2), officialSeconds.toFixed(2)],
      ["db bytes", fmt(result.write.ours.db_bytes), fmt(result.write.official.db_bytes)],
      ["warm gets/s", fmt(oursWarm), fmt(officialWarm)],
      ["warm multiGet keys/s", fmt(oursMulti), "-"],
      [
        "cold get: range requests (mean / max)",
        `${result.cold_get.range_requests_mean.toFixed(2)} / ${coldMax}`,
        "-",
      ],
      ["cold get: bytes read (mean)", fmt(result.cold_get.bytes_mean), "-"],
    ];
    console.log(`SlateDB backend, ${fmt(args.rows)} rows (u64be keys, 64-byte values)`);
    console.log(`${"".padEnd(40)}${"ours".padStart(16)}${"official 0.12.1".padStart(18)}`);
    for (const [name, a, b] of rowsOut) console.log(`${name.padEnd(40)}${a.padStart(16)}${b.padStart(18)}`);
    console.log(
      `write speedup: ${result.write.speedup.toFixed(1)}x (goal >= 5x); warm gets ratio ${result.warm_gets.ratio.toFixed(2)}x`,
    );
    mkdirSync("bench-results", { recursive: true });
    writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${args.out}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
