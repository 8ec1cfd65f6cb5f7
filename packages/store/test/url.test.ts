import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigValidationError } from "@shardy/errors";
import { FileStore, joinKey, joinUrl, MemoryStore, openStore, parseS3Url, S3Store } from "../src/index.ts";

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

describe("parseS3Url", () => {
  test("splits bucket and key", () => {
    expect(parseS3Url("s3://bucket/some/prefix")).toEqual({ bucket: "bucket", key: "some/prefix" });
    expect(parseS3Url("s3://bucket/some/prefix/")).toEqual({ bucket: "bucket", key: "some/prefix/" });
    expect(parseS3Url("s3://my.bucket-1")).toEqual({ bucket: "my.bucket-1", key: "" });
  });

  test("rejects bad URLs naming them", () => {
    for (const url of ["http://bucket/x", "s3://", "s3:///key", "s3://bad bucket/x", "bucket/x"]) {
      const err = thrown(() => parseS3Url(url));
      expect(err).toBeInstanceOf(ConfigValidationError);
      expect((err as Error).message).toContain(JSON.stringify(url));
    }
  });

  test("requireKey enforces the reference's s3_prefix rule", () => {
    expect(parseS3Url("s3://b/p", { requireKey: true }).key).toBe("p");
    for (const url of ["s3://b", "s3://b/", "s3://b//"]) {
      expect(thrown(() => parseS3Url(url, { requireKey: true }))).toBeInstanceOf(ConfigValidationError);
    }
  });
});

describe("joinKey / joinUrl (join_s3 rules)", () => {
  test("strips slashes from every part and skips empty parts", () => {
    expect(joinKey("a/", "/b/", "", "c")).toBe("a/b/c");
    expect(joinKey("", "shards", "run_id=r", "db=00000", "attempt=00")).toBe(
      "shards/run_id=r/db=00000/attempt=00",
    );
    expect(joinKey("//x//", "/")).toBe("x");
    expect(joinKey()).toBe("");
  });

  test("joinUrl keeps the scheme and drops only trailing slashes of the base", () => {
    expect(joinUrl("s3://bucket/prefix/", "manifests", "/ts_run_id=r/", "manifest")).toBe(
      "s3://bucket/prefix/manifests/ts_run_id=r/manifest",
    );
    expect(joinUrl("s3://bucket/prefix", "")).toBe("s3://bucket/prefix");
  });
});

describe("openStore", () => {
  test("s3:// gives an S3 store bound to the bucket and the key prefix", () => {
    const { store, prefix } = openStore("s3://bucket/some/prefix/", { s3: { env: {} } });
    expect(store).toBeInstanceOf(S3Store);
    expect(store.baseUrl).toBe("s3://bucket");
    expect(prefix).toBe("some/prefix");
  });

  const dir = mkdtempSync(join(tmpdir(), "shardy-url-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("file:// URLs and plain paths give file stores rooted there", () => {
    const viaUrl = openStore(pathToFileURL(join(dir, "snap shot")).href);
    expect(viaUrl.store).toBeInstanceOf(FileStore);
    expect((viaUrl.store as FileStore).root).toBe(join(dir, "snap shot"));
    expect(viaUrl.prefix).toBe("");
    expect(viaUrl.store.baseUrl).toBe(pathToFileURL(join(dir, "snap shot")).href);
    const relative = openStore("snap", { cwd: dir });
    expect((relative.store as FileStore).root).toBe(join(dir, "snap"));
    const absolute = openStore(join(dir, "abs"));
    expect((absolute.store as FileStore).root).toBe(join(dir, "abs"));
  });

  test("memory:// stores are shared by name", async () => {
    const name = `url-${crypto.randomUUID()}`;
    const a = openStore(`memory://${name}/p/q`);
    const b = openStore(`memory://${name}`);
    expect(a.store).toBeInstanceOf(MemoryStore);
    expect(a.store).toBe(b.store);
    expect(a.prefix).toBe("p/q");
    expect(b.prefix).toBe("");
    await a.store.put("p/q/k", new Uint8Array([1]));
    expect(await b.store.head("p/q/k")).toBeDefined();
  });

  test("unknown schemes and bad file URLs are ConfigValidationErrors", () => {
    for (const url of ["gs://bucket/x", "https://example.com/x", "file://remote-host/x", ""]) {
      expect(thrown(() => openStore(url))).toBeInstanceOf(ConfigValidationError);
    }
  });
});
