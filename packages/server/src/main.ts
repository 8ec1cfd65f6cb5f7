/**
 * `shardy-server`: serves snapshots over HTTP under Bun (`bun run serve`) or Deno
 * (`deno task serve`). Prints one JSON line `{"event":"listening","url":...}` on stdout when ready;
 * logs are JSON lines on stderr.
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import { parseArgs } from "node:util";
import { ConfigValidationError } from "@shardy/errors";
import {
  buildServerConfig,
  DEFAULT_HOST,
  DEFAULT_PORT,
  type ServerFlags,
  type SqliteModeOption,
  snapshotFromUrl,
} from "./config.ts";
import { listen } from "./listen.ts";
import { createServer } from "./server.ts";

const USAGE = `usage: shardy-server [options]

Serves one or more shardy snapshots over HTTP (API, /metrics, inspector page at /ui).

  --config FILE              JSON config file (env SHARDY_SERVER_CONFIG); flags override it
  --snapshot NAME=URL        serve a snapshot (repeatable); URL is its _CURRENT (s3://b/p/_CURRENT,
                             /dir/_CURRENT) or its prefix (s3://b/p, /dir)
  --host HOST                bind address (default ${DEFAULT_HOST})
  --port N                   port (default ${DEFAULT_PORT}; 0 = any free port)
  --refresh-interval SECONDS follow _CURRENT every SECONDS (default 30; 0 = never)
  --max-multiget-keys N      largest multiget (default 1000)
  --backend auto|sqlite|slatedb
  --sqlite-mode auto|download|range
  --local-root DIR           SQLite download cache (one subdirectory per snapshot)
  --access-log               log every request
  --value-cache N            cache up to N get answers per snapshot (default 0 = off; safe:
                             snapshots are immutable, the cache is dropped when the manifest changes)
  -h, --help

Tokens (environment only): SHARDY_SERVER_READ_TOKEN (optional, for reads),
SHARDY_SERVER_ADMIN_TOKEN (enables POST refresh and rollback). S3 credentials: AWS_* / S3_* env
or the config file's "s3" block.`;

class UsageError extends Error {}

function number(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min)
    throw new UsageError(`--${name} must be a number >= ${min}, got ${raw}`);
  return n;
}

function choice<T extends string>(
  name: string,
  raw: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined;
  if (!choices.includes(raw as T))
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got ${raw}`);
  return raw as T;
}

async function parseCommandLine(argv: string[], env: Record<string, string | undefined>) {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string" },
      snapshot: { type: "string", multiple: true },
      host: { type: "string" },
      port: { type: "string" },
      "refresh-interval": { type: "string" },
      "max-multiget-keys": { type: "string" },
      backend: { type: "string" },
      "sqlite-mode": { type: "string" },
      "local-root": { type: "string" },
      "access-log": { type: "boolean" },
      "value-cache": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return undefined;
  const flags: ServerFlags = {};
  if (values.host !== undefined) flags.host = values.host;
  const port = number("port", values.port, 0);
  if (port !== undefined) flags.port = port;
  const refresh = number("refresh-interval", values["refresh-interval"], 0);
  if (refresh !== undefined) flags.refreshIntervalMs = refresh * 1000;
  const maxKeys = number("max-multiget-keys", values["max-multiget-keys"], 1);
  if (maxKeys !== undefined) flags.maxMultigetKeys = Math.floor(maxKeys);
  const backend = choice("backend", values.backend, ["auto", "sqlite", "slatedb"] as const);
  if (backend !== undefined) flags.backend = backend;
  const mode = choice<SqliteModeOption>("sqlite-mode", values["sqlite-mode"], ["auto", "download", "range"]);
  if (mode !== undefined) flags.sqliteMode = mode;
  if (values["local-root"] !== undefined) flags.localRoot = values["local-root"];
  if (values["access-log"]) flags.accessLog = true;
  const cacheEntries = number("value-cache", values["value-cache"], 0);
  if (cacheEntries !== undefined) flags.valueCacheEntries = Math.floor(cacheEntries);
  flags.snapshots = (values.snapshot ?? []).map((s) => {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(`--snapshot ${JSON.stringify(s)} must be NAME=URL`);
    return snapshotFromUrl(s.slice(0, eq), s.slice(eq + 1));
  });
  const configPath = values.config ?? env.SHARDY_SERVER_CONFIG;
  let file: unknown = {};
  if (configPath) {
    let text: string;
    try {
      text = await readFile(configPath, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read the config file ${configPath}: ${(err as Error).message}`);
    }
    try {
      file = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`config file ${configPath} is not valid JSON: ${(err as Error).message}`);
    }
  }
  return buildServerConfig(file, flags, env);
}

async function main(): Promise<number> {
  const env = process.env as Record<string, string | undefined>;
  let config: Awaited<ReturnType<typeof parseCommandLine>>;
  try {
    config = await parseCommandLine(process.argv.slice(2), env);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigValidationError || err instanceof TypeError) {
      console.error(`shardy-server: ${err.message}\n(run with --help for usage)`);
      return 2;
    }
    throw err;
  }
  if (!config) {
    console.log(USAGE);
    return 0;
  }
  const server = createServer(config);
  const { logger } = server;
  if (
    config.host !== "127.0.0.1" &&
    config.host !== "localhost" &&
    config.host !== "::1" &&
    !config.readToken
  ) {
    logger.log("warn", "open_bind", {
      host: config.host,
      message: "listening beyond loopback without a read token: anyone who can reach it can read",
    });
  }
  await server.registry.openAll();
  const listener = listen(server.app.fetch, { host: config.host, port: config.port });
  server.startRefresh();
  logger.log("info", "listening", {
    url: listener.url,
    runtime: listener.runtime,
    snapshots: server.registry.names,
  });
  console.log(JSON.stringify({ event: "listening", url: listener.url, runtime: listener.runtime }));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log("info", "stopping", { signal });
    await listener.close().catch(() => undefined);
    await server.close().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    console.error(
      `shardy-server: fatal: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
    );
    process.exit(1);
  },
);
