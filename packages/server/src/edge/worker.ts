/**
 * The edge entry: the same Hono app, run in a module worker (workerd, Cloudflare-style). Objects
 * come from an S3-compatible URL through `fetch` (FetchObjectStore); `_CURRENT` and the manifest
 * are loaded once and kept in the isolate, re-checked in the background every
 * `SHARDY_REFRESH_SECONDS`; keys are routed by the WASM kernel; SQLite shards are read with the
 * range reader (sql.js), SlateDB shards with the SlateDB range reader. The bundle (edge/build.ts)
 * embeds the kernel and sql.js wasm as compiled modules, since workers may not compile wasm bytes.
 *
 * Environment (worker bindings):
 *   SHARDY_SNAPSHOTS        JSON {"name": "s3://bucket/prefix/_CURRENT", ...}
 *   SHARDY_S3_ENDPOINT      http(s)://host:port of the S3 API (path-style)
 *   SHARDY_S3_REGION        default us-east-1
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   SigV4 credentials (omit for a public-read bucket)
 *   SHARDY_SERVER_READ_TOKEN, SHARDY_SERVER_ADMIN_TOKEN   as for the server
 *   SHARDY_REFRESH_SECONDS  how often `_CURRENT` is re-checked (default 30)
 */
import { ConfigValidationError } from "@shardy/errors";
import { type Kernel, loadKernel } from "@shardy/kernel";
import type { SnapshotLocation } from "@shardy/reader";
import { parseS3Url } from "@shardy/store";
import { buildServerConfig, type SnapshotConfig } from "../config.ts";
import { createServer, type ShardyServer } from "../server.ts";
import { FetchObjectStore } from "./fetch-store.ts";

export type EdgeEnv = Record<string, unknown>;

export interface EdgeContext {
  waitUntil(promise: Promise<unknown>): void;
}

export interface EdgeModules {
  /** The compiled kernel (a workerd `wasm` module import). */
  kernel: WebAssembly.Module;
}

function text(env: EdgeEnv, name: string): string | undefined {
  const v = env[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function edgeConfig(env: EdgeEnv) {
  const raw = text(env, "SHARDY_SNAPSHOTS");
  if (!raw) {
    throw new ConfigValidationError(
      'SHARDY_SNAPSHOTS is not set; bind it to JSON like {"users": "s3://bucket/prefix/_CURRENT"}',
      { field: "SHARDY_SNAPSHOTS" },
    );
  }
  let snapshots: unknown;
  try {
    snapshots = JSON.parse(raw);
  } catch {
    throw new ConfigValidationError("SHARDY_SNAPSHOTS is not JSON", { field: "SHARDY_SNAPSHOTS" });
  }
  const refresh = Number(text(env, "SHARDY_REFRESH_SECONDS") ?? 30);
  const maxKeys = text(env, "SHARDY_MAX_MULTIGET_KEYS");
  const file: Record<string, unknown> = { snapshots, refresh_interval_seconds: 0 };
  if (maxKeys) file.max_multiget_keys = Number(maxKeys);
  const stringEnv: Record<string, string | undefined> = {};
  for (const name of ["SHARDY_SERVER_READ_TOKEN", "SHARDY_SERVER_ADMIN_TOKEN", "AWS_SECRET_ACCESS_KEY"]) {
    stringEnv[name] = text(env, name);
  }
  const config = buildServerConfig(file, {}, stringEnv);
  if (!Number.isFinite(refresh) || refresh < 0) {
    throw new ConfigValidationError(`SHARDY_REFRESH_SECONDS must be a number >= 0, got ${refresh}`, {
      field: "SHARDY_REFRESH_SECONDS",
    });
  }
  return { config, refreshMs: refresh * 1000 };
}

function locator(env: EdgeEnv): (c: SnapshotConfig) => SnapshotLocation {
  const endpoint = text(env, "SHARDY_S3_ENDPOINT");
  if (!endpoint) {
    throw new ConfigValidationError(
      "SHARDY_S3_ENDPOINT is not set; bind it to the S3 API URL, e.g. https://s3.example",
      {
        field: "SHARDY_S3_ENDPOINT",
      },
    );
  }
  const id = text(env, "AWS_ACCESS_KEY_ID");
  const secret = text(env, "AWS_SECRET_ACCESS_KEY");
  const credentials = id && secret ? { accessKeyId: id, secretAccessKey: secret } : undefined;
  const stores = new Map<string, FetchObjectStore>();
  return (c) => {
    const url = c.currentUrl ?? c.prefixUrl ?? "";
    const { bucket, key } = parseS3Url(url, { requireKey: true });
    let store = stores.get(bucket);
    if (!store) {
      store = new FetchObjectStore({ endpoint, bucket, region: text(env, "SHARDY_S3_REGION"), credentials });
      stores.set(bucket, store);
    }
    const trimmed = key.replace(/\/+$/, "");
    if (c.currentUrl !== undefined) {
      const slash = trimmed.lastIndexOf("/");
      return {
        store,
        prefix: slash < 0 ? "" : trimmed.slice(0, slash),
        currentPointerKey: trimmed.slice(slash + 1),
        ownsStore: false,
      };
    }
    return { store, prefix: trimmed, currentPointerKey: "_CURRENT", ownsStore: false };
  };
}

interface EdgeState {
  server: ShardyServer;
  refreshMs: number;
  lastCheck: number;
}

async function start(env: EdgeEnv, modules: EdgeModules): Promise<EdgeState> {
  const { config, refreshMs } = edgeConfig(env);
  const kernel: Kernel = await loadKernel(modules.kernel);
  const server = createServer(config, {
    locate: locator(env),
    edge: true,
    // Lazy shards: a worker opens only the shards its requests touch. No fallback walk on a
    // malformed `_CURRENT` manifest: an isolate should not pay for a history scan on a request.
    readerOptions: {
      kernel,
      openShards: "lazy",
      maxFallbackAttempts: 0,
      sqlite: { mode: "range" },
      slatedb: { kernel },
    },
  });
  await server.registry.openAll();
  return { server, refreshMs, lastCheck: Date.now() };
}

/** The worker's `fetch` handler; the bundle's entry exports it as the module default. */
export function createEdgeWorker(modules: EdgeModules) {
  let state: Promise<EdgeState> | undefined;
  return {
    async fetch(request: Request, env: EdgeEnv, ctx?: EdgeContext): Promise<Response> {
      state ??= start(env, modules).catch((err) => {
        state = undefined;
        throw err;
      });
      let s: EdgeState;
      try {
        s = await state;
      } catch (err) {
        const message =
          err instanceof ConfigValidationError ? err.message : "the edge worker could not start; see its log";
        if (!(err instanceof ConfigValidationError))
          console.error(`shardy edge: ${(err as Error)?.message ?? err}`);
        return new Response(JSON.stringify({ error: message, code: "edge_not_configured" }), {
          status: 503,
          headers: { "content-type": "application/json; charset=utf-8" },
        });
      }
      const now = Date.now();
      if (s.refreshMs > 0 && now - s.lastCheck >= s.refreshMs) {
        s.lastCheck = now;
        const pass = s.server.registry.refreshAll();
        if (ctx) ctx.waitUntil(pass);
        else await pass;
      }
      return s.server.app.fetch(request);
    },
  };
}
