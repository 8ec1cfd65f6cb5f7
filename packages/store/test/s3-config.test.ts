/** S3Store configuration, error mapping and retries (MinIO, plus a tiny faulty HTTP endpoint). */
import { afterAll, describe, expect, test } from "bun:test";
import {
  ConfigValidationError,
  ObjectStoreError,
  PreconditionFailedError,
  S3TransientError,
} from "@shardy/errors";
import { S3Store } from "../src/index.ts";
import { resolveClientConfig } from "../src/s3.ts";
import { minioStoreOptions, readS3TestEnv } from "./s3-env.ts";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

describe("S3 client configuration", () => {
  test("S3_* environment variables win over AWS_* ones", () => {
    const config = resolveClientConfig({
      bucket: "b",
      env: {
        S3_ACCESS_KEY_ID: "s3-key",
        AWS_ACCESS_KEY_ID: "aws-key",
        S3_SECRET_ACCESS_KEY: "s3-secret",
        AWS_SECRET_ACCESS_KEY: "aws-secret",
        AWS_SESSION_TOKEN: "aws-token",
        S3_REGION: "eu-west-3",
        AWS_REGION: "us-west-2",
        SLATEDB_S3_ENDPOINT_URL: "http://127.0.0.1:9999",
        AWS_ENDPOINT_URL: "http://127.0.0.1:1111",
      },
    });
    expect(config.credentials).toEqual({
      accessKeyId: "s3-key",
      secretAccessKey: "s3-secret",
      sessionToken: "aws-token",
    });
    expect(config.region).toBe("eu-west-3");
    expect(config.endpoint).toBe("http://127.0.0.1:9999");
    expect(config.forcePathStyle).toBe(true);
  });

  test("AWS_* fallbacks, default region, and no endpoint means virtual-hosted style", () => {
    const config = resolveClientConfig({
      bucket: "b",
      env: {
        AWS_ACCESS_KEY_ID: "k",
        AWS_SECRET_ACCESS_KEY: "s",
        AWS_ENDPOINT_URL: "https://s3.example.test",
      },
    });
    expect(config.credentials).toEqual({ accessKeyId: "k", secretAccessKey: "s", sessionToken: undefined });
    expect(config.endpoint).toBe("https://s3.example.test");
    expect(config.region).toBe("us-east-1");
    const bare = resolveClientConfig({ bucket: "b", env: { AWS_REGION: "ap-south-1" } });
    expect(bare.endpoint).toBeUndefined();
    expect(bare.forcePathStyle).toBe(false);
    expect(bare.credentials).toBeUndefined(); // left to the SDK's provider chain
    expect(bare.region).toBe("ap-south-1");
  });

  test("explicit options win over the environment", () => {
    const config = resolveClientConfig({
      bucket: "b",
      endpoint: "http://localhost:9000",
      region: "us-east-2",
      forcePathStyle: false,
      credentials: { accessKeyId: "opt", secretAccessKey: "opt-secret" },
      maxAttempts: 2,
      env: {
        S3_ACCESS_KEY_ID: "env",
        S3_SECRET_ACCESS_KEY: "env",
        S3_REGION: "x",
        AWS_ENDPOINT_URL: "http://y",
      },
    });
    expect(config).toMatchObject({
      endpoint: "http://localhost:9000",
      region: "us-east-2",
      forcePathStyle: false,
      credentials: { accessKeyId: "opt", secretAccessKey: "opt-secret" },
      maxAttempts: 2,
    });
  });

  test("bad options are ConfigValidationErrors naming the value", () => {
    const cases: [string, () => unknown][] = [
      ["ftp://x", () => new S3Store({ bucket: "b", endpoint: "ftp://x", env: {} })],
      ['""', () => new S3Store({ bucket: "", env: {} })],
      ["1024", () => new S3Store({ bucket: "b", partSize: 1024, env: {} })],
      ["0", () => new S3Store({ bucket: "b", maxAttempts: 0, env: {} })],
    ];
    for (const [named, make] of cases) {
      let thrown: unknown;
      try {
        make();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigValidationError);
      expect((thrown as Error).message).toContain(named);
    }
  });
});

describe("S3 errors against MinIO", () => {
  test("a store configured only through the environment works", async () => {
    const env = readS3TestEnv();
    const store = new S3Store({
      bucket: env.bucket,
      env: {
        S3_ACCESS_KEY_ID: env.accessKey,
        S3_SECRET_ACCESS_KEY: env.secretKey,
        SLATEDB_S3_ENDPOINT_URL: env.endpoint,
        S3_REGION: env.region,
      },
    });
    const key = `config-${crypto.randomUUID()}/obj`;
    await store.put(key, new TextEncoder().encode("via env"));
    expect(new TextDecoder().decode((await store.get(key))!.body)).toBe("via env");
    await store.delete(key);
    await store.close();
  });

  test("wrong credentials: ObjectStoreError with status, never the secret", async () => {
    const secret = "definitely-wrong-secret-4711";
    const store = new S3Store({
      ...minioStoreOptions(),
      credentials: { accessKeyId: readS3TestEnv().accessKey, secretAccessKey: secret },
      maxAttempts: 1,
    });
    const err = await rejection(store.put("denied/obj", new Uint8Array([1])));
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect((err as Error).message).toContain("HTTP 403");
    expect((err as Error).message).toContain("s3://");
    expect(`${(err as Error).message} ${(err as Error).stack}`).not.toContain(secret);
    expect((err as Error).cause).toBeDefined();
    await store.close();
  });

  test("a missing bucket is an error, not a missing key", async () => {
    const store = new S3Store({
      ...minioStoreOptions(),
      bucket: `no-such-bucket-${Date.now()}`,
      maxAttempts: 1,
    });
    const err = await rejection(store.get("k"));
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect((err as Error).message).toContain("NoSuchBucket");
    await store.close();
  });
});

describe("S3 retries", () => {
  /** An endpoint that answers 503 SlowDown `failures` times, then a valid HeadObject response. */
  function flakyEndpoint(failures: number) {
    let requests = 0;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch() {
        requests++;
        if (requests <= failures) {
          return new Response(
            '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
            { status: 503, headers: { "content-type": "application/xml" } },
          );
        }
        return new Response(null, {
          status: 200,
          headers: { etag: '"abc"', "content-length": "7", "last-modified": new Date(0).toUTCString() },
        });
      },
    });
    return { server, requests: () => requests };
  }

  const servers: { stop(force?: boolean): unknown }[] = [];
  afterAll(() => {
    for (const s of servers) s.stop(true);
  });

  function storeFor(port: number, maxAttempts: number) {
    return new S3Store({
      bucket: "b",
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: "k", secretAccessKey: "s" },
      maxAttempts,
      env: {},
    });
  }

  test("transient 503s are retried until the request succeeds", async () => {
    const flaky = flakyEndpoint(2);
    servers.push(flaky.server);
    const store = storeFor(flaky.server.port!, 3);
    expect(await store.head("k")).toMatchObject({ key: "k", size: 7, etag: '"abc"' });
    expect(flaky.requests()).toBe(3);
    await store.close();
  });

  test("retries stop at maxAttempts and surface S3TransientError", async () => {
    const flaky = flakyEndpoint(1_000);
    servers.push(flaky.server);
    const store = storeFor(flaky.server.port!, 2);
    const err = await rejection(store.head("k"));
    expect(err).toBeInstanceOf(S3TransientError);
    expect((err as Error).message).toContain("HTTP 503");
    expect(flaky.requests()).toBe(2);
    await store.close();
  });

  /** Applies the first PUT but answers 500, then enforces If-None-Match like S3. */
  function lostFirstResponse(storedBody: (sent: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>) {
    let stored: Uint8Array<ArrayBuffer> | undefined;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        if (req.method === "PUT") {
          const sent = new Uint8Array(await req.arrayBuffer());
          if (!stored) {
            stored = storedBody(sent);
            return new Response("<Error><Code>InternalError</Code></Error>", { status: 500 });
          }
          return new Response("<Error><Code>PreconditionFailed</Code></Error>", { status: 412 });
        }
        if (!stored) return new Response("<Error><Code>NoSuchKey</Code></Error>", { status: 404 });
        return new Response(stored, { status: 200, headers: { etag: '"stored"' } });
      },
    });
    servers.push(server);
    return server;
  }

  test("a create-only put whose first response was lost is recognised as our own write", async () => {
    const server = lostFirstResponse((sent) => sent);
    const store = storeFor(server.port!, 3);
    const put = await store.put("_CURRENT", new TextEncoder().encode("pointer"), { ifNoneMatch: "*" });
    expect(put.etag).toBe('"stored"');
    await store.close();
  });

  test("a retried create-only put that lost to another writer still fails", async () => {
    const server = lostFirstResponse(() => new TextEncoder().encode("someone else"));
    const store = storeFor(server.port!, 3);
    const err = await rejection(
      store.put("_CURRENT", new TextEncoder().encode("pointer"), { ifNoneMatch: "*" }),
    );
    expect(err).toBeInstanceOf(PreconditionFailedError);
    await store.close();
  });

  test("an unreachable endpoint is a transient error", async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true); // nothing listens there now
    const store = storeFor(port, 2);
    const err = await rejection(store.get("k"));
    expect(err).toBeInstanceOf(S3TransientError);
    await store.close();
  });
});
