/**
 * The HTTP suite: one list of cases that only speak HTTP to a running server, shared by the Bun
 * entry (http.test.ts) and the Deno entry (test/deno/server_http.test.ts), Hono's
 * `runtime-tests` style. Each entry starts the server under its own runtime and hands a harness in.
 */
import assert from "node:assert/strict";
import {
  type FixtureSet,
  keyText,
  type SnapshotFixture,
  serverConfigFor,
  valueFor,
} from "./helpers/fixture-types.ts";
import type { TcpProxy } from "./helpers/tcp-proxy.ts";

export interface RunningServer {
  url: string;
  stderr(): string;
  stop(): Promise<void>;
}

export interface Harness {
  runtime: "bun" | "deno";
  /** The main server: every fixture snapshot, read and admin tokens on. */
  server: RunningServer;
  tokens: { read: string; admin: string };
  /** Values that must never show up in a response or a log. */
  secrets: string[];
  fixtures: FixtureSet;
  /** Publishes one more version of a fixture snapshot; returns its run id. */
  publish(name: string, prefix: string): Promise<string>;
  /** Another server process of the same runtime (fault cases); `env` adds to the MinIO credentials. */
  startServer(config: Record<string, unknown>, env: Record<string, string>): Promise<RunningServer>;
  startProxy(target: { host: string; port: number }): Promise<TcpProxy>;
}

export interface SuiteCase {
  name: string;
  fn: () => Promise<void>;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field
  json: any;
}

async function call(
  base: string,
  path: string,
  options: { method?: string; token?: string | null; body?: unknown; rawBody?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(base + path, { method: options.method ?? (body ? "POST" : "GET"), headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** An error answer: the status, a JSON body naming the problem, no stack trace, no secret. */
function assertError(
  a: Answer,
  status: number,
  code: string,
  mentions: Array<string | RegExp>,
  secrets: string[],
) {
  assert.equal(a.status, status, `expected ${status}, got ${a.status}: ${a.text}`);
  assert.match(a.headers.get("content-type") ?? "", /application\/json/);
  assert.equal(typeof a.json?.error, "string", `no JSON error in ${a.text}`);
  assert.equal(a.json.code, code, a.text);
  for (const m of mentions) {
    if (typeof m === "string")
      assert.ok(a.json.error.includes(m), `error ${JSON.stringify(a.json.error)} should mention ${m}`);
    else assert.match(a.json.error, m);
  }
  assertClean(a.text, secrets);
}

function assertClean(text: string, secrets: string[]) {
  assert.doesNotMatch(text, /\n\s+at [^\n]+[:(]/, "a stack trace leaked");
  for (const s of secrets) assert.ok(!text.includes(s), "a secret leaked");
}

const te = new TextEncoder();
const hex = (s: string) => Array.from(te.encode(s), (b) => b.toString(16).padStart(2, "0")).join("");
const b64 = (s: string) => btoa(String.fromCharCode(...te.encode(s)));

async function poll<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  tries = 120,
  delayMs = 250,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function currentPrefix(s: SnapshotFixture): string {
  return s.versions.at(-1)!;
}

function snapshotCases(h: () => Harness, s: SnapshotFixture): SuiteCase[] {
  const read = (path: string) => call(h().server.url, path, { token: h().tokens.read });
  const base = `/v1/${s.name}`;
  const sample = [0, 1, 7, 42, s.rows - 1];
  return [
    {
      name: `${s.name}: get returns the current value in base64 (default), hex and utf8`,
      fn: async () => {
        const prefix = currentPrefix(s);
        for (const i of sample) {
          const key = keyText(s.keyEncoding, i);
          const want = valueFor(prefix, i);
          const a = await read(`${base}/get/${encodeURIComponent(key)}`);
          assert.equal(a.status, 200, a.text);
          assert.deepEqual(a.json, { key, found: true, value: b64(want) });
          const x = await read(`${base}/get/${encodeURIComponent(key)}?value_encoding=hex`);
          assert.equal(x.json.value, hex(want));
          const u = await read(`${base}/get/${encodeURIComponent(key)}?value_encoding=utf8`);
          assert.equal(u.json.value, want);
        }
      },
    },
    {
      name: `${s.name}: a missing key answers 404 found:false`,
      fn: async () => {
        const key = keyText(s.keyEncoding, s.rows + 1000);
        const a = await read(`${base}/get/${encodeURIComponent(key)}`);
        assert.equal(a.status, 404);
        assert.deepEqual(a.json, { key, found: false, value: null });
      },
    },
    {
      name: `${s.name}: multiget returns every key in input order`,
      fn: async () => {
        const prefix = currentPrefix(s);
        const all = Array.from({ length: s.rows }, (_, i) => i).reverse();
        for (let start = 0; start < all.length; start += 99) {
          const ids = all.slice(start, start + 99);
          const keys: Array<string | number> = ids.map((i) => keyText(s.keyEncoding, i));
          keys.push(keyText(s.keyEncoding, s.rows + 5));
          const a = await call(h().server.url, `${base}/multiget`, {
            token: h().tokens.read,
            body: { keys, value_encoding: "utf8" },
          });
          assert.equal(a.status, 200, a.text);
          assert.equal(a.json.results.length, keys.length);
          ids.forEach((i, j) => {
            assert.deepEqual(a.json.results[j], { key: keys[j], found: true, value: valueFor(prefix, i) });
          });
          assert.deepEqual(a.json.results.at(-1), { key: keys.at(-1), found: false, value: null });
        }
      },
    },
    {
      name: `${s.name}: route names the shard the writer put the key in`,
      fn: async () => {
        for (const r of s.routes) {
          const a = await read(`${base}/route/${encodeURIComponent(r.key)}`);
          assert.equal(a.status, 200, a.text);
          assert.equal(a.json.db_id, r.dbId, `key ${r.key}`);
          assert.equal(a.json.num_dbs, s.numDbs);
          assert.equal(a.json.strategy, "hash");
          assert.equal(a.json.shard.db_id, r.dbId);
          assert.ok(a.json.shard.row_count > 0);
          assert.ok(String(a.json.shard.db_url).includes(`db=0000${r.dbId}`));
        }
      },
    },
    {
      name: `${s.name}: info, shards and history describe the snapshot`,
      fn: async () => {
        const info = await read(`${base}/info`);
        assert.equal(info.status, 200, info.text);
        assert.equal(info.json.snapshot, s.name);
        assert.equal(info.json.run_id, s.runIds.at(-1));
        assert.equal(info.json.num_dbs, s.numDbs);
        assert.equal(info.json.row_count, s.rows);
        assert.equal(info.json.key_encoding, s.keyEncoding);
        assert.equal(info.json.sharding.strategy, "hash");
        assert.equal(info.json.backend, s.backend === "slatedb" ? "slatedb" : `sqlite:${s.sqliteMode}`);
        assert.ok(info.json.db_bytes > 0);
        assert.equal(info.json.server.store_reachable, true);
        const shards = await read(`${base}/shards`);
        assert.equal(shards.status, 200);
        assert.equal(shards.json.shards.length, s.numDbs);
        assert.equal(
          shards.json.shards.reduce((n: number, x: { row_count: number }) => n + x.row_count, 0),
          s.rows,
        );
        const hist = await read(`${base}/history`);
        assert.equal(hist.status, 200, hist.text);
        assert.deepEqual(
          hist.json.manifests.map((m: { run_id: string }) => m.run_id),
          [...s.runIds].reverse(),
        );
        assert.equal(hist.json.manifests[0].current, true);
        assert.equal(hist.json.serving_ref, info.json.manifest_ref);
      },
    },
  ];
}

function rollbackCases(h: () => Harness, s: SnapshotFixture): SuiteCase[] {
  const base = `/v1/${s.name}`;
  return [
    {
      name: `${s.name}: rollback to the previous manifest serves it at once, and forward again`,
      fn: async () => {
        const { url } = h().server;
        const admin = h().tokens.admin;
        const key = keyText(s.keyEncoding, 7);
        const back = await call(url, `${base}/rollback`, { token: admin, body: { offset: 1 } });
        assert.equal(back.status, 200, back.text);
        assert.equal(back.json.run_id, s.runIds[0]);
        assert.equal(back.json.changed, true);
        assert.equal(back.json.serving_ref, back.json.manifest_ref);
        const old = await call(url, `${base}/get/${key}?value_encoding=utf8`, { token: h().tokens.read });
        assert.equal(old.json.value, valueFor(s.versions[0]!, 7));
        const hist = await call(url, `${base}/history`, { token: h().tokens.read });
        assert.equal(hist.json.manifests.find((m: { current: boolean }) => m.current).run_id, s.runIds[0]);
        const fwd = await call(url, `${base}/rollback`, { token: admin, body: { run_id: s.runIds.at(-1) } });
        assert.equal(fwd.status, 200, fwd.text);
        const now = await call(url, `${base}/get/${key}?value_encoding=utf8`, { token: h().tokens.read });
        assert.equal(now.json.value, valueFor(currentPrefix(s), 7));
      },
    },
  ];
}

/** The snapshot most cases poke at: the rollback one, else the first u64be one. */
function primary(h: () => Harness): SnapshotFixture {
  const all = h().fixtures.snapshots;
  return all.find((s) => s.rollback) ?? all.find((s) => s.keyEncoding === "u64be")!;
}

export interface SuiteOptions {
  /**
   * The edge worker: a read-only store, so rollback answers 501, and the cases that start extra
   * servers (store faults) are not part of its suite.
   */
  edge?: boolean;
}

export function httpSuite(h: () => Harness, options: SuiteOptions = {}): SuiteCase[] {
  const edge = options.edge ?? false;
  const cases: SuiteCase[] = [];
  const url = () => h().server.url;
  const read = (path: string) => call(url(), path, { token: h().tokens.read });
  const p = () => `/v1/${primary(h).name}`;

  cases.push(
    {
      name: "healthz and readyz",
      fn: async () => {
        const health = await call(url(), "/healthz");
        assert.deepEqual(health.json, { status: "ok" });
        const ready = await call(url(), "/readyz");
        assert.equal(ready.status, 200, ready.text);
        assert.equal(ready.json.status, "ready");
        for (const s of h().fixtures.snapshots)
          assert.equal(ready.json.snapshots[s.name].loaded, true, s.name);
      },
    },
    {
      name: "snapshots lists every served snapshot",
      fn: async () => {
        const a = await read("/v1");
        assert.equal(a.status, 200);
        assert.deepEqual(
          a.json.snapshots.map((s: { name: string }) => s.name).sort(),
          h()
            .fixtures.snapshots.map((s) => s.name)
            .sort(),
        );
      },
    },
  );

  cases.push({
    name: "every HASH snapshot: get, multiget, route, info, shards, history",
    fn: async () => {
      for (const s of h().fixtures.snapshots.filter((x) => !x.cel)) {
        for (const c of snapshotCases(h, s)) {
          try {
            await c.fn();
          } catch (err) {
            throw new Error(`${c.name}: ${(err as Error).message}`, { cause: err });
          }
        }
      }
    },
  });

  cases.push(
    {
      name: "utf8 keys: path text, hex and base64 key formats",
      fn: async () => {
        const s = h().fixtures.snapshots.find((x) => x.keyEncoding === "utf8");
        assert.ok(s, "the fixture set has a utf8-keyed snapshot");
        const key = keyText("utf8", 42);
        const want = valueFor(currentPrefix(s), 42);
        for (const q of [`${key}?`, `${hex(key)}?key_format=hex&`, `${b64(key)}?key_format=base64&`]) {
          const a = await read(`/v1/${s.name}/get/${q}value_encoding=utf8`);
          assert.equal(a.status, 200, a.text);
          assert.equal(a.json.value, want);
        }
        const m = await call(url(), `/v1/${s.name}/multiget`, {
          token: h().tokens.read,
          body: { keys: [hex(key)], key_format: "hex", value_encoding: "utf8" },
        });
        assert.equal(m.json.results[0].value, want);
      },
    },
    {
      name: "u64be keys: 8-byte hex keys and integer JSON keys",
      fn: async () => {
        const s = primary(h);
        const a = await read(`/v1/${s.name}/get/000000000000002a?key_format=hex&value_encoding=utf8`);
        assert.equal(a.status, 200, a.text);
        assert.equal(a.json.value, valueFor(currentPrefix(s), 42));
        const m = await call(url(), `/v1/${s.name}/multiget`, {
          token: h().tokens.read,
          body: { keys: [42, "7"], value_encoding: "utf8" },
        });
        assert.deepEqual(
          m.json.results.map((r: { value: string }) => r.value),
          [valueFor(currentPrefix(s), 42), valueFor(currentPrefix(s), 7)],
        );
      },
    },
    {
      name: "raw value encoding answers the bytes",
      fn: async () => {
        const s = primary(h);
        const res = await fetch(`${url()}/v1/${s.name}/get/7?value_encoding=raw`, {
          headers: { authorization: `Bearer ${h().tokens.read}` },
        });
        assert.equal(res.headers.get("content-type"), "application/octet-stream");
        assert.equal(await res.text(), valueFor(currentPrefix(s), 7));
      },
    },
    {
      name: "routing_context is validated and ignored by HASH snapshots",
      fn: async () => {
        const ok = await read(`${p()}/get/7?routing_context=${encodeURIComponent('{"region":"eu"}')}`);
        assert.equal(ok.status, 200, ok.text);
        assertError(
          await read(`${p()}/get/7?routing_context=nope`),
          400,
          "bad_routing_context",
          ["routing_context", "not JSON"],
          h().secrets,
        );
      },
    },
  );

  if (!edge) {
    cases.push({
      name: "CEL key-only snapshot: shard_hash(key) % N routes like HASH; get and multiget",
      fn: async () => {
        const s = h().fixtures.snapshots.find((x) => x.cel?.mode === "key");
        assert.ok(s, "the fixture set has a key-only CEL snapshot");
        const info = await read(`/v1/${s.name}/info`);
        assert.equal(info.json.sharding.strategy, "cel");
        assert.equal(info.json.sharding.cel_expr, s.cel!.expr);
        for (const r of s.routes) {
          const a = await read(`/v1/${s.name}/route/${r.key}`);
          assert.equal(a.status, 200, a.text);
          assert.equal(a.json.db_id, r.dbId);
          assert.equal(a.json.strategy, "cel");
          const g = await read(`/v1/${s.name}/get/${r.key}?value_encoding=utf8`);
          assert.equal(g.json.value, valueFor(currentPrefix(s), Number(r.key)));
        }
        const keys = Array.from({ length: 50 }, (_, i) => i * 3);
        const m = await call(url(), `/v1/${s.name}/multiget`, {
          token: h().tokens.read,
          body: { keys, value_encoding: "utf8" },
        });
        assert.deepEqual(
          m.json.results.map((r: { value: string }) => r.value),
          keys.map((i) => valueFor(currentPrefix(s), i)),
        );
      },
    });
  }

  cases.push({
    name: "CEL routing_context: in the query (get, route) or the body (multiget)",
    fn: async () => {
      const s = h().fixtures.snapshots.find((x) => x.cel?.mode === "region");
      assert.ok(s, "the fixture set has a categorical CEL snapshot");
      const { regionOf, regions } = s.cel!;
      const base = `/v1/${s.name}`;
      const ctx = (o: unknown) => `routing_context=${encodeURIComponent(JSON.stringify(o))}`;
      const sec = h().secrets;
      for (const i of [0, 1, 7, 42]) {
        const region = regionOf![i]!;
        const g = await read(`${base}/get/${i}?value_encoding=utf8&${ctx({ region })}`);
        assert.equal(g.status, 200, g.text);
        assert.equal(g.json.value, valueFor(currentPrefix(s), i));
        const r = await read(`${base}/route/${i}?${ctx({ region })}`);
        assert.equal(r.json.db_id, regions!.indexOf(region));
        // Another region routes to another shard, which does not hold the key.
        const other = regions!.find((x) => x !== region)!;
        const miss = await read(`${base}/get/${i}?${ctx({ region: other })}`);
        assert.equal(miss.status, 404, miss.text);
      }
      // An unknown token routes nowhere: get answers not found, route says why.
      const unknown = await read(`${base}/get/1?${ctx({ region: "zz" })}`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.found, false);
      assertError(
        await read(`${base}/route/1?${ctx({ region: "zz" })}`),
        400,
        "bad_key",
        ["routing_values"],
        sec,
      );
      assertError(
        await read(`${base}/get/1`),
        400,
        "bad_routing_context",
        ["routing_context", "region"],
        sec,
      );
      assertError(
        await read(`${base}/get/1?${ctx({ region: 5 })}`),
        400,
        "bad_routing_context",
        ["routing_context.region", "string"],
        sec,
      );
      assertError(
        await read(`${base}/get/1?${ctx({ zone: "eu" })}`),
        400,
        "bad_routing_context",
        ['"zone"', "region"],
        sec,
      );
      const all = Array.from({ length: s.rows }, (_, i) => i).slice(0, 99);
      const m = await call(url(), `${base}/multiget`, {
        token: h().tokens.read,
        body: { keys: all, routing_context: { region: "eu" }, value_encoding: "utf8" },
      });
      assert.equal(m.status, 200, m.text);
      all.forEach((i, j) => {
        const r = m.json.results[j];
        if (regionOf![i] === "eu") assert.equal(r.value, valueFor(currentPrefix(s), i));
        else assert.equal(r.found, false, `key ${i} is in ${regionOf![i]}, not eu`);
      });
    },
  });

  // Bad input: every answer is a 4xx with a JSON error naming the problem.
  cases.push(
    {
      name: "bad input: unknown snapshot",
      fn: async () => {
        assertError(
          await read("/v1/nope/get/1"),
          404,
          "unknown_snapshot",
          ['"nope"', `"${primary(h).name}"`],
          h().secrets,
        );
        assertError(await read("/v1/nope/info"), 404, "unknown_snapshot", ['"nope"'], h().secrets);
      },
    },
    {
      name: "bad input: keys that do not parse for the key encoding",
      fn: async () => {
        const sec = h().secrets;
        assertError(await read(`${p()}/get/abc`), 400, "bad_key", ['"abc"', "u64be", "integer"], sec);
        assertError(await read(`${p()}/get/4.5`), 400, "bad_key", ['"4.5"'], sec);
        assertError(await read(`${p()}/get/-1`), 400, "bad_key", ["-1"], sec);
        assertError(await read(`${p()}/get/${2n ** 64n}`), 400, "bad_key", [String(2n ** 64n)], sec);
        assertError(await read(`${p()}/route/xyz`), 400, "bad_key", ['"xyz"'], sec);
        assertError(await read(`${p()}/get/abc?key_format=hex`), 400, "bad_key", ["hex"], sec);
        assertError(await read(`${p()}/get/0a0b?key_format=hex`), 400, "bad_key", ["2 bytes", "u64be"], sec);
        assertError(await read(`${p()}/get/@@?key_format=base64`), 400, "bad_key", ["base64"], sec);
        assertError(await read(`${p()}/get/1?key_format=morse`), 400, "bad_request", ["morse"], sec);
        assertError(await read(`${p()}/get/1?value_encoding=rot13`), 400, "bad_request", ["rot13"], sec);
      },
    },
    {
      name: "bad input: multiget bodies",
      fn: async () => {
        const sec = h().secrets;
        const post = (body: unknown, raw?: string) =>
          call(url(), `${p()}/multiget`, {
            token: h().tokens.read,
            body,
            rawBody: raw,
            method: "POST",
          });
        assertError(await post(undefined, "{not json"), 400, "bad_json", ["not valid JSON"], sec);
        assertError(await post([1, 2]), 400, "bad_json", ["JSON object"], sec);
        assertError(await post({ key: [1] }), 400, "bad_request", ['"keys"'], sec);
        assertError(await post({ keys: [1, { a: 1 }] }), 400, "bad_key", ["keys[1]"], sec);
        assertError(await post({ keys: [1, "x"] }), 400, "bad_key", ["keys[1]", '"x"'], sec);
        assertError(await post({ keys: [1.5] }), 400, "bad_key", ["keys[0]"], sec);
        const many = Array.from({ length: 101 }, (_, i) => i);
        assertError(await post({ keys: many }), 413, "too_many_keys", ["101 keys", "limit of 100"], sec);
        const huge = JSON.stringify({ keys: ["1"], pad: "x".repeat(2 * 1024 * 1024) });
        assertError(await post(undefined, huge), 413, "body_too_large", ["bytes"], sec);
        const utf8Name = h().fixtures.snapshots.find((x) => x.keyEncoding === "utf8")!.name;
        const utf8 = await call(url(), `/v1/${utf8Name}/multiget`, {
          token: h().tokens.read,
          body: { keys: [5] },
        });
        assertError(utf8, 400, "bad_key", ["utf8", "strings"], sec);
      },
    },
    {
      name: "auth: missing or wrong tokens",
      fn: async () => {
        const sec = h().secrets;
        const { read: readToken, admin } = h().tokens;
        const missing = await call(url(), `${p()}/get/1`, { token: null });
        assertError(missing, 401, "unauthorized", ["missing bearer token"], sec);
        assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
        assertError(
          await call(url(), `${p()}/get/1`, { token: "wrong-token-0123456789" }),
          403,
          "forbidden",
          ["not valid for reads"],
          sec,
        );
        const basic = await fetch(`${url()}${p()}/info`, {
          headers: { authorization: "Basic dTpw" },
        });
        assert.equal(basic.status, 401);
        assertError(
          await call(url(), `${p()}/refresh`, { method: "POST", token: null }),
          401,
          "unauthorized",
          ["admin token"],
          sec,
        );
        assertError(
          await call(url(), `${p()}/refresh`, { method: "POST", token: readToken }),
          403,
          "forbidden",
          ["not the admin token"],
          sec,
        );
        assertError(
          await call(url(), `${p()}/rollback`, { token: readToken, body: { offset: 1 } }),
          403,
          "forbidden",
          ["admin token"],
          sec,
        );
        // The admin token also reads.
        const byAdmin = await call(url(), `${p()}/get/1`, { token: admin });
        assert.equal(byAdmin.status, 200);
      },
    },
    {
      name: edge
        ? "edge: rollback answers 501, unknown routes 404"
        : "bad input: rollback bodies and unknown routes",
      fn: async () => {
        const sec = h().secrets;
        const admin = h().tokens.admin;
        if (edge) {
          assertError(
            await call(url(), `${p()}/rollback`, { token: admin, body: { offset: 1 } }),
            501,
            "not_available_at_edge",
            ["rollback"],
            sec,
          );
          assertError(await read("/v2/whatever"), 404, "not_found", ["/v2/whatever"], sec);
          return;
        }
        assertError(
          await call(url(), `${p()}/rollback`, { token: admin, body: {} }),
          400,
          "bad_request",
          ['"ref", "run_id" or "offset"'],
          sec,
        );
        assertError(
          await call(url(), `${p()}/rollback`, { token: admin, body: { offset: -2 } }),
          400,
          "bad_request",
          ["offset"],
          sec,
        );
        const missingRun = await call(url(), `${p()}/rollback`, {
          token: admin,
          body: { run_id: "no-such-run" },
        });
        assert.ok(missingRun.status >= 400 && missingRun.status < 500, missingRun.text);
        assert.ok(missingRun.json.error.includes("no-such-run"), missingRun.text);
        assertClean(missingRun.text, sec);
        assertError(await read("/v2/whatever"), 404, "not_found", ["/v2/whatever"], sec);
      },
    },
    {
      name: "refresh: the admin token refreshes (nothing changed)",
      fn: async () => {
        const a = await call(url(), `${p()}/refresh`, { method: "POST", token: h().tokens.admin });
        assert.equal(a.status, 200, a.text);
        assert.equal(a.json.changed, false);
      },
    },
  );

  if (!edge)
    cases.push({
      name: "rollback on the file store and on MinIO",
      fn: async () => {
        for (const s of h().fixtures.snapshots.filter((x) => x.rollback)) {
          for (const c of rollbackCases(h, s)) await c.fn();
        }
      },
    });

  cases.push({
    name: "background refresh picks up a newly published version",
    fn: async () => {
      const s = h().fixtures.snapshots.find((x) => x.live)!;
      const prefix = `${currentPrefix(s)}n`;
      const runId = await h().publish(s.name, prefix);
      await poll("the server to serve the new run", async () => {
        const info = await read(`/v1/${s.name}/info`);
        return info.json.run_id === runId ? true : undefined;
      });
      const a = await read(`/v1/${s.name}/get/9?value_encoding=utf8`);
      assert.equal(a.json.value, valueFor(prefix, 9));
      s.versions.push(prefix);
      s.runIds.push(runId);
    },
  });

  cases.push({
    name: "metrics: reference names in Prometheus text",
    fn: async () => {
      const a = await call(url(), "/metrics");
      assert.equal(a.status, 200);
      assert.match(a.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const fx = h().fixtures.snapshots;
      const first = primary(h).name;
      const slate = fx.find((x) => x.backend === "slatedb")!.name;
      const utf8 = fx.find((x) => x.keyEncoding === "utf8")!.name;
      const gets = new RegExp(`^shardyfusion_reader_gets_total\\{snapshot="${first}"\\} (\\d+)$`, "m").exec(
        a.text,
      );
      assert.ok(gets && Number(gets[1]) > 0, `reader_gets_total for ${first}`);
      assert.match(a.text, /^# TYPE shardyfusion_reader_get_duration_seconds histogram$/m);
      const line = (re: string) => assert.match(a.text, new RegExp(`^${re}$`, "m"));
      line(`shardyfusion_reader_get_duration_seconds_bucket\\{snapshot="${slate}",le="\\+Inf"\\} [1-9]\\d*`);
      line(`shardyfusion_reader_multi_gets_total\\{snapshot="${utf8}"\\} [1-9]\\d*`);
      line(`shardyfusion_reader_multi_get_duration_seconds_count\\{snapshot="${first}"\\} [1-9]\\d*`);
      line(`shardyfusion_snapshot_rows\\{snapshot="${slate}"\\} ${fx.find((x) => x.name === slate)!.rows}`);
      line(`shardyfusion_store_reachable\\{snapshot="${first}"\\} 1`);
      assert.match(
        a.text,
        /^shardyfusion_http_requests_total\{method="GET",route="\/v1\/:snapshot\/get\/:key",status="200"\} \d+$/m,
      );
    },
  });

  if (!edge)
    cases.push({
      name: "store faults: an unreachable store answers 503 and loaded snapshots keep serving",
      fn: async () => {
        const fx = h().fixtures;
        const endpoint = new URL(fx.s3.endpoint);
        const proxy = await h().startProxy({ host: endpoint.hostname, port: Number(endpoint.port) });
        const config = serverConfigFor(fx, {
          endpoint: `http://127.0.0.1:${proxy.port}`,
          refreshSeconds: 1,
          only: ["s3-sqlite", "s3-slatedb"],
        });
        const server = await h().startServer(config, { SHARDY_SERVER_ADMIN_TOKEN: h().tokens.admin });
        try {
          const s = fx.snapshots.find((x) => x.name === "s3-sqlite")!;
          const admin = h().tokens.admin;
          // Reads are open on this server (no read token configured).
          const before = await call(server.url, "/v1/s3-sqlite/get/7?value_encoding=utf8");
          assert.equal(before.status, 200, before.text);
          await proxy.stop();
          const refresh = await call(server.url, "/v1/s3-sqlite/refresh", { method: "POST", token: admin });
          assertError(refresh, 503, "store_unavailable", ["unreachable", "keeps serving"], h().secrets);
          const during = await call(server.url, "/v1/s3-sqlite/get/7?value_encoding=utf8");
          assert.equal(during.status, 200, during.text);
          assert.equal(during.json.value, valueFor(currentPrefix(s), 7));
          const multi = await call(server.url, "/v1/s3-sqlite/multiget", { body: { keys: [1, 2, 3] } });
          assert.equal(multi.status, 200, multi.text);
          assertError(
            await call(server.url, "/v1/s3-sqlite/history"),
            503,
            "store_unavailable",
            [],
            h().secrets,
          );
          const info = await call(server.url, "/v1/s3-sqlite/info");
          assert.equal(info.status, 200);
          assert.equal(info.json.server.store_reachable, false);
          assert.equal(info.json.run_id, s.runIds.at(-1));
          const ready = await call(server.url, "/readyz");
          assert.equal(ready.status, 200, "still serving, so still ready");
          assert.equal(ready.json.snapshots["s3-sqlite"].store_reachable, false);
          const metrics = await call(server.url, "/metrics");
          assert.match(metrics.text, /^shardyfusion_store_reachable\{snapshot="s3-sqlite"\} 0$/m);
          await proxy.start();
          await poll("the store to be reachable again", async () => {
            const r = await call(server.url, "/v1/s3-sqlite/refresh", { method: "POST", token: admin });
            return r.status === 200 ? true : undefined;
          });
          const after = await call(server.url, "/v1/s3-sqlite/info");
          assert.equal(after.json.server.store_reachable, true);
        } finally {
          await server.stop();
          await proxy.stop();
        }
        assertClean(server.stderr(), h().secrets);
        assert.match(server.stderr(), /"event":"refresh_failed"|"event":"request_failed"/);
      },
    });

  if (!edge)
    cases.push({
      name: "store faults: a server started while the store is down loads the snapshot once it is back",
      fn: async () => {
        const fx = h().fixtures;
        const endpoint = new URL(fx.s3.endpoint);
        const proxy = await h().startProxy({ host: endpoint.hostname, port: Number(endpoint.port) });
        await proxy.stop();
        const config = serverConfigFor(fx, {
          endpoint: `http://127.0.0.1:${proxy.port}`,
          refreshSeconds: 1,
          only: ["s3-sqlite-range"],
        });
        const server = await h().startServer(config, {});
        try {
          const notReady = await call(server.url, "/readyz");
          assert.equal(notReady.status, 503);
          assert.equal(notReady.json.status, "not_ready");
          assertError(
            await call(server.url, "/v1/s3-sqlite-range/get/1"),
            503,
            "snapshot_not_loaded",
            ['"s3-sqlite-range"', "not loaded yet"],
            h().secrets,
          );
          await proxy.start();
          await poll("the snapshot to load", async () => {
            const r = await call(server.url, "/readyz");
            return r.status === 200 ? true : undefined;
          });
          const s = fx.snapshots.find((x) => x.name === "s3-sqlite-range")!;
          const a = await call(server.url, "/v1/s3-sqlite-range/get/3?value_encoding=utf8");
          assert.equal(a.json.value, valueFor(currentPrefix(s), 3));
        } finally {
          await server.stop();
          await proxy.stop();
        }
        assertClean(server.stderr(), h().secrets);
      },
    });

  cases.push({
    name: "logs: JSON lines, no secrets, no stack traces",
    fn: async () => {
      const lines = h()
        .server.stderr()
        .split("\n")
        .filter((l) => l.trim() !== "");
      // workerd interleaves its own runtime diagnostics with the worker's console output.
      const ours = edge ? lines.filter((l) => l.startsWith("{")) : lines;
      assert.ok(
        ours.some((l) => l.includes('"event":"snapshot_loaded"')),
        "the server logs JSON lines",
      );
      for (const line of ours) {
        assert.doesNotThrow(() => JSON.parse(line), `log line is not JSON: ${line}`);
        assertClean(line, h().secrets);
      }
      assertClean(ours.join("\n"), h().secrets);
    },
  });

  return cases;
}
