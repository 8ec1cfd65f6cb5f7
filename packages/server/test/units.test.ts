/**
 * The server's pieces in-process: config parsing, key and routing-context parsing, auth, error
 * classification and redaction, Prometheus rendering, and the app's own answers (auth before
 * snapshot lookup, disabled admin routes) on a real file-store snapshot.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { hashSharding, type ShardingSpec } from "@shardy/core";
import {
  ConfigValidationError,
  DbAdapterError,
  ObjectStoreError,
  ShardAssignmentError,
} from "@shardy/errors";
import {
  buildServerConfig,
  checkAdmin,
  checkRead,
  classifyError,
  createServer,
  HttpError,
  MetricsRegistry,
  makeRedactor,
  parseJsonKey,
  parseRoutingContext,
  parseTextKey,
  readerCollector,
  secretsOf,
  snapshotFromUrl,
  tokensEqual,
} from "../src/index.ts";
import { publishVersion } from "./helpers/fixtures.ts";

const HASH: ShardingSpec = hashSharding();
const CEL: ShardingSpec = {
  strategy: "cel",
  hashAlgorithm: "xxh3_64",
  celExpr: "region",
  celColumns: { region: "string", tier: "int", w: "double", b: "bytes", on: "bool" },
  routingValues: ["eu"],
};

function status(fn: () => void): number {
  try {
    fn();
    return 0;
  } catch (err) {
    return err instanceof HttpError ? err.status : -1;
  }
}

describe("config", () => {
  test("defaults: loopback, port 8080, 30 s refresh, 1000-key multiget", () => {
    const c = buildServerConfig({ snapshots: { a: "s3://b/p/_CURRENT" } });
    expect(c.host).toBe("127.0.0.1");
    expect(c.port).toBe(8080);
    expect(c.refreshIntervalMs).toBe(30_000);
    expect(c.maxMultigetKeys).toBe(1000);
    expect(c.snapshots).toEqual([{ name: "a", currentUrl: "s3://b/p/_CURRENT" }]);
    expect(c.readToken).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
  });

  test("a URL is a _CURRENT URL when its last segment is _CURRENT, else the prefix", () => {
    expect(snapshotFromUrl("x", "/data/snap/_CURRENT")).toEqual({
      name: "x",
      currentUrl: "/data/snap/_CURRENT",
    });
    expect(snapshotFromUrl("x", "s3://b/snap/")).toEqual({ name: "x", prefixUrl: "s3://b/snap/" });
    expect(() => snapshotFromUrl("bad name", "/x")).toThrow(/snapshot name "bad name"/);
  });

  test("flags override the file; tokens come from the environment", () => {
    const c = buildServerConfig(
      {
        port: 9000,
        refresh_interval_seconds: 5,
        snapshots: { a: { current_url: "/a/_CURRENT", sqlite_mode: "range" } },
        s3: {
          endpoint_url: "http://127.0.0.1:9",
          addressing_style: "path",
          max_attempts: 2,
          read_timeout: 3,
        },
      },
      { port: 0, sqliteMode: "download", snapshots: [{ name: "b", prefixUrl: "/b" }] },
      { SHARDY_SERVER_READ_TOKEN: "r".repeat(20), SHARDY_SERVER_ADMIN_TOKEN: "a".repeat(20) },
    );
    expect(c.port).toBe(0);
    expect(c.refreshIntervalMs).toBe(5000);
    expect(c.snapshots.map((s) => [s.name, s.sqliteMode])).toEqual([
      ["a", "range"],
      ["b", "download"],
    ]);
    expect(c.storeOptions.s3).toMatchObject({
      endpoint: "http://127.0.0.1:9",
      forcePathStyle: true,
      maxAttempts: 2,
      requestTimeoutMs: 3000,
    });
    expect(c.readToken).toBe("r".repeat(20));
    expect(secretsOf(c)).toEqual(["r".repeat(20), "a".repeat(20)]);
  });

  test("bad config names the setting and the fix", () => {
    expect(() => buildServerConfig({})).toThrow(/no snapshot to serve; pass --snapshot NAME=URL/);
    expect(() => buildServerConfig({ snapshots: { a: "/x" }, prot: 1 })).toThrow(
      /\(root\)\.prot: unknown setting/,
    );
    expect(() => buildServerConfig({ snapshots: { a: { url: "/x" } } })).toThrow(
      /snapshots\.a\.url: unknown setting/,
    );
    expect(() => buildServerConfig({ snapshots: { a: { current_url: "/x", sqlite_mode: "fast" } } })).toThrow(
      /sqlite_mode: must be one of auto, download, range, got "fast"/,
    );
    expect(() =>
      buildServerConfig({ snapshots: { a: "/x" } }, {}, { SHARDY_SERVER_ADMIN_TOKEN: "short" }),
    ).toThrow(/at least 16 characters/);
    expect(() => buildServerConfig({ snapshots: { a: "/x" }, s3: { access_key_id: "k" } })).toThrow(
      /both access_key_id and secret_access_key/,
    );
  });
});

describe("keys and routing contexts", () => {
  test("text keys follow the key encoding; hex and base64 pass bytes", () => {
    expect(parseTextKey("42", "u64be", "text")).toBe(42n);
    expect(parseTextKey("héllo", "utf8", "text")).toBe("héllo");
    expect(parseTextKey("ab", "raw", "text")).toEqual(new Uint8Array([0x61, 0x62]));
    expect(parseTextKey("000000000000002a", "u64be", "hex")).toEqual(
      new Uint8Array([0, 0, 0, 0, 0, 0, 0, 42]),
    );
    expect(parseTextKey("aGk", "utf8", "base64")).toEqual(new TextEncoder().encode("hi"));
    expect(parseTextKey("aGk_", "raw", "base64")).toEqual(new Uint8Array([0x68, 0x69, 0x3f]));
    expect(() => parseTextKey("x1", "u64be", "text")).toThrow(/key "x1" is not an integer/);
    expect(() => parseTextKey("abc", "raw", "hex")).toThrow(/not hex/);
    expect(() => parseTextKey("0001", "u32be", "hex")).toThrow(
      /2 bytes, but this snapshot's key_encoding u32be takes 4-byte keys/,
    );
  });

  test("JSON keys: strings as text, integers for integer encodings only", () => {
    expect(parseJsonKey(7, 0, "u64be", "text")).toBe(7n);
    expect(parseJsonKey("18446744073709551615", 0, "u64be", "text")).toBe(2n ** 64n - 1n);
    expect(() => parseJsonKey(7, 3, "utf8", "text")).toThrow(/keys\[3\] is the number 7/);
    expect(() => parseJsonKey(2 ** 60, 1, "u64be", "text")).toThrow(/keys\[1\] .* not a safe integer/);
    expect(() => parseJsonKey(null, 2, "u64be", "text")).toThrow(/keys\[2\] must be a string or an integer/);
    expect(() => parseJsonKey("zz", 4, "u64be", "text")).toThrow(/^keys\[4\]: key "zz"/);
  });

  test("routing contexts are coerced to the CEL column types", () => {
    expect(parseRoutingContext('{"a":1}', HASH)).toBeUndefined();
    const ctx = parseRoutingContext({ region: "eu", tier: "3", w: 1.5, b: "xy", on: true }, CEL);
    expect(ctx).toEqual({ region: "eu", tier: 3n, w: 1.5, b: new TextEncoder().encode("xy"), on: true });
    const bad = (raw: unknown) => {
      try {
        parseRoutingContext(raw, CEL);
        return "";
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(bad("{")).toMatch(/is not JSON/);
    expect(bad("[1]")).toMatch(/must be a JSON object/);
    expect(bad({ zone: "x" })).toMatch(/"zone", which is not a CEL column .* region, tier, w, b, on/);
    expect(bad({ tier: 1.5 })).toMatch(/routing_context\.tier must be an integer \(CEL column type int\)/);
    expect(bad({ on: "yes" })).toMatch(/routing_context\.on must be true or false/);
  });
});

describe("auth", () => {
  const auth = { readToken: "read-token-0123456789", adminToken: "admin-token-0123456789" };
  test("reads: open without a read token; else read or admin token", () => {
    expect(status(() => checkRead({}, undefined))).toBe(0);
    expect(status(() => checkRead(auth, undefined))).toBe(401);
    expect(status(() => checkRead(auth, "Bearer nope"))).toBe(403);
    expect(status(() => checkRead(auth, "Basic abc"))).toBe(401);
    expect(status(() => checkRead(auth, `Bearer ${auth.readToken}`))).toBe(0);
    expect(status(() => checkRead(auth, `bearer ${auth.adminToken}`))).toBe(0);
  });
  test("admin routes: disabled without an admin token; only the admin token passes", () => {
    expect(status(() => checkAdmin({ readToken: auth.readToken }, `Bearer ${auth.readToken}`))).toBe(403);
    expect(status(() => checkAdmin(auth, undefined))).toBe(401);
    expect(status(() => checkAdmin(auth, `Bearer ${auth.readToken}`))).toBe(403);
    expect(status(() => checkAdmin(auth, `Bearer ${auth.adminToken}`))).toBe(0);
    expect(tokensEqual("abc", "abc")).toBe(true);
    expect(tokensEqual("abc", "abcd")).toBe(false);
    expect(tokensEqual("", "a")).toBe(false);
  });
});

describe("errors", () => {
  test("typed errors map to statuses; unknown ones hide their message", () => {
    expect(classifyError(new ConfigValidationError("bad", { field: "key" }))).toMatchObject({
      status: 400,
      code: "bad_key",
    });
    expect(classifyError(new ObjectStoreError("down"))).toMatchObject({
      status: 503,
      code: "store_unavailable",
    });
    const refused = new TypeError("fetch failed", {
      cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
    });
    expect(classifyError(refused)).toMatchObject({ status: 503, code: "store_unavailable" });
    expect(classifyError(new DbAdapterError("shard 3"))).toMatchObject({ status: 502 });
    expect(classifyError(new ShardAssignmentError("out of range"))).toMatchObject({ status: 422 });
    const internal = classifyError(new Error("secret path /etc/x"));
    expect(internal.status).toBe(500);
    expect(internal.message).not.toContain("/etc/x");
  });
  test("the redactor removes every secret", () => {
    const redact = makeRedactor(["s3cr3t-value", "tok-123456"]);
    expect(redact("a s3cr3t-value b tok-123456 s3cr3t-value")).toBe("a [redacted] b [redacted] [redacted]");
    expect(makeRedactor([])("same")).toBe("same");
  });
});

describe("metrics", () => {
  test("Prometheus text: counters, cumulative histogram buckets, escaped labels, gauges", () => {
    const m = new MetricsRegistry();
    const collector = readerCollector(m, 'we"ird\\name');
    collector.emit("reader.get", { duration_ms: 0.2, found: true });
    collector.emit("reader.get", { duration_ms: 3, found: false });
    collector.emit("reader.multi_get", { duration_ms: 40, num_keys: 5 });
    collector.emit("reader.refreshed", { changed: true });
    collector.emit("something.else", {});
    m.gauge("snapshot_rows", "Rows.", () => [{ labels: { snapshot: "a" }, value: 12 }]);
    const text = m.render();
    const label = 'snapshot="we\\"ird\\\\name"';
    expect(text).toContain(`shardyfusion_reader_gets_total{${label}} 2`);
    expect(text).toContain(`shardyfusion_reader_multi_gets_total{${label}} 1`);
    expect(text).toContain(`shardyfusion_reader_get_duration_seconds_bucket{${label},le="0.0001"} 0`);
    expect(text).toContain(`shardyfusion_reader_get_duration_seconds_bucket{${label},le="0.00025"} 1`);
    expect(text).toContain(`shardyfusion_reader_get_duration_seconds_bucket{${label},le="0.005"} 2`);
    expect(text).toContain(`shardyfusion_reader_get_duration_seconds_bucket{${label},le="+Inf"} 2`);
    expect(text).toContain(`shardyfusion_reader_get_duration_seconds_count{${label}} 2`);
    expect(text).toMatch(/shardyfusion_reader_get_duration_seconds_sum\{[^}]+\} 0\.0032/);
    expect(text).toContain(`shardyfusion_reader_refreshes_total{${label},changed="true"} 1`);
    expect(text).toContain("# TYPE shardyfusion_snapshot_rows gauge\n");
    expect(text).toContain('shardyfusion_snapshot_rows{snapshot="a"} 12\n');
  });
});

describe("app in-process", () => {
  let dir = "";
  let currentUrl = "";
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "shardy-server-units-"));
    currentUrl = `file://${dir}/snap/_CURRENT`;
    await publishVersion(
      dir,
      { name: "u", store: "file", backend: "sqlite", keyEncoding: "u64be", numDbs: 2, rows: 20, currentUrl },
      "x",
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("auth comes before the snapshot lookup; admin routes are disabled without a token", async () => {
    const server = createServer(
      buildServerConfig(
        { snapshots: { u: { current_url: currentUrl, local_root: `${dir}/c1` } } },
        {},
        {
          SHARDY_SERVER_READ_TOKEN: "read-token-0123456789",
        },
      ),
      { writeLog: () => {} },
    );
    await server.registry.openAll();
    try {
      const unknown = await server.app.request("/v1/secret-name/info");
      expect(unknown.status).toBe(401);
      expect(await unknown.text()).not.toContain("secret-name");
      const ok = await server.app.request("/v1/u/get/3?value_encoding=utf8", {
        headers: { authorization: "Bearer read-token-0123456789" },
      });
      expect(await ok.json()).toEqual({ key: "3", found: true, value: "x-3" });
      const refresh = await server.app.request("/v1/u/refresh", {
        method: "POST",
        headers: { authorization: "Bearer read-token-0123456789" },
      });
      expect(refresh.status).toBe(403);
      expect((await refresh.json()).code).toBe("admin_disabled");
      const root = await server.app.request("/");
      expect(root.status).toBe(302);
      expect(root.headers.get("location")).toBe("/ui");
      const ui = await server.app.request("/ui");
      expect(ui.headers.get("content-type")).toContain("text/html");
      expect(await ui.text()).toContain('<script src="/ui/app.js">');
    } finally {
      await server.close();
    }
  });

  test("the value cache answers repeated gets and is dropped when the manifest changes", async () => {
    const server = createServer(
      buildServerConfig(
        { value_cache_entries: 2, snapshots: { u: { current_url: currentUrl, local_root: `${dir}/c2` } } },
        {},
        { SHARDY_SERVER_ADMIN_TOKEN: "admin-token-0123456789" },
      ),
      { writeLog: () => {} },
    );
    await server.registry.openAll();
    const get = async (k: number) => (await server.app.request(`/v1/u/get/${k}?value_encoding=utf8`)).json();
    const metric = (name: string) =>
      Number(
        new RegExp(`^shardyfusion_${name}\\{snapshot="u"\\} (\\d+)$`, "m").exec(server.metrics.render())?.[1],
      );
    try {
      expect(await get(1)).toEqual({ key: "1", found: true, value: "x-1" });
      expect(await get(1)).toEqual({ key: "1", found: true, value: "x-1" });
      expect(await get(99)).toEqual({ key: "99", found: false, value: null });
      expect(await get(99)).toEqual({ key: "99", found: false, value: null });
      expect(metric("value_cache_hits_total")).toBe(2);
      expect(metric("reader_gets_total")).toBe(2);
      // Capacity 2: a third key evicts the least recently used one (1).
      await get(2);
      await get(1);
      expect(metric("reader_gets_total")).toBe(4);
      await publishVersion(
        dir,
        {
          name: "u",
          store: "file",
          backend: "sqlite",
          keyEncoding: "u64be",
          numDbs: 2,
          rows: 20,
          currentUrl,
        },
        "y",
      );
      const refresh = await server.app.request("/v1/u/refresh", {
        method: "POST",
        headers: { authorization: "Bearer admin-token-0123456789" },
      });
      expect((await refresh.json()).changed).toBe(true);
      expect(await get(1)).toEqual({ key: "1", found: true, value: "y-1" });
    } finally {
      await server.close();
    }
  });

  test("a snapshot that cannot load answers 503 and readyz says why", async () => {
    const server = createServer(
      buildServerConfig({ snapshots: { gone: `file://${dir}/nothing/_CURRENT` } }),
      {
        writeLog: () => {},
      },
    );
    await server.registry.openAll();
    try {
      const res = await server.app.request("/v1/gone/get/1");
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.code).toBe("snapshot_not_loaded");
      expect(body.error).toContain("CURRENT pointer not found");
      const ready = await server.app.request("/readyz");
      expect(ready.status).toBe(503);
      expect((await ready.json()).snapshots.gone.load_error).toContain("ReaderStateError");
    } finally {
      await server.close();
    }
  });
});
