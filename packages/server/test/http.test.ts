/**
 * The HTTP suite under Bun: builds the fixture snapshots (file store and MinIO; fails, never
 * skips, when MinIO is not running), starts `bun packages/server/src/main.ts` as a subprocess on a
 * free port, and runs every shared case against it.
 */
import { afterAll, beforeAll, describe, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type FixtureSet, serverConfigFor, serverEnv } from "./helpers/fixture-types.ts";
import { buildFixtures, publishVersion } from "./helpers/fixtures.ts";
import { startServerProcess } from "./helpers/server-process.ts";
import { startTcpProxy } from "./helpers/tcp-proxy.ts";
import { type Harness, httpSuite, type RunningServer } from "./http-suite.ts";

const ROOT = path.resolve(import.meta.dir, "../../..");
const SERVE = [process.execPath, "packages/server/src/main.ts"];

let harness: Harness | undefined;
let dir = "";
const started: RunningServer[] = [];

function randomToken(label: string): string {
  return `${label}-${crypto.randomUUID().replaceAll("-", "")}`;
}

async function startServer(
  config: Record<string, unknown>,
  env: Record<string, string>,
): Promise<RunningServer> {
  const file = path.join(dir, `server-${started.length}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const base = serverEnv({ read: "", admin: "" }, process.env);
  const server = await startServerProcess([...SERVE, "--config", file], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      AWS_ACCESS_KEY_ID: base.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: base.AWS_SECRET_ACCESS_KEY,
      ...env,
    },
  });
  started.push(server);
  return server;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "shardy-server-http-"));
  const fixtures: FixtureSet = await buildFixtures(dir);
  const tokens = { read: randomToken("read"), admin: randomToken("admin") };
  const env = serverEnv(tokens, process.env);
  const server = await startServer(serverConfigFor(fixtures, { refreshSeconds: 1 }), env);
  harness = {
    runtime: "bun",
    server,
    tokens,
    secrets: [tokens.read, tokens.admin, env.AWS_SECRET_ACCESS_KEY!],
    fixtures,
    publish: (name, prefix) => publishVersion(dir, fixtures.snapshots.find((s) => s.name === name)!, prefix),
    startServer,
    startProxy: startTcpProxy,
  };
}, 180_000);

afterAll(async () => {
  for (const s of started) await s.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("HTTP suite (Bun)", () => {
  for (const c of httpSuite(() => {
    if (!harness) throw new Error("the HTTP suite harness did not start (see beforeAll)");
    return harness;
  })) {
    test(c.name, c.fn, 120_000);
  }
});
