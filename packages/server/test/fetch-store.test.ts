/**
 * The edge's fetch-based store against MinIO (fails, never skips, without it): SigV4-signed GET,
 * ranged GET, HEAD and paged ListObjectsV2 read what the S3 store wrote; anonymous requests to a
 * private bucket fail with an error naming the credentials; writes are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ObjectStoreError } from "@shardy/errors";
import { S3Store } from "@shardy/store";
import { minioStoreOptions, readS3TestEnv } from "../../store/test/s3-env.ts";
import { FetchObjectStore } from "../src/index.ts";

const env = readS3TestEnv();
const prefix = `fetch-store/${Date.now().toString(36)}-${process.pid}`;
const writer = new S3Store(minioStoreOptions(env));
const keys = ["a/1", "a/2", "a/3", "b/x y+z&1", "b/ünï", "c", "d/e/f"];

function signed(pageSize?: number) {
  return new FetchObjectStore({
    endpoint: env.endpoint,
    bucket: env.bucket,
    region: env.region,
    credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey },
    listPageSize: pageSize,
  });
}

beforeAll(async () => {
  for (const k of keys) await writer.put(`${prefix}/${k}`, new TextEncoder().encode(`value of ${k}`));
});

afterAll(async () => {
  await writer.deletePrefix(prefix);
});

describe("FetchObjectStore (MinIO)", () => {
  test("get, head and getRange read what the S3 store wrote", async () => {
    const store = signed();
    expect(store.baseUrl).toBe(`s3://${env.bucket}`);
    for (const k of keys) {
      const got = await store.get(`${prefix}/${k}`);
      expect(new TextDecoder().decode(got!.body)).toBe(`value of ${k}`);
      const head = await store.head(`${prefix}/${k}`);
      expect(head!.size).toBe(got!.body.length);
      expect(head!.etag).toBe(got!.etag);
    }
    const range = await store.getRange(`${prefix}/c`, { start: 6, end: 8 });
    expect(new TextDecoder().decode(range)).toBe("of");
    expect(await store.get(`${prefix}/missing`)).toBeUndefined();
    expect(await store.head(`${prefix}/missing`)).toBeUndefined();
    await expect(store.getRange(`${prefix}/missing`, { start: 0, end: 4 })).rejects.toThrow(/does not exist/);
  });

  test("list pages through ListObjectsV2 and folds common prefixes", async () => {
    const store = signed(2);
    const all = await store.list(`${prefix}/`);
    expect(all.objects.map((o) => o.key)).toEqual([...keys].sort().map((k) => `${prefix}/${k}`));
    expect(all.objects.find((o) => o.key.endsWith("/c"))!.size).toBe("value of c".length);
    const folded = await store.list(`${prefix}/`, { delimiter: "/" });
    expect(folded.objects.map((o) => o.key)).toEqual([`${prefix}/c`]);
    expect(folded.commonPrefixes).toEqual(["a/", "b/", "d/"].map((p) => `${prefix}/${p}`));
  });

  test("anonymous reads of a private bucket name the credentials problem", async () => {
    const anonymous = new FetchObjectStore({ endpoint: env.endpoint, bucket: env.bucket });
    const err = await anonymous.get(`${prefix}/c`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect(String((err as Error).message)).toMatch(/AccessDenied .*status 403.*credentials/);
  });

  test("an endpoint that does not answer is an ObjectStoreError; writes are refused", async () => {
    const down = new FetchObjectStore({ endpoint: "http://127.0.0.1:1", bucket: env.bucket });
    await expect(down.get("x")).rejects.toBeInstanceOf(ObjectStoreError);
    const store = signed();
    await expect(store.put("x", new Uint8Array(1))).rejects.toThrow(/read-only/);
    await expect(store.delete("x")).rejects.toThrow(/read-only/);
  });
});
