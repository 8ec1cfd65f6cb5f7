/** Shared test fixtures: temp dirs, deterministic keys/values, and the three stores. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, MemoryStore, type ObjectStore, S3Store } from "@shardy/store";
import { minioStoreOptions } from "../../store/test/s3-env.ts";

const dirs: string[] = [];

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `shardy-sqlite-${label}-`));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function u64(i: number | bigint): Uint8Array<ArrayBuffer> {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setBigUint64(0, BigInt(i));
  return k;
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function patternBytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Seeded Fisher-Yates shuffle. */
export function shuffled<T>(items: T[], seed: number): T[] {
  const out = items.slice();
  let x = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A value of `size` bytes that encodes its row, so a wrong row can never compare equal. */
export function valueFor(i: number, size = 64): Uint8Array<ArrayBuffer> {
  const v = patternBytes(size, i + 1);
  if (size >= 4) new DataView(v.buffer).setUint32(0, i);
  return v;
}

export interface StoreFixture {
  name: string;
  /** A fresh store plus the URL prefix shard attempts should live under. */
  open(): { store: ObjectStore; prefixUrl: string };
}

let counter = 0;
function uniquePrefix(): string {
  counter++;
  return `t-${Date.now().toString(36)}-${process.pid}-${counter}`;
}

export const memoryFixture: StoreFixture = {
  name: "memory",
  open() {
    const store = new MemoryStore(uniquePrefix());
    return { store, prefixUrl: `${store.baseUrl}/snap` };
  },
};

export const fileFixture: StoreFixture = {
  name: "file",
  open() {
    const store = new FileStore(tempDir("store"), { fsync: false });
    return { store, prefixUrl: `${store.baseUrl}/snap` };
  },
};

/** MinIO from `scripts/minio start`; fails (never skips) with instructions when it is not running. */
export const minioFixture: StoreFixture = {
  name: "s3 (MinIO)",
  open() {
    const store = new S3Store(minioStoreOptions());
    return { store, prefixUrl: `${store.baseUrl}/sqlite-tests/${uniquePrefix()}` };
  },
};

export function attemptUrl(prefixUrl: string, dbId = 0, attempt = 0): string {
  return `${prefixUrl}/shards/run_id=test/db=${String(dbId).padStart(5, "0")}/attempt=${String(attempt).padStart(2, "0")}`;
}
