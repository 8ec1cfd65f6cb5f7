/**
 * README demo (interim, until the shard backends and the build pipeline land): generates a key set,
 * routes it through the WASM kernel exactly as a build would, and prints the shard histogram and
 * throughput. Usage: bun scripts/demo.ts [--rows N] [--shards N]
 */
import { getKernel } from "@shardy/kernel";
import { Int64, vectorFromArray } from "apache-arrow";

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

const kernel = await getKernel();
const ids = new BigInt64Array(rows);
for (let i = 0; i < rows; i++) ids[i] = BigInt(i) * 7919n;
const keys = vectorFromArray(ids, new Int64());

const started = performance.now();
const shardIds = kernel.routeBatch(keys, shards);
const ms = performance.now() - started;

const counts = new Array<number>(shards).fill(0);
for (const id of shardIds) counts[id] = (counts[id] ?? 0) + 1;
const expected = rows / shards;
console.log(`routed ${rows.toLocaleString()} int64 keys to ${shards} shards in ${ms.toFixed(1)} ms`);
console.log(
  `(${((rows / ms) * 1000).toExponential(2)} keys/s, xxh3_64 of 8-byte signed LE, mod ${shards})\n`,
);
console.log("shard  rows      deviation");
for (const [db, n] of counts.entries()) {
  const dev = ((n - expected) / expected) * 100;
  const bar = "#".repeat(Math.round((n / expected) * 20));
  console.log(
    `${String(db).padStart(5)}  ${String(n).padEnd(8)}  ${dev >= 0 ? "+" : ""}${dev.toFixed(2)}%  ${bar}`,
  );
}
for (const key of [0n, 42n, 123n]) {
  console.log(`route(${key}) -> shard ${kernel.routeKey(key, shards)}`);
}
