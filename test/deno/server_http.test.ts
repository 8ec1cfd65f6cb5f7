/// <reference lib="deno.ns" />
// The HTTP suite under Deno: the same cases as packages/server/test/http.test.ts, against the
// server started the way `deno task serve` starts it. Fixture snapshots are built with Bun (the
// writer's build pipeline) in a subprocess; S3 cases need MinIO (`scripts/minio start`) and fail
// with instructions without it.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  type FixtureSet,
  serverConfigFor,
  serverEnv,
} from "../../packages/server/test/helpers/fixture-types.ts";
import { startServerProcess } from "../../packages/server/test/helpers/server-process.ts";
import { startTcpProxy } from "../../packages/server/test/helpers/tcp-proxy.ts";
import { type Harness, httpSuite, type RunningServer } from "../../packages/server/test/http-suite.ts";

const ROOT = path.resolve(import.meta.dirname!, "../..");
const FIXTURES_CLI = "packages/server/test/helpers/fixtures-cli.ts";

/** `deno task serve`'s command, read from deno.json so the test runs exactly what users run. */
function serveCommand(): string[] {
  const tasks = JSON.parse(readFileSync(path.join(ROOT, "deno.json"), "utf8")).tasks as Record<
    string,
    string
  >;
  const words = tasks.serve.split(/\s+/);
  if (words[0] !== "deno") throw new Error(`unexpected serve task: ${tasks.serve}`);
  return [Deno.execPath(), ...words.slice(1)];
}

function bun(args: string[]): string {
  try {
    return execFileSync("bun", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `bun ${args.join(" ")} failed (Bun builds the fixtures; is it on PATH?): ${e.stderr ?? e.message}`,
    );
  }
}

Deno.test({
  name: "HTTP suite (Deno)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const env = Deno.env.toObject();
    const dir = mkdtempSync(path.join(tmpdir(), "shardy-server-deno-"));
    const started: RunningServer[] = [];
    try {
      bun([FIXTURES_CLI, "build", dir]);
      const fixtures = JSON.parse(readFileSync(path.join(dir, "fixtures.json"), "utf8")) as FixtureSet;
      const startServer = async (config: Record<string, unknown>, extra: Record<string, string>) => {
        const file = path.join(dir, `server-${started.length}.json`);
        writeFileSync(file, JSON.stringify(config, null, 2));
        const creds = serverEnv({ read: "", admin: "" }, env);
        const server = await startServerProcess([...serveCommand(), "--config", file], {
          cwd: ROOT,
          env: {
            PATH: env.PATH,
            HOME: env.HOME,
            TMPDIR: env.TMPDIR,
            AWS_ACCESS_KEY_ID: creds.AWS_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY: creds.AWS_SECRET_ACCESS_KEY,
            ...extra,
          },
        });
        started.push(server);
        return server;
      };
      const token = (label: string) => `${label}-${crypto.randomUUID().replaceAll("-", "")}`;
      const tokens = { read: token("read"), admin: token("admin") };
      const serverVars = serverEnv(tokens, env);
      const server = await startServer(serverConfigFor(fixtures, { refreshSeconds: 1 }), serverVars);
      const harness: Harness = {
        runtime: "deno",
        server,
        tokens,
        secrets: [tokens.read, tokens.admin, serverVars.AWS_SECRET_ACCESS_KEY!],
        fixtures,
        publish: (name, prefix) =>
          Promise.resolve(
            (JSON.parse(bun([FIXTURES_CLI, "publish", dir, name, prefix])) as { run_id: string }).run_id,
          ),
        startServer,
        startProxy: startTcpProxy,
      };
      for (const c of httpSuite(() => harness)) {
        await t.step(c.name, c.fn);
      }
    } finally {
      for (const s of started) await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
