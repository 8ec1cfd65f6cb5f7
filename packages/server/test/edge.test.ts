/**
 * The edge worker in workerd (npm `workerd`), against MinIO on loopback: builds the bundle (kernel
 * and sql.js wasm embedded as modules), runs it under `workerd serve` with SigV4 credentials bound
 * from the environment, and runs the HTTP suite's edge cases (route and get over SQLite range reads
 * and SlateDB, bad input, auth, background refresh of `_CURRENT`). A second worker with wrong
 * credentials must answer 503 with a JSON error naming the credentials problem.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { KERNEL_WASM_NAME, SQL_WASM_NAME } from "../src/edge/build.ts";
import type { FixtureSet } from "./helpers/fixture-types.ts";
import { buildFixtures, EDGE_SPECS, publishVersion } from "./helpers/fixtures.ts";
import { startServerProcess } from "./helpers/server-process.ts";
import { type Harness, httpSuite, type RunningServer } from "./http-suite.ts";

const WORKERD = Bun.resolveSync("workerd/bin/workerd", import.meta.dir);

let harness: Harness | undefined;
let wrongCreds: RunningServer | undefined;
let dir = "";
let bundleScript = "";
const started: RunningServer[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const capnpString = (s: string) => JSON.stringify(s);

function workerConfig(
  bundleDir: string,
  workers: Array<{
    name: string;
    port: number;
    text: Record<string, string>;
    fromEnv: Record<string, string>;
  }>,
): string {
  const services = workers.map((w) => `(name = ${capnpString(w.name)}, worker = .${w.name})`);
  const sockets = workers.map(
    (w) =>
      `(name = "${w.name}-http", address = "127.0.0.1:${w.port}", http = (), service = ${capnpString(w.name)})`,
  );
  const defs = workers.map((w) => {
    const bindings = [
      ...Object.entries(w.text).map(([k, v]) => `(name = ${capnpString(k)}, text = ${capnpString(v)})`),
      ...Object.entries(w.fromEnv).map(
        ([k, v]) => `(name = ${capnpString(k)}, fromEnvironment = ${capnpString(v)})`,
      ),
    ];
    return `const ${w.name} :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed ${capnpString(`${bundleDir}/worker.js`)}),
    (name = "${KERNEL_WASM_NAME}", wasm = embed ${capnpString(`${bundleDir}/${KERNEL_WASM_NAME}`)}),
    (name = "${SQL_WASM_NAME}", wasm = embed ${capnpString(`${bundleDir}/${SQL_WASM_NAME}`)}),
  ],
  compatibilityDate = "2025-09-15",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [${bindings.join(", ")}],
  globalOutbound = "loopback",
);`;
  });
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [${services.join(", ")}, (name = "loopback", network = (allow = ["public", "private", "local"]))],
  sockets = [${sockets.join(", ")}],
);
${defs.join("\n")}
`;
}

async function startWorkerd(config: string, env: Record<string, string | undefined>, firstPort: number) {
  const file = path.join(dir, `workerd-${started.length}.capnp`);
  writeFileSync(file, config);
  // workerd prints nothing when it is ready; a tiny wrapper waits for the socket and announces it.
  const waiter = path.join(dir, "wait-and-announce.ts");
  writeFileSync(
    waiter,
    `const [bin, cfg, port] = process.argv.slice(2);
const child = Bun.spawn([bin, "serve", cfg, "--verbose"], { stdout: "inherit", stderr: "inherit", env: process.env });
process.on("SIGTERM", () => { child.kill(); process.exit(0); });
for (let i = 0; i < 600; i++) {
  try {
    const r = await fetch("http://127.0.0.1:" + port + "/healthz");
    await r.text();
    console.log(JSON.stringify({ event: "listening", url: "http://127.0.0.1:" + port }));
    break;
  } catch { await Bun.sleep(100); }
  if (child.exitCode !== null) process.exit(child.exitCode);
}
await child.exited;
`,
  );
  const server = await startServerProcess([process.execPath, waiter, WORKERD, file, String(firstPort)], {
    cwd: dir,
    env,
    timeoutMs: 90_000,
  });
  started.push(server);
  return server;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "shardy-edge-"));
  const fixtures: FixtureSet = await buildFixtures(dir, EDGE_SPECS);
  // Built in a subprocess: Bun's bundler misreads some package files when run inside `bun test`.
  const bundleDir = path.join(dir, "bundle");
  const build = Bun.spawnSync(
    [process.execPath, path.join(import.meta.dir, "../src/edge/build.ts"), bundleDir],
    {
      stderr: "pipe",
      stdout: "pipe",
    },
  );
  if (build.exitCode !== 0) throw new Error(`edge bundle build failed: ${build.stderr.toString()}`);
  bundleScript = path.join(bundleDir, "worker.js");
  const tokens = { read: `read-${crypto.randomUUID()}`, admin: `admin-${crypto.randomUUID()}` };
  const snapshots = Object.fromEntries(fixtures.snapshots.map((s) => [s.name, s.currentUrl]));
  const [port, badPort] = [await freePort(), await freePort()];
  const common = {
    SHARDY_SNAPSHOTS: JSON.stringify(snapshots),
    SHARDY_S3_ENDPOINT: fixtures.s3.endpoint,
    SHARDY_S3_REGION: fixtures.s3.region,
    SHARDY_REFRESH_SECONDS: "1",
    SHARDY_MAX_MULTIGET_KEYS: "100",
  };
  // workerd resolves `embed` paths relative to the config file, which sits in `dir`.
  const config = workerConfig("bundle", [
    {
      name: "shardy",
      port,
      text: common,
      fromEnv: {
        AWS_ACCESS_KEY_ID: "SHARDY_TEST_S3_ACCESS_KEY",
        AWS_SECRET_ACCESS_KEY: "SHARDY_TEST_S3_SECRET_KEY",
        SHARDY_SERVER_READ_TOKEN: "EDGE_READ_TOKEN",
        SHARDY_SERVER_ADMIN_TOKEN: "EDGE_ADMIN_TOKEN",
      },
    },
    {
      name: "wrongcreds",
      port: badPort,
      text: { ...common, AWS_ACCESS_KEY_ID: "not-a-key", AWS_SECRET_ACCESS_KEY: "not-the-secret-0123" },
      fromEnv: {},
    },
  ]);
  const secret = process.env.SHARDY_TEST_S3_SECRET_KEY;
  if (!secret) throw new Error('MinIO is not configured: run `eval "$(bash scripts/minio start)"` first');
  const server = await startWorkerd(
    config,
    {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SHARDY_TEST_S3_ACCESS_KEY: process.env.SHARDY_TEST_S3_ACCESS_KEY,
      SHARDY_TEST_S3_SECRET_KEY: secret,
      EDGE_READ_TOKEN: tokens.read,
      EDGE_ADMIN_TOKEN: tokens.admin,
    },
    port,
  );
  wrongCreds = { url: `http://127.0.0.1:${badPort}`, stderr: server.stderr, stop: async () => {} };
  harness = {
    runtime: "bun",
    server,
    tokens,
    secrets: [tokens.read, tokens.admin, secret],
    fixtures,
    publish: (name, prefix) => publishVersion(dir, fixtures.snapshots.find((s) => s.name === name)!, prefix),
    startServer: () => Promise.reject(new Error("the edge suite starts no extra servers")),
    startProxy: () => Promise.reject(new Error("the edge suite uses no proxy")),
  };
}, 240_000);

afterAll(async () => {
  for (const s of started) await s.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("edge worker in workerd", () => {
  for (const c of httpSuite(
    () => {
      if (!harness) throw new Error("the workerd harness did not start (see beforeAll)");
      return harness;
    },
    { edge: true },
  )) {
    test(c.name, c.fn, 120_000);
  }

  test("edge backends: SQLite through the range reader, SlateDB through its reader", async () => {
    const h = harness!;
    const auth = { authorization: `Bearer ${h.tokens.read}` };
    const info = await (await fetch(`${h.server.url}/v1/edge-sqlite/info`, { headers: auth })).json();
    expect(info.backend).toBe("sqlite:range");
    const slate = await (await fetch(`${h.server.url}/v1/edge-slatedb/info`, { headers: auth })).json();
    expect(slate.backend).toBe("slatedb");
  });

  test("the bundle is fetch-only: no AWS SDK module in it", () => {
    const script = readFileSync(bundleScript, "utf8");
    // The bundler heads every inlined module with a `// <path>` comment.
    const modules = script.match(/^\/\/ \S+$/gm) ?? [];
    expect(modules.length).toBeGreaterThan(10);
    expect(modules.filter((m) => /@aws-sdk\/|@smithy\//.test(m))).toEqual([]);
  });

  test("wrong S3 credentials: 503 with a JSON error naming the problem, no secret", async () => {
    const res = await fetch(`${wrongCreds!.url}/v1/edge-sqlite/get/1`);
    const text = await res.text();
    expect(res.status).toBe(503);
    const body = JSON.parse(text);
    expect(body.code).toBe("snapshot_not_loaded");
    expect(body.error).toContain("credentials");
    expect(text).not.toContain("not-the-secret-0123");
    expect(text).not.toMatch(/\n\s+at /);
  });
});
