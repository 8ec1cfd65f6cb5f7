/**
 * Cross-process lock files for the file store: `open(path, "wx")` succeeds for exactly one
 * creator. A lock whose owner died is broken; breakers serialise on a second lock file and
 * re-check the lock's inode before removing it, so a fresh lock is never broken by mistake.
 */
import { randomBytes } from "node:crypto";
import type { BigIntStats } from "node:fs";
import * as fs from "node:fs/promises";
import { hostname } from "node:os";
import * as path from "node:path";
import { ObjectStoreError } from "@shardy/errors";
import { sleep } from "./streams.ts";

export interface FileLockOptions {
  signal?: AbortSignal;
  /** Give up waiting after this long. */
  timeoutMs: number;
  /** A lock from another host (owner not checkable) older than this is stale. */
  staleMs: number;
}

export interface FileLock {
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

interface LockInfo {
  ino: bigint;
  ageMs: number;
  owner: LockOwner | undefined;
}

/** A live local owner older than this is assumed to be a reused pid; no put holds a lock that long. */
const MAX_LOCAL_HOLD_MS = 10 * 60_000;
/** Breakers hold the break lock for two syscalls; one older than this belongs to a dead breaker. */
const BREAK_LOCK_STALE_MS = 5_000;

const HOST = hostname();

export async function acquireFileLock(lockPath: string, options: FileLockOptions): Promise<FileLock> {
  const owner: LockOwner = { pid: process.pid, host: HOST, token: randomBytes(8).toString("hex") };
  const deadline = Date.now() + options.timeoutMs;
  let delayMs = 1;
  while (true) {
    options.signal?.throwIfAborted();
    if (await tryCreate(lockPath, JSON.stringify(owner))) {
      return { release: () => releaseIfOwned(lockPath, owner.token) };
    }
    if (await breakIfStale(lockPath, options.staleMs)) continue;
    if (Date.now() > deadline) {
      throw new ObjectStoreError(
        `timed out after ${options.timeoutMs} ms waiting for lock ${lockPath}; another writer holds it ` +
          "(delete the file if no shardy process is running)",
      );
    }
    await sleep(delayMs + Math.random() * delayMs, options.signal);
    delayMs = Math.min(delayMs * 2, 50);
  }
}

async function tryCreate(lockPath: string, content: string): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(lockPath, "wx");
  } catch (err) {
    if (errCode(err) === "EEXIST") return false;
    if (errCode(err) === "ENOENT") {
      // The directory was pruned by a concurrent delete; recreate it and try again.
      await fs.mkdir(path.dirname(lockPath), { recursive: true });
      return tryCreate(lockPath, content);
    }
    throw new ObjectStoreError(`cannot create lock file ${lockPath}: ${errCode(err) ?? err}`, { cause: err });
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

async function readLockInfo(lockPath: string): Promise<LockInfo | undefined> {
  // One handle for stat and content, so both describe the same file even if it is replaced.
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(lockPath, "r");
  } catch (err) {
    if (errCode(err) === "ENOENT") return undefined;
    throw err;
  }
  let raw: string;
  let stat: BigIntStats;
  try {
    stat = await handle.stat({ bigint: true });
    raw = await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
  let owner: LockOwner | undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<LockOwner>;
    if (
      typeof parsed.pid === "number" &&
      typeof parsed.host === "string" &&
      typeof parsed.token === "string"
    ) {
      owner = { pid: parsed.pid, host: parsed.host, token: parsed.token };
    }
  } catch {
    // Empty or partial: its creator is between open and write, or died there; judged by age.
  }
  return { ino: stat.ino, ageMs: Date.now() - Number(stat.mtimeMs), owner };
}

function isStale(info: LockInfo, staleMs: number): boolean {
  if (info.owner && info.owner.host === HOST) {
    return !processAlive(info.owner.pid) || info.ageMs > MAX_LOCAL_HOLD_MS;
  }
  return info.ageMs > staleMs;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === "EPERM"; // exists, owned by someone else
  }
}

/** Removes the lock if it is stale; true when the caller should retry at once. */
async function breakIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  const info = await readLockInfo(lockPath);
  if (!info) return true;
  if (!isStale(info, staleMs)) return false;
  const breakPath = `${lockPath}.break`;
  if (!(await tryCreate(breakPath, JSON.stringify({ pid: process.pid, host: HOST })))) {
    const breaker = await readLockInfo(breakPath);
    if (breaker && breaker.ageMs > BREAK_LOCK_STALE_MS) await unlinkQuietly(breakPath);
    return false;
  }
  try {
    // Re-check under the break lock: only the very lock judged stale may go.
    const again = await readLockInfo(lockPath);
    if (again && again.ino === info.ino && isStale(again, staleMs)) await unlinkQuietly(lockPath);
  } finally {
    await unlinkQuietly(breakPath);
  }
  return true;
}

async function releaseIfOwned(lockPath: string, token: string): Promise<void> {
  const info = await readLockInfo(lockPath);
  // A lock broken as stale and re-taken by someone else is theirs now.
  if (info?.owner?.token === token) await unlinkQuietly(lockPath);
}

async function unlinkQuietly(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (err) {
    if (errCode(err) !== "ENOENT") throw err;
  }
}

export function errCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String(err.code) : undefined;
}
