/** File-store specifics beyond the contract: hidden files, key rules, locks, ETag cache, pruning. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ConfigValidationError, ObjectStoreError, PreconditionFailedError } from "@shardy/errors";
import { lockPathOf } from "../src/file.ts";
import { FileStore } from "../src/index.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const roots: string[] = [];
const newRoot = () => {
  roots.push(mkdtempSync(join(tmpdir(), "shardy-file-")));
  return roots.at(-1)!;
};
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = Bun.spawn([process.execPath, "-e", ""], { stdout: "ignore", stderr: "ignore" });
  await child.exited;
  return child.pid;
}

function hiddenFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) =>
    f.split("/").pop()!.startsWith(".shardy-"),
  );
}

describe("FileStore", () => {
  test("temp and lock files never show in list", async () => {
    const root = newRoot();
    const store = new FileStore(root);
    await store.put("p/real", bytes("x"));
    writeFileSync(join(root, "p", ".shardy-tmp-0123"), "partial upload");
    writeFileSync(join(root, "p", ".shardy-lock-abc"), "{}");
    mkdirSync(join(root, "p", "only-temp"));
    writeFileSync(join(root, "p", "only-temp", ".shardy-tmp-99"), "partial");
    expect((await store.list("p/")).objects.map((o) => o.key)).toEqual(["p/real"]);
    expect(await store.list("p/", { delimiter: "/" })).toMatchObject({
      objects: [{ key: "p/real" }],
      commonPrefixes: [],
    });
    expect((await store.list("p/.shardy")).objects).toEqual([]);
  });

  test("keys that would escape the root or hit reserved names are refused", async () => {
    const store = new FileStore(newRoot());
    for (const key of [
      "a/../b",
      "../outside",
      "./a",
      "a//b",
      "a/",
      "/abs",
      ".shardy-tmp-1",
      "a/.shardy-lock-x",
    ]) {
      const err = await rejection(store.put(key, bytes("x")));
      expect(err).toBeInstanceOf(ConfigValidationError);
      expect((err as Error).message).toContain(JSON.stringify(key));
    }
    expect((await store.list("")).objects).toEqual([]);
  });

  test("a key below an existing object is an ObjectStoreError explaining why", async () => {
    const store = new FileStore(newRoot());
    await store.put("a/b", bytes("file"));
    const err = await rejection(store.put("a/b/c", bytes("below")));
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect((err as Error).message).toContain("cannot hold both");
    expect(hiddenFiles(store.root)).toEqual([]);
  });

  test("ETags are content hashes: same bytes, same ETag, across instances", async () => {
    const root = newRoot();
    const a = new FileStore(root);
    const put1 = await a.put("k1", bytes("same"));
    const put2 = await a.put("dir/k2", bytes("same"));
    expect(put1.etag).toBe(put2.etag);
    expect(put1.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const fresh = new FileStore(root); // empty cache: hashes the file
    expect((await fresh.head("k1"))!.etag).toBe(put1.etag);
    expect((await fresh.list("dir/")).objects[0]!.etag).toBe(put1.etag);
  });

  test("putFile moves or copies a local file in, with the ETag put gives the same bytes", async () => {
    const root = newRoot();
    const store = new FileStore(root);
    const scratch = newRoot();
    const content = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 255);
    const { etag } = await store.put("ref", content);
    for (const move of [true, false]) {
      const source = join(scratch, `local-${move}.db`);
      writeFileSync(source, content);
      const key = `deep/dir/moved-${move}`;
      expect((await store.putFile(key, source, { move })).etag).toBe(etag);
      expect(existsSync(source)).toBe(!move);
      const got = await store.get(key);
      expect(got?.etag).toBe(etag);
      expect(got?.body).toEqual(content);
      expect((await store.head(key))?.etag).toBe(etag);
    }
    expect(hiddenFiles(root)).toEqual([]);
  });

  test("putFile of a missing file fails as ObjectStoreError and leaves no temp file", async () => {
    const root = newRoot();
    const store = new FileStore(root);
    await store.put("k/other", bytes("x"));
    const err = await rejection(store.putFile("k/missing", join(root, "no-such-file"), { move: true }));
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect((err as Error).message).toMatch(/file store put "k\/missing" failed with ENOENT/);
    expect(await store.head("k/missing")).toBeUndefined();
    expect(hiddenFiles(root)).toEqual([]);
  });

  test("a cached ETag is not served after another writer replaces the file", async () => {
    const root = newRoot();
    const reader = new FileStore(root);
    const writer = new FileStore(root);
    await writer.put("k", bytes("one"));
    const first = (await reader.head("k"))!.etag;
    const second = await writer.put("k", bytes("two"));
    expect((await reader.head("k"))!.etag).toBe(second.etag);
    expect(second.etag).not.toBe(first);
    await reader.put("k", bytes("three"), { ifMatch: second.etag });
  });

  test("failed conditional puts leave no temp or lock files", async () => {
    const store = new FileStore(newRoot());
    await store.put("d/k", bytes("v"));
    expect(await rejection(store.put("d/k", bytes("w"), { ifNoneMatch: "*" }))).toBeInstanceOf(
      PreconditionFailedError,
    );
    expect(await rejection(store.put("d/k", bytes("w"), { ifMatch: '"nope"' }))).toBeInstanceOf(
      PreconditionFailedError,
    );
    expect(readdirSync(join(store.root, "d"))).toEqual(["k"]);
  });

  test("deletes prune directories left empty", async () => {
    const store = new FileStore(newRoot());
    await store.put("a/b/c/d", bytes("1"));
    await store.put("a/b/e/f", bytes("2"));
    await store.put("keep/x", bytes("3"));
    await store.delete("a/b/c/d");
    expect(existsSync(join(store.root, "a/b/c"))).toBe(false);
    expect(existsSync(join(store.root, "a/b/e"))).toBe(true);
    expect(await store.deletePrefix("a")).toBe(1);
    expect(existsSync(join(store.root, "a"))).toBe(false);
    expect(readdirSync(store.root)).toEqual(["keep"]);
  });

  test("a lock left by a dead process is broken", async () => {
    const store = new FileStore(newRoot());
    await store.put("k", bytes("v1"));
    const lock = lockPathOf(join(store.root, "k"));
    writeFileSync(lock, JSON.stringify({ pid: await deadPid(), host: hostname(), token: "dead" }));
    const current = (await store.head("k"))!.etag;
    await store.put("k", bytes("v2"), { ifMatch: current });
    expect(new TextDecoder().decode((await store.get("k"))!.body)).toBe("v2");
    expect(existsSync(lock)).toBe(false);
  });

  test("a live lock makes writers wait, then time out with a clear error", async () => {
    const store = new FileStore(newRoot(), { lockTimeoutMs: 50 });
    await store.put("k", bytes("v1"));
    const lock = lockPathOf(join(store.root, "k"));
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: "someone-else" }));
    const err = await rejection(store.put("k", bytes("v2")));
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect((err as Error).message).toContain("timed out");
    expect((err as Error).message).toContain(lock);
    expect(new TextDecoder().decode((await store.get("k"))!.body)).toBe("v1");
    expect(hiddenFiles(store.root)).toEqual([basename(lock)]); // only the foreign lock, untouched
  });

  test("locks from another host are broken only once they are old", async () => {
    const store = new FileStore(newRoot(), { lockTimeoutMs: 50, staleLockMs: 10_000 });
    const lock = lockPathOf(join(store.root, "k"));
    writeFileSync(lock, JSON.stringify({ pid: 1, host: "some-other-host", token: "remote" }));
    expect(await rejection(store.put("k", bytes("fresh lock")))).toBeInstanceOf(ObjectStoreError);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await store.put("k", bytes("after stale lock"));
    expect(new TextDecoder().decode((await store.get("k"))!.body)).toBe("after stale lock");
  });

  test("an aborted wait for a lock rejects with AbortError", async () => {
    const store = new FileStore(newRoot());
    const lock = lockPathOf(join(store.root, "k"));
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: "held" }));
    const controller = new AbortController();
    const pending = store.put("k", bytes("v"), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect(await rejection(pending)).toHaveProperty("name", "AbortError");
    expect(await store.head("k")).toBeUndefined();
  });
});
