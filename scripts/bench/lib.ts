/**
 * Helpers shared by the benchmarks (cel.ts, routing.ts, publish.ts): generated keys, round-robin
 * timing with medians, and the JSON report in bench-results/.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";

/** N pseudo-random int64 keys (xorshift32 halves: fast to make, spread over the whole range). */
export function makeIntKeys(n: number): BigInt64Array {
  const keys = new BigInt64Array(n);
  const halves = new Uint32Array(keys.buffer);
  let x = 0x9e3779b9;
  for (let i = 0; i < halves.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    halves[i] = x >>> 0;
  }
  return keys;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export interface TimedPath {
  rows: number;
  /** Runs the path once over `rows` rows; returns a value that keeps the work observable. */
  run: () => number;
}

export interface Timing {
  runsMs: number[];
  medianMs: number;
  rowsPerSec: number;
}

/**
 * Times every path `runs` times, round-robin (run 1 of every path, then run 2, ...), after one
 * untimed warm-up each, so load from other processes spreads over all paths alike.
 */
export function measureRoundRobin(paths: TimedPath[], runs: number): Timing[] {
  let sink = 0;
  for (const p of paths) sink += p.run();
  const times = paths.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    paths.forEach((p, i) => {
      const t0 = performance.now();
      sink += p.run();
      times[i]?.push(performance.now() - t0);
    });
  }
  if (Number.isNaN(sink)) throw new Error("unreachable: keeps results alive");
  return paths.map((p, i) => {
    const runsMs = times[i] ?? [];
    const medianMs = median(runsMs);
    return { runsMs, medianMs, rowsPerSec: p.rows / (medianMs / 1000) };
  });
}

/** Millions with two decimals: `12.34M`. */
export function fmtMillions(x: number): string {
  return `${(x / 1e6).toFixed(2)}M`;
}

export function runtimeName(): string {
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  return bun ? `bun ${bun.version}` : `node ${process.version}`;
}

/** Writes `bench-results/<name>.json` with the machine and runtime added; prints its path. */
export async function writeReport(name: string, report: Record<string, unknown>): Promise<void> {
  const full = {
    bench: name,
    date: new Date().toISOString(),
    runtime: runtimeName(),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    ...report,
  };
  const dir = new URL("../../bench-results/", import.meta.url);
  await mkdir(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  await writeFile(file, `${JSON.stringify(full, null, 2)}\n`);
  console.log(`\nwrote ${file.pathname}`);
}
