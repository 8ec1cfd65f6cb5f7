/**
 * README demo: generates a demo dataset (1M rows of NDJSON by default) in a temp dir, builds a
 * sharded snapshot of it on the local file store with a progress bar, then reads it back: a few
 * gets and a multiget, with timings. Usage:
 *   bun scripts/demo.ts [--rows N] [--shards N] [--dir DIR] [--keep]
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ProgressBar } from "@shardy/cli";
import { ShardedReader } from "@shardy/reader";
import { buildSnapshot, ValueSpec } from "@shardy/writer";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
}

const rows = flag("rows", 1_000_000);
const shards = flag("shards", 16);
const dirArg = process.argv.indexOf("--dir");
const keep = process.argv.includes("--keep") || dirArg >= 0;
const dir =
  dirArg >= 0 ? path.resolve(process.argv[dirArg + 1]!) : mkdtempSync(path.join(tmpdir(), "shardy-demo-"));
mkdirSync(dir, { recursive: true });
const ms = (t: number) => `${(performance.now() - t).toFixed(1)} ms`;
const int = (n: number) => n.toLocaleString("en-US");

// 1. The dataset: NDJSON rows {id, name, city, score}, written in 64k-row chunks.
const input = path.join(dir, "users.ndjson");
const cities = ["Lisbon", "Oslo", "Kyoto", "Lima", "Accra", "Perth", "Quito", "Riga"];
let t = performance.now();
const file = Bun.file(input).writer();
for (let start = 0; start < rows; start += 65_536) {
  const end = Math.min(rows, start + 65_536);
  let chunk = "";
  for (let id = start; id < end; id++) {
    chunk += `{"id":${id},"name":"user-${id}","city":"${cities[id % cities.length]}","score":${(id * 7919) % 1000}}\n`;
  }
  file.write(chunk);
}
await file.end();
const inputBytes = Bun.file(input).size;
console.log(
  `1. generated ${int(rows)} rows (${(inputBytes / 1e6).toFixed(1)} MB NDJSON) in ${ms(t)}: ${input}`,
);

// 2. The build: hash-sharded into `shards` SQLite shards on the local file store, published.
const snapshot = path.join(dir, "snapshot");
console.log(`2. building a ${shards}-shard snapshot in ${snapshot}`);
const bar = new ProgressBar({
  write: (s) => process.stderr.write(s),
  tty: Boolean(process.stderr.isTTY),
  intervalMs: 2000,
});
t = performance.now();
const result = await buildSnapshot({
  inputs: [input],
  config: {
    s3_prefix: `file://${snapshot}`,
    num_dbs: shards,
    key_encoding: "u64be",
    adapter_factory: { kind: "sqlite" },
  },
  input: { key_col: "id", value_spec: ValueSpec.jsonCols(["name", "city", "score"]) },
  onProgress: (p) => bar.update(p),
});
bar.finish();
const buildMs = performance.now() - t;
console.log(
  `   published run ${result.runId}: ${int(result.stats.rowsWritten)} rows in ${result.winners.length} shards, ` +
    `${(buildMs / 1000).toFixed(2)} s (${int(Math.round((rows * 1000) / buildMs))} rows/s)`,
);
console.log(`   manifest ${result.manifestRef}`);

// 3. Reads: open the reader (follows _CURRENT), a few gets, then one multiget.
t = performance.now();
const reader = await ShardedReader.open({
  currentUrl: path.join(snapshot, "_CURRENT"),
  sqlite: { localRoot: path.join(dir, "cache") },
});
console.log(
  `3. opened the reader in ${ms(t)} (${reader.snapshotInfo().backend}, ${reader.snapshotInfo().numDbs} shards)`,
);
const text = (v: Uint8Array | undefined) => (v === undefined ? "(not found)" : new TextDecoder().decode(v));
for (const key of [0n, 42n, BigInt(rows - 1), BigInt(rows + 5)]) {
  t = performance.now();
  const value = await reader.get(key);
  console.log(`   get(${key}) -> shard ${reader.routeKey(key)}: ${text(value)}  [${ms(t)}]`);
}
const keys = Array.from({ length: 10_000 }, (_, i) => BigInt((i * 104_729) % rows));
for (const label of ["cold", "warm"]) {
  t = performance.now();
  const values = await reader.multiGet(keys);
  const found = values.filter((v) => v !== undefined).length;
  const multiMs = performance.now() - t;
  console.log(
    `   multiGet(${int(keys.length)} keys, ${label}) -> ${int(found)} found in ${multiMs.toFixed(1)} ms ` +
      `(${int(Math.round((keys.length * 1000) / multiMs))} keys/s)`,
  );
}
await reader.close();

console.log(
  `\nTry the CLI on it:\n  bun run shardy --current-url ${path.join(snapshot, "_CURRENT")} get 42 --value-encoding utf8`,
);
console.log(`  bun run shardy --current-url ${path.join(snapshot, "_CURRENT")} info -o table`);
if (keep) console.log(`(kept ${dir})`);
else {
  rmSync(dir, { recursive: true, force: true });
  console.log("(demo files removed; pass --keep or --dir DIR to keep them)");
}
