/** Shared fixtures for the SlateDB tests: seeded data, temp dirs, and the oracle processes. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../../..");
export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(next: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

export function u64be(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export function compare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.length),
    Buffer.from(b.buffer, b.byteOffset, b.length),
  );
}

/** Sorts rows by key and drops repeated keys (first kept). */
export function sortUnique(rows: [Uint8Array, Uint8Array][]): [Uint8Array, Uint8Array][] {
  rows.sort((x, y) => compare(x[0], y[0]));
  return rows.filter((r, i) => i === 0 || compare(rows[i - 1]![0], r[0]) !== 0);
}

/**
 * A mixed key set: binary (with 0x00/0xff bytes), UTF-8 (multi-byte) and u64be keys; values from
 * empty to `maxValue` bytes (one of them exactly `maxValue`).
 */
export function mixedRows(seed: number, count: number, maxValue = 1 << 20): [Uint8Array, Uint8Array][] {
  const next = rng(seed);
  const rows: [Uint8Array, Uint8Array][] = [];
  const words = ["ключ", "鍵", "clé", "κλειδί", "🔑", "key"];
  for (let i = 0; i < count; i++) {
    let key: Uint8Array;
    switch (i % 3) {
      case 0:
        key = randomBytes(next, 1 + Math.floor(next() * 24));
        break;
      case 1:
        key = enc.encode(`${words[i % words.length]}/${i}/${Math.floor(next() * 1e6)}`);
        break;
      default:
        key = u64be(BigInt(Math.floor(next() * 2 ** 53)) * 2048n + BigInt(i));
    }
    const r = next();
    const len = r < 0.05 ? 0 : r < 0.9 ? Math.floor(next() * 100) : Math.floor(next() * 5000);
    rows.push([key, randomBytes(next, len)]);
  }
  rows.push([new Uint8Array([0xff, 0x00, 0x01]), new Uint8Array(0)]);
  rows.push([new Uint8Array([0x00]), randomBytes(next, maxValue)]);
  rows.push([new Uint8Array(65_535).fill(0x7e), enc.encode("longest key")]);
  return sortUnique(rows);
}

export async function tempDir(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `shardy-slatedb-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export interface ProcResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(cmd: string[], options: { env?: Record<string, string>; stdin?: string } = {}) {
  const proc = Bun.spawn(cmd, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr } satisfies ProcResult;
}

export const VENV_PYTHON = join(REPO_ROOT, ".venv/bin/python");
export const PY_ORACLE = join(REPO_ROOT, "test/python/slatedb_oracle.py");

/**
 * Runs the Python SlateDB oracle (`test/python/slatedb_oracle.py`) with a JSON request on stdin
 * and returns its JSON answer. Fails with instructions when the venv or `slatedb` is missing.
 */
export async function pythonOracle<T>(request: unknown, env: Record<string, string> = {}): Promise<T> {
  if (!(await Bun.file(VENV_PYTHON).exists())) {
    throw new Error(
      `${VENV_PYTHON} is missing: run \`bash scripts/setup\` (or create .venv and pip install -r requirements-dev.txt)`,
    );
  }
  const r = await run([VENV_PYTHON, PY_ORACLE], { stdin: JSON.stringify(request), env });
  if (r.code !== 0) {
    throw new Error(`python SlateDB oracle failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  }
  return JSON.parse(r.stdout) as T;
}

export function listFiles(dir: string): string[] {
  const glob = new Bun.Glob("**/*");
  return Array.from(glob.scanSync({ cwd: dir, onlyFiles: true })).sort();
}

export const NODE_ORACLE = join(REPO_ROOT, "packages/slatedb/test/node-oracle.mjs");

/** Runs the official Node binding (`@slatedb/uniffi` 0.12.1) under `node` with a JSON request. */
export async function nodeOracle<T>(request: unknown): Promise<T> {
  const r = await run(["node", NODE_ORACLE], { stdin: JSON.stringify(request) });
  if (r.code !== 0) {
    throw new Error(
      `node SlateDB oracle (@slatedb/uniffi 0.12.1) failed (exit ${r.code}); is it installed (bun install)?\n${r.stderr}\n${r.stdout}`,
    );
  }
  return JSON.parse(r.stdout) as T;
}

export interface OracleRead {
  values: (string | null)[];
  scan: [string, string][] | null;
  prefix_rows: [string, string][] | null;
}

export function sha256(b: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(b).digest("hex");
}
