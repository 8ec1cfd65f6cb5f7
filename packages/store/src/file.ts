/**
 * `file:///abs/root`: the embedded default store, one file per object under `root`.
 * Writes go to a hidden temp file in the target directory and are renamed into place (atomic);
 * every mutation of a key runs under that key's lock (in-process mutex + lock file), so
 * conditional puts are compare-and-swap across processes. ETags are content hashes, computed
 * when written and cached by inode so repeated heads do not re-read files.
 */
import { createHash, randomBytes } from "node:crypto";
import { type BigIntStats, type Dirent, constants as fsConstants } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigValidationError, ObjectStoreError, ShardyError } from "@shardy/errors";
import { checkConditions, notFound } from "./conditions.ts";
import { etagFromDigest } from "./etag.ts";
import { acquireFileLock, errCode } from "./file-lock.ts";
import {
  assertValidKey,
  clampRange,
  compareKeys,
  foldListing,
  isUnderSegment,
  normalizeSegmentPrefix,
} from "./keys.ts";
import { KeyedMutex } from "./mutex.ts";
import { type ByteSource, chunksOf } from "./streams.ts";
import type {
  ByteRange,
  GetResult,
  ListOptions,
  ListResult,
  ObjectMeta,
  ObjectStore,
  PutFileOptions,
  PutOptions,
  PutResult,
  StoreCapabilities,
} from "./types.ts";

export interface FileStoreOptions {
  /** fsync each object before renaming it into place (durable across power loss). Default true. */
  fsync?: boolean;
  /** How long a write waits for another writer's lock on the same key. Default 30 s. */
  lockTimeoutMs?: number;
  /** A lock file from another host older than this is considered abandoned. Default 60 s. */
  staleLockMs?: number;
}

/** Names starting with this are the store's own temp and lock files: never listed, never valid keys. */
export const FILE_STORE_RESERVED_PREFIX = ".shardy-";

/** Process-wide, so two stores over the same directory also serialise without polling. */
const keyLocks = new KeyedMutex();

interface CachedEtag {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  etag: string;
}

const ETAG_CACHE_LIMIT = 50_000;

export class FileStore implements ObjectStore {
  readonly baseUrl: string;
  readonly root: string;
  readonly capabilities: StoreCapabilities = { conditionalPut: true, multipart: true };
  readonly #fsync: boolean;
  readonly #lockTimeoutMs: number;
  readonly #staleLockMs: number;
  readonly #etags = new Map<string, CachedEtag>();

  constructor(root: string, options: FileStoreOptions = {}) {
    if (!path.isAbsolute(root)) {
      throw new ConfigValidationError(
        `file store root must be an absolute path, got ${JSON.stringify(root)}; resolve it first (openStore does)`,
        { field: "root" },
      );
    }
    this.root = path.resolve(root);
    this.baseUrl = pathToFileURL(this.root).href;
    this.#fsync = options.fsync ?? true;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
    this.#staleLockMs = options.staleLockMs ?? 60_000;
  }

  async get(key: string, options?: { signal?: AbortSignal }): Promise<GetResult | undefined> {
    const file = this.#pathOf(key);
    options?.signal?.throwIfAborted();
    const handle = await openForRead(file, key);
    if (!handle) return undefined;
    try {
      const stat = await handle.stat({ bigint: true });
      if (!stat.isFile()) return undefined;
      const body = new Uint8Array(await handle.readFile({ signal: options?.signal }));
      const etag = this.#cachedEtag(file, stat) ?? this.#remember(file, stat, hashOf(body));
      return { ...objectMeta(key, stat, etag), body };
    } catch (err) {
      throw wrapFsError(err, "get", key, options?.signal);
    } finally {
      await handle.close();
    }
  }

  async getRange(key: string, range: ByteRange, options?: { signal?: AbortSignal }): Promise<Uint8Array> {
    const file = this.#pathOf(key);
    clampRange(range, 0); // validates before touching the disk
    options?.signal?.throwIfAborted();
    const handle = await openForRead(file, key);
    if (!handle) throw notFound(this.baseUrl, key);
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw notFound(this.baseUrl, key);
      const [start, end] = clampRange(range, stat.size);
      const out = new Uint8Array(end - start);
      let filled = 0;
      while (filled < out.length) {
        options?.signal?.throwIfAborted();
        const { bytesRead } = await handle.read(out, filled, out.length - filled, start + filled);
        if (bytesRead === 0) break; // cannot happen for a renamed-in file; guards a truncation by hand
        filled += bytesRead;
      }
      return filled === out.length ? out : out.slice(0, filled);
    } catch (err) {
      throw wrapFsError(err, "getRange", key, options?.signal);
    } finally {
      await handle.close();
    }
  }

  async head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectMeta | undefined> {
    const file = this.#pathOf(key);
    options?.signal?.throwIfAborted();
    const handle = await openForRead(file, key);
    if (!handle) return undefined;
    try {
      const stat = await handle.stat({ bigint: true });
      if (!stat.isFile()) return undefined;
      return objectMeta(key, stat, await this.#etagOf(file, handle, stat, options?.signal));
    } catch (err) {
      throw wrapFsError(err, "head", key, options?.signal);
    } finally {
      await handle.close();
    }
  }

  async put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult> {
    const file = this.#pathOf(key);
    options?.signal?.throwIfAborted();
    const temp = await this.#writeTemp(file, key, options?.signal, async (handle) => {
      await handle.write(body, 0, body.length, 0);
      return hashOf(body);
    });
    const conditional = options?.ifMatch !== undefined || options?.ifNoneMatch !== undefined;
    return this.#commit(file, key, temp, options?.signal, async () => {
      if (!conditional) return;
      checkConditions(key, await this.#currentEtag(file, key), options);
    });
  }

  async putStream(
    key: string,
    body: ByteSource,
    options?: { contentType?: string; signal?: AbortSignal },
  ): Promise<PutResult> {
    const file = this.#pathOf(key);
    options?.signal?.throwIfAborted();
    const temp = await this.#writeTemp(file, key, options?.signal, async (handle) => {
      const hash = createHash("sha256");
      let position = 0;
      for await (const chunk of chunksOf(body, options?.signal)) {
        hash.update(chunk);
        await handle.write(chunk, 0, chunk.length, position);
        position += chunk.length;
      }
      return etagFromDigest(hash.digest());
    });
    return this.#commit(file, key, temp, options?.signal, async () => {});
  }

  /**
   * Stores the local file `source` as `key` without passing its bytes through JS: `move` renames
   * it into the store (the caller's path is gone after; a copy across filesystems), otherwise the
   * kernel copies it. The ETag is the content hash `put` would give.
   */
  async putFile(key: string, source: string, options?: PutFileOptions): Promise<PutResult> {
    const file = this.#pathOf(key);
    const signal = options?.signal;
    signal?.throwIfAborted();
    const tempPath = tempPathFor(file);
    let handle: fs.FileHandle | undefined;
    let temp: { path: string; stat: BigIntStats; etag: string };
    try {
      await placeFile(source, tempPath, options?.move ?? false);
      handle = await fs.open(tempPath, "r+");
      const etag = await hashOfFile(handle, signal);
      temp = await this.#sealTemp(handle, tempPath, etag);
    } catch (err) {
      await handle?.close().catch(() => {});
      await removeQuietly(tempPath);
      throw wrapFsError(err, "put", key, signal);
    }
    return this.#commit(file, key, temp, signal, async () => {});
  }

  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    options?.signal?.throwIfAborted();
    const slash = prefix.lastIndexOf("/");
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : "";
    // A prefix whose directory part is not a valid key path cannot match any stored key.
    if (dirKey !== "" && !isValidKeyPath(dirKey)) return { objects: [], commonPrefixes: [] };
    const folding = options?.delimiter === "/";
    const objects: ObjectMeta[] = [];
    const commonPrefixes: string[] = [];
    await this.#walk(dirKey, prefix.slice(slash + 1), folding, objects, commonPrefixes, options?.signal);
    objects.sort((a, b) => compareKeys(a.key, b.key));
    if (folding) return { objects, commonPrefixes: commonPrefixes.sort(compareKeys) };
    return foldListing(objects, prefix, options?.delimiter);
  }

  async delete(key: string): Promise<void> {
    const file = this.#pathOf(key);
    await this.#deleteFile(file, key);
    await this.#pruneEmptyDirs(path.dirname(file));
  }

  async deletePrefix(prefix: string, options?: { signal?: AbortSignal }): Promise<number> {
    const segment = normalizeSegmentPrefix(prefix);
    if (!isValidKeyPath(segment)) return 0;
    const listed = await this.list(`${segment}/`, { signal: options?.signal });
    const keys = listed.objects.map((o) => o.key).filter((k) => isUnderSegment(k, segment));
    if (await this.#isFile(this.#pathOf(segment))) keys.unshift(segment);
    let deleted = 0;
    for (const key of keys) {
      options?.signal?.throwIfAborted();
      if (await this.#deleteFile(this.#pathOf(key), key)) deleted++;
    }
    await this.#pruneTree(this.#pathOf(segment));
    await this.#pruneEmptyDirs(path.dirname(this.#pathOf(segment)));
    return deleted;
  }

  /** Maps a key to its file, refusing keys that would escape the root or hit reserved names. */
  #pathOf(key: string): string {
    assertValidKey(key);
    if (!isValidKeyPath(key)) {
      throw new ConfigValidationError(
        `file store cannot hold key ${JSON.stringify(key)}: segments must be non-empty, not "." or "..", ` +
          `and not start with "${FILE_STORE_RESERVED_PREFIX}"; use a plain relative key like "a/b/c"`,
        { field: "key" },
      );
    }
    return path.join(this.root, ...key.split("/"));
  }

  /** Writes a hidden temp file next to `file` via `fill`; returns its path, stat and ETag. */
  async #writeTemp(
    file: string,
    key: string,
    signal: AbortSignal | undefined,
    fill: (handle: fs.FileHandle) => Promise<string>,
  ): Promise<{ path: string; stat: BigIntStats; etag: string }> {
    const temp = tempPathFor(file);
    let handle: fs.FileHandle | undefined;
    try {
      handle = await openCreatingDirs(temp);
      const sealed = await this.#sealTemp(handle, temp, await fill(handle));
      handle = undefined;
      signal?.throwIfAborted();
      return sealed;
    } catch (err) {
      await handle?.close().catch(() => {});
      await removeQuietly(temp);
      throw wrapFsError(err, "put", key, signal);
    }
  }

  /** Makes a filled temp file durable (when configured) and closes it. */
  async #sealTemp(
    handle: fs.FileHandle,
    temp: string,
    etag: string,
  ): Promise<{ path: string; stat: BigIntStats; etag: string }> {
    if (this.#fsync) await handle.datasync();
    const stat = await handle.stat({ bigint: true });
    await handle.close();
    return { path: temp, stat, etag };
  }

  /** Under the key's lock: runs `check`, then renames the temp file over the object. */
  async #commit(
    file: string,
    key: string,
    temp: { path: string; stat: BigIntStats; etag: string },
    signal: AbortSignal | undefined,
    check: () => Promise<void>,
  ): Promise<PutResult> {
    try {
      await this.#withLock(file, signal, async () => {
        await check();
        signal?.throwIfAborted();
        await fs.rename(temp.path, file);
      });
    } catch (err) {
      await removeQuietly(temp.path);
      throw wrapFsError(err, "put", key, signal);
    }
    // Rename keeps the inode, so the temp file's stat identifies the committed object.
    this.#remember(file, temp.stat, temp.etag);
    return { etag: temp.etag };
  }

  async #withLock<T>(file: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    return keyLocks.run(file, async () => {
      const lock = await acquireFileLock(lockPathOf(file), {
        signal,
        timeoutMs: this.#lockTimeoutMs,
        staleMs: this.#staleLockMs,
      });
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    });
  }

  async #currentEtag(file: string, key: string): Promise<{ etag: string } | undefined> {
    const handle = await openForRead(file, key);
    if (!handle) return undefined;
    try {
      const stat = await handle.stat({ bigint: true });
      if (!stat.isFile()) return undefined;
      return { etag: await this.#etagOf(file, handle, stat) };
    } finally {
      await handle.close();
    }
  }

  async #deleteFile(file: string, key: string): Promise<boolean> {
    // Absent: nothing to lock (and no lock file to create in directories that do not exist).
    if (!(await this.#isFile(file))) return false;
    try {
      return await this.#withLock(file, undefined, async () => {
        try {
          await fs.unlink(file);
          this.#etags.delete(file);
          return true;
        } catch (err) {
          if (errCode(err) === "ENOENT" || errCode(err) === "ENOTDIR") return false;
          if (errCode(err) === "EISDIR" || errCode(err) === "EPERM") return false; // a directory is not an object
          throw err;
        }
      });
    } catch (err) {
      throw wrapFsError(err, "delete", key, undefined);
    }
  }

  async #isFile(file: string): Promise<boolean> {
    try {
      return (await fs.stat(file)).isFile();
    } catch {
      return false;
    }
  }

  async #walk(
    dirKey: string,
    namePrefix: string,
    folding: boolean,
    objects: ObjectMeta[],
    commonPrefixes: string[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    signal?.throwIfAborted();
    const dir = dirKey === "" ? this.root : path.join(this.root, ...dirKey.split("/"));
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (errCode(err) === "ENOENT" || errCode(err) === "ENOTDIR") return;
      throw wrapFsError(err, "list", dirKey, signal);
    }
    for (const entry of entries) {
      if (entry.name.startsWith(FILE_STORE_RESERVED_PREFIX) || !entry.name.startsWith(namePrefix)) continue;
      const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!folding) await this.#walk(key, "", false, objects, commonPrefixes, signal);
        else if (await this.#holdsObject(file)) commonPrefixes.push(`${key}/`);
        continue;
      }
      if (!entry.isFile()) continue;
      const meta = await this.#statObject(file, key, signal);
      if (meta) objects.push(meta);
    }
  }

  /** Stat + ETag of a listed file; undefined if it vanished meanwhile. */
  async #statObject(
    file: string,
    key: string,
    signal: AbortSignal | undefined,
  ): Promise<ObjectMeta | undefined> {
    const handle = await openForRead(file, key);
    if (!handle) return undefined;
    try {
      const stat = await handle.stat({ bigint: true });
      return objectMeta(key, stat, await this.#etagOf(file, handle, stat, signal));
    } finally {
      await handle.close();
    }
  }

  /** Whether a directory holds at least one object (temp and lock files do not count). */
  async #holdsObject(dir: string): Promise<boolean> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(FILE_STORE_RESERVED_PREFIX)) continue;
      if (entry.isFile()) return true;
      if (entry.isDirectory() && (await this.#holdsObject(path.join(dir, entry.name)))) return true;
    }
    return false;
  }

  /** Removes empty directories below and including `dir` (best effort). */
  async #pruneTree(dir: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) await this.#pruneTree(path.join(dir, entry.name));
    }
    await fs.rmdir(dir).catch(() => {});
  }

  /** Removes `dir` and its parents while empty, stopping at the root (best effort). */
  async #pruneEmptyDirs(dir: string): Promise<void> {
    let current = dir;
    while (current.startsWith(this.root) && current !== this.root) {
      try {
        await fs.rmdir(current);
      } catch {
        return; // not empty (or already gone): a concurrent writer recreates what it needs
      }
      current = path.dirname(current);
    }
  }

  async #etagOf(
    file: string,
    handle: fs.FileHandle,
    stat: BigIntStats,
    signal?: AbortSignal,
  ): Promise<string> {
    const cached = this.#cachedEtag(file, stat);
    if (cached) return cached;
    const hash = createHash("sha256");
    const buffer = new Uint8Array(1 << 20);
    let position = 0;
    while (true) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    return this.#remember(file, stat, etagFromDigest(hash.digest()));
  }

  #cachedEtag(file: string, stat: BigIntStats): string | undefined {
    const hit = this.#etags.get(file);
    if (hit && hit.ino === stat.ino && hit.size === stat.size && hit.mtimeNs === stat.mtimeNs)
      return hit.etag;
    return undefined;
  }

  #remember(file: string, stat: BigIntStats, etag: string): string {
    if (this.#etags.size >= ETAG_CACHE_LIMIT) this.#etags.clear();
    this.#etags.set(file, { ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs, etag });
    return etag;
  }
}

function isValidKeyPath(key: string): boolean {
  return key
    .split("/")
    .every(
      (s) =>
        s !== "" && s !== "." && s !== ".." && !s.startsWith(FILE_STORE_RESERVED_PREFIX) && !s.includes("\0"),
    );
}

/** Lock file next to the object, named by a hash so long names stay within NAME_MAX. */
export function lockPathOf(file: string): string {
  const digest = createHash("sha256").update(path.basename(file)).digest("hex").slice(0, 24);
  return path.join(path.dirname(file), `${FILE_STORE_RESERVED_PREFIX}lock-${digest}`);
}

function hashOf(body: Uint8Array): string {
  return etagFromDigest(createHash("sha256").update(body).digest());
}

const HASH_READ_BYTES = 1 << 20;

/** `hashOf` the whole file behind `handle`, read through one reused buffer. */
async function hashOfFile(handle: fs.FileHandle, signal: AbortSignal | undefined): Promise<string> {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(HASH_READ_BYTES);
  for (let position = 0; ; ) {
    signal?.throwIfAborted();
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) return etagFromDigest(hash.digest());
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/** A hidden temp name next to `file`. */
function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `${FILE_STORE_RESERVED_PREFIX}tmp-${randomBytes(8).toString("hex")}`);
}

/** Puts `source` at `target` (creating directories): renamed when `move` and on one filesystem, else copied. */
async function placeFile(source: string, target: string, move: boolean): Promise<void> {
  // A missing source is its own error, not a missing directory to create.
  await fs.access(source);
  await inCreatedDirectory(target, async () => {
    if (move) {
      try {
        await fs.rename(source, target);
        return;
      } catch (err) {
        if (errCode(err) !== "EXDEV") throw err;
      }
    }
    await fs.copyFile(source, target, fsConstants.COPYFILE_EXCL);
    if (move) await fs.unlink(source);
  });
}

function objectMeta(key: string, stat: BigIntStats, etag: string): ObjectMeta {
  return { key, size: Number(stat.size), etag, lastModified: new Date(Number(stat.mtimeMs)) };
}

/** Opens for reading; undefined when there is no such object. */
async function openForRead(file: string, key: string): Promise<fs.FileHandle | undefined> {
  try {
    return await fs.open(file, "r");
  } catch (err) {
    const code = errCode(err);
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw wrapFsError(err, "open", key, undefined);
  }
}

async function openCreatingDirs(file: string): Promise<fs.FileHandle> {
  return inCreatedDirectory(file, () => fs.open(file, "wx"));
}

/** Runs `create` (which makes `file`), making `file`'s directory when that fails with ENOENT. */
async function inCreatedDirectory<T>(file: string, create: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      // ENOENT: the directory is missing, or a concurrent delete pruned it after we made it.
      if (errCode(err) !== "ENOENT" || attempt >= 5) throw err;
      await fs.mkdir(path.dirname(file), { recursive: true });
    }
  }
}

/** Turns fs errors into `ObjectStoreError`; aborts and shardy errors pass through unchanged. */
function wrapFsError(err: unknown, op: string, key: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  const code = errCode(err);
  if (err instanceof ShardyError || code === undefined) return err;
  const hint =
    code === "ENOTDIR" || code === "EEXIST" || code === "EISDIR"
      ? ": a file store cannot hold both a key and keys below it (like `a/b` and `a/b/c`)"
      : code === "ENOSPC"
        ? ": the disk is full"
        : code === "EACCES" || code === "EPERM"
          ? ": permission denied; check the store root's ownership"
          : "";
  return new ObjectStoreError(`file store ${op} ${JSON.stringify(key)} failed with ${code}${hint}`, {
    cause: err,
  });
}

/** Best-effort cleanup of our own temp file (it may never have been created). */
async function removeQuietly(file: string): Promise<void> {
  await fs.unlink(file).catch(() => {});
}
