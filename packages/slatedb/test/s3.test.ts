/**
 * Round trips through a real S3 server (MinIO on loopback, started by `scripts/minio start`):
 * our writer streams SSTs with multipart uploads, the official reader (PyPI slatedb 0.17) and
 * ours read them back; the official writer's DB in S3 is read by ours.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { S3Store } from "@shardy/store";
import { minioStoreOptions, readS3TestEnv } from "../../store/test/s3-env.ts";
import { createSlateDbShardWriter, openSlateDbReader } from "../src/index.ts";
import { hex, type OracleRead, pythonOracle, randomBytes, rng, sha256, u64be } from "./helpers.ts";

const env = readS3TestEnv();
const store = new S3Store({ ...minioStoreOptions(env), partSize: 5 * 1024 * 1024 });
const root = `slatedb-test/${crypto.randomUUID()}`;
afterAll(async () => {
  await store.deletePrefix(root);
});

/** object_store's S3 settings for the official binding, from the same test server. */
const awsEnv = {
  AWS_ENDPOINT: env.endpoint,
  AWS_ALLOW_HTTP: "true",
  AWS_ACCESS_KEY_ID: env.accessKey,
  AWS_SECRET_ACCESS_KEY: env.secretKey,
  AWS_REGION: env.region,
};

describe("S3 (MinIO)", () => {
  test("our snapshot, streamed with multipart uploads, reads back in the official reader and ours", async () => {
    const next = rng(77);
    const rows = Array.from(
      { length: 24_000 },
      (_, i) => [u64be(BigInt(i) * 3n), randomBytes(next, 500)] as [Uint8Array, Uint8Array],
    );
    const dbPrefix = `${root}/ours`;
    const w = createSlateDbShardWriter({ store, dbPrefix, sstTargetBytes: 7 * 1024 * 1024 });
    for (let i = 0; i < rows.length; i += 1000) await w.writeBatch(rows.slice(i, i + 1000));
    const res = await w.seal();
    await w.close();
    expect(res.sstCount).toBe(2);
    const objects = (await store.list(`${dbPrefix}/`)).objects;
    expect(Math.max(...objects.map((o) => o.size))).toBeGreaterThan(7 * 1024 * 1024);

    const sample = rows.filter((_, i) => i % 40 === 0);
    const misses = [u64be(1n), u64be(2n), u64be(3n * 24_000n)];
    const answer = await pythonOracle<OracleRead>(
      {
        op: "read",
        url: `s3://${env.bucket}`,
        path: dbPrefix,
        checkpoint: res.checkpointId,
        keys: [...sample.map(([k]) => hex(k)), ...misses.map(hex)],
        scan: true,
      },
      awsEnv,
    );
    expect(answer.values).toEqual([...sample.map(([, v]) => sha256(v)), null, null, null]);
    expect(answer.scan?.length).toBe(rows.length);
    expect(answer.scan?.[12_345]).toEqual([hex(rows[12_345]![0]), sha256(rows[12_345]![1])]);
    expect((await store.list(`${dbPrefix}/`)).objects.length).toBe(objects.length);

    const r = await openSlateDbReader({ store, dbPrefix, checkpointId: res.checkpointId });
    const values = await r.multiGet(sample.map(([k]) => k));
    expect(values.map((v) => hex(v!))).toEqual(sample.map(([, v]) => hex(v)));
    for (const m of misses) expect(await r.get(m)).toBeUndefined();
  }, 120_000);

  test("the official writer's database in S3 reads in ours", async () => {
    const dbPrefix = `${root}/official`;
    const next = rng(5);
    const put: [string, string][] = Array.from({ length: 3000 }, (_, i) => [
      hex(u64be(BigInt(i))),
      hex(randomBytes(next, 1 + (i % 90))),
    ]);
    await pythonOracle(
      {
        op: "write",
        url: `s3://${env.bucket}`,
        path: dbPrefix,
        steps: [{ put }, { delete: [hex(u64be(7n))] }, { flush: "memtable" }],
      },
      awsEnv,
    );
    const r = await openSlateDbReader({ store, dbPrefix });
    for (const [k, v] of put) {
      const got = await r.get(Buffer.from(k, "hex"));
      if (k === hex(u64be(7n))) expect(got).toBeUndefined();
      else expect(hex(got!)).toBe(v);
    }
  }, 120_000);
});
