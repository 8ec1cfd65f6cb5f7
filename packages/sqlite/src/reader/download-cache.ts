/**
 * The download reader's local cache (reference-format §2, §10): one verified copy of shard.db per
 * (db_url, checkpoint id) under `local_root/shard=NNNNN/<identity hash>/`, published by an atomic
 * rename of a fully written and checked temp file, so a reader never opens a partial file.
 */
import { DbAdapterError, ShardyError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import { createChecksum, parseChecksum } from "../checksum.ts";
import { parseDbHeader } from "../format/header.ts";
import { joinPath, type LocalFs, processId } from "../util/local-fs.ts";
import { DB_FILENAME, shardObjectKey } from "../util/urls.ts";

export const IDENTITY_FILENAME = "shard.identity.json";
const DOWNLOAD_CHUNK = 8 * 1024 * 1024;

export interface CacheIdentity {
  dbUrl: string;
  checkpointId: string | null;
}

export interface DownloadOptions {
  store: ObjectStore;
  dbUrl: string;
  dbId: number;
  checkpointId?: string | null;
  localRoot: string;
  /** `"xxh3_128:<hex>"` / `"sha256:<hex>"` from the manifest's `custom.shard_checksums`. */
  expectedChecksum?: string;
  /** `db_bytes` from the manifest. */
  expectedBytes?: number;
  fs: LocalFs;
  signal?: AbortSignal;
}

export interface CachedShard {
  path: string;
  /** True when this call downloaded the file, false when a verified copy was already cached. */
  downloaded: boolean;
  /** Downloads performed (2 means the first copy failed verification). */
  attempts: number;
}

/** The identity JSON the reference writes (`json.dumps(..., sort_keys=True)`). */
export function identityJson(identity: CacheIdentity): string {
  return `{"checkpoint_id": ${JSON.stringify(identity.checkpointId)}, "db_url": ${JSON.stringify(identity.dbUrl)}}`;
}

async function identityDirName(json: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(json)));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

const inflight = new Map<string, Promise<CachedShard>>();

/** Returns a verified local copy of the shard, downloading it at most twice. */
export function ensureCachedShard(options: DownloadOptions): Promise<CachedShard> {
  const json = identityJson({ dbUrl: options.dbUrl, checkpointId: options.checkpointId ?? null });
  const shardDir = joinPath(options.localRoot, `shard=${String(options.dbId).padStart(5, "0")}`);
  // One download per identity per process, however many readers open it at once. Looked up before
  // any await, so opens started together always share it (the directory name needs a digest).
  const key = `${shardDir}\n${json}`;
  let pending = inflight.get(key);
  if (!pending) {
    pending = identityDirName(json)
      .then((name) => fetchIntoCache(options, shardDir, joinPath(shardDir, name), json))
      .finally(() => inflight.delete(key));
    inflight.set(key, pending);
  }
  return pending;
}

async function fetchIntoCache(
  options: DownloadOptions,
  shardDir: string,
  dir: string,
  json: string,
): Promise<CachedShard> {
  const { fs } = options;
  const path = joinPath(dir, DB_FILENAME);
  const identityPath = joinPath(dir, IDENTITY_FILENAME);
  if (fs.existsSync(path) && fs.existsSync(identityPath) && fs.readFileSync(identityPath, "utf8") === json) {
    return { path, downloaded: false, attempts: 0 };
  }
  fs.mkdirSync(dir, { recursive: true });
  let lastProblem = "";
  for (let attempt = 1; attempt <= 2; attempt++) {
    const tmp = `${path}.tmp.${processId()}.${Math.random().toString(36).slice(2, 10)}`;
    try {
      const problem = await downloadTo(options, tmp);
      if (problem === undefined) {
        fs.renameSync(tmp, path);
        const tmpIdentity = `${identityPath}.tmp.${processId()}`;
        fs.writeFileSync(tmpIdentity, json);
        fs.renameSync(tmpIdentity, identityPath);
        evictOtherIdentities(fs, shardDir, dir);
        return { path, downloaded: true, attempts: attempt };
      }
      lastProblem = problem;
    } catch (err) {
      if (err instanceof ShardyError && !err.retryable) throw err;
      lastProblem = (err as Error).message;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  throw new DbAdapterError(
    `shard ${options.dbUrl} failed verification twice (${lastProblem}); the object in the store is damaged or ` +
      "does not match the manifest: rebuild the shard or fix the manifest",
  );
}

/** Downloads into `tmp`; returns a description of what is wrong with the copy, or undefined. */
async function downloadTo(options: DownloadOptions, tmp: string): Promise<string | undefined> {
  const { store, fs, signal } = options;
  const key = shardObjectKey(store, options.dbUrl, DB_FILENAME);
  const head = await store.head(key, { signal });
  if (!head) {
    throw new DbAdapterError(
      `shard object ${key} does not exist in ${store.baseUrl}; the manifest points at a missing shard`,
    );
  }
  const expected = options.expectedChecksum ? parseChecksum(options.expectedChecksum) : undefined;
  const checksum = await createChecksum(expected?.algorithm);
  const fd = fs.openSync(tmp, "w");
  let received = 0;
  let first: Uint8Array | undefined;
  try {
    for (let pos = 0; pos < head.size; pos += DOWNLOAD_CHUNK) {
      const end = Math.min(head.size, pos + DOWNLOAD_CHUNK);
      const chunk = await store.getRange(key, { start: pos, end }, { signal });
      if (chunk.length === 0) break;
      first ??= chunk;
      checksum.update(chunk);
      let done = 0;
      while (done < chunk.length) done += fs.writeSync(fd, chunk, done, chunk.length - done, received + done);
      received += chunk.length;
      if (chunk.length < end - pos) break; // short read: the object is shorter than HEAD said
    }
  } finally {
    fs.closeSync(fd);
  }
  if (received !== head.size) return `received ${received} of ${head.size} bytes (truncated)`;
  if (options.expectedBytes !== undefined && received !== options.expectedBytes) {
    return `object is ${received} bytes, the manifest's db_bytes is ${options.expectedBytes}`;
  }
  const digest = checksum.digest();
  if (expected && digest !== options.expectedChecksum) {
    return `checksum ${digest} does not match the manifest's ${options.expectedChecksum}`;
  }
  if (!first) return "object is empty";
  try {
    const header = parseDbHeader(first, key);
    if (received % header.pageSize !== 0)
      return `size ${received} is not a multiple of the page size ${header.pageSize}`;
    if (header.pageCount !== undefined && header.pageCount * header.pageSize !== received) {
      return `header says ${header.pageCount} pages of ${header.pageSize} bytes, the object has ${received} bytes (truncated)`;
    }
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** Drops cached copies of older identities of this shard (best effort: a reader may still map one). */
function evictOtherIdentities(fs: LocalFs, shardDir: string, keep: string): void {
  try {
    for (const name of fs.readdirSync(shardDir)) {
      const other = joinPath(shardDir, name);
      if (other !== keep && /^[0-9a-f]{16}$/.test(name)) fs.rmSync(other, { recursive: true, force: true });
    }
  } catch {
    // Eviction is an optimisation; the new copy is already in place.
  }
}
