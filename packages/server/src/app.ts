/**
 * The HTTP API as one Hono app. Runtime-agnostic: it only sees web `Request`/`Response`, so the
 * same app runs under Bun, Deno and edge workers (the runtime adapters only listen).
 */
import { formatPydanticDatetime, listManifests, loadCurrent, rollback, toJson } from "@shardy/core";
import { encodeValue, shardDetailRecord, snapshotInfoRecord } from "@shardy/reader";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type AuthConfig, checkAdmin, checkRead } from "./auth.ts";
import { classifyError, describeForLog, HttpError } from "./errors.ts";
import { INSPECTOR_CSS, INSPECTOR_HTML, INSPECTOR_JS } from "./inspector.ts";
import type { Logger } from "./log.ts";
import type { Counter, MetricsRegistry } from "./metrics.ts";
import type { SnapshotHandle, SnapshotRegistry } from "./registry.ts";
import { parseJsonKey, parseKeyFormat, parseRoutingContext, parseTextKey } from "./request-keys.ts";
import { historyLimit, keyError, readJsonBody, rollbackTarget, valueEncodingOf } from "./request-params.ts";
import { ValueCache } from "./value-cache.ts";

export interface AppOptions {
  registry: SnapshotRegistry;
  metrics: MetricsRegistry;
  auth: AuthConfig;
  maxMultigetKeys: number;
  maxBodyBytes: number;
  logger: Logger;
  /** Applied to every error message before it is sent or logged. */
  redact?: (text: string) => string;
  /** One log line per request. */
  accessLog?: boolean;
  /** Get answers cached per snapshot (LRU, dropped when the served manifest changes); 0 = off. */
  valueCacheEntries?: number;
  /**
   * Edge mode: the store is read-only, so rollback (which writes `_CURRENT`) answers 501 instead of
   * failing against the store.
   */
  edge?: boolean;
}

const JSON_TYPE = "application/json; charset=utf-8";

/** The inspector loads only its own script and style, and talks only to this server. */
const UI_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const JSON_INIT: ResponseInit = { headers: { "content-type": JSON_TYPE } };
const RAW_INIT: ResponseInit = { headers: { "content-type": "application/octet-stream" } };

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(toJson(body), { status, headers: { "content-type": JSON_TYPE, ...headers } });
}

function notAtTheEdge(what: string): never {
  throw new HttpError(
    501,
    "not_available_at_edge",
    `${what} is not available in the edge worker (its store is read-only); ask the shardy server`,
  );
}

function serverState(h: SnapshotHandle): Record<string, unknown> {
  const r = h.peek();
  const last = h.lastRefresh;
  return {
    loaded: r !== undefined,
    store_reachable: h.storeReachable,
    load_error: h.loadError ?? null,
    last_refresh: last
      ? { at: last.at.toISOString(), ok: last.ok, changed: last.changed, error: last.error ?? null }
      : null,
  };
}

export function createApp(options: AppOptions): Hono {
  const { registry, auth, logger } = options;
  const redact = options.redact ?? ((t: string) => t);
  const app = new Hono();

  if (options.accessLog) {
    app.use("*", async (c, next) => {
      const started = performance.now();
      await next();
      logger.log("info", "request", {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 1000) / 1000,
      });
    });
  }

  const caches = new Map<SnapshotHandle, ValueCache>();
  if ((options.valueCacheEntries ?? 0) > 0) {
    for (const h of registry.handles()) {
      const labels = { snapshot: h.name };
      const cache = new ValueCache(options.valueCacheEntries!, {
        hits: options.metrics.counter(
          "value_cache_hits_total",
          "Gets answered from the value cache.",
          labels,
        ),
        misses: options.metrics.counter(
          "value_cache_misses_total",
          "Gets the value cache could not answer.",
          labels,
        ),
      });
      caches.set(h, cache);
    }
  }

  // Counters cached per (method, route, status), so counting a request is one map lookup. Counted
  // in the handlers rather than by a middleware, which would take Hono off its one-handler fast path.
  const requestCounters = new Map<string, Counter>();
  function countRequest(method: string, route: string, status: number): void {
    const id = `${method} ${route} ${status}`;
    let counter = requestCounters.get(id);
    if (!counter) {
      counter = options.metrics.counter("http_requests_total", "HTTP requests by route and status.", {
        method,
        route,
        status: String(status),
      });
      requestCounters.set(id, counter);
    }
    counter.inc();
  }

  function errorResponse(c: Context, err: unknown): Response {
    const answer = classifyError(err);
    const message = redact(answer.message);
    if (answer.log) {
      logger.log(answer.status >= 500 ? "error" : "warn", "request_failed", {
        method: c.req.method,
        path: c.req.path,
        status: answer.status,
        error: describeForLog(err),
      });
    }
    const headers = err instanceof HttpError ? err.headers : {};
    return json({ error: message, code: answer.code }, answer.status, headers);
  }

  const limit = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: () => {
      throw new HttpError(
        413,
        "body_too_large",
        `the request body is over this server's limit of ${options.maxBodyBytes} bytes; split the request`,
        // The unread rest of the body makes the connection unusable: tell the client not to reuse it.
        { connection: "close" },
      );
    },
  });

  /** Reads that reject a key (it does not fit the encoding) answer 400 bad_key. */
  async function keyed<T>(read: () => Promise<T> | T): Promise<T> {
    try {
      return await read();
    } catch (err) {
      throw keyError(err);
    }
  }

  /**
   * Runs `fn` on a snapshot's handle and counts the answer under `route`. Failures become JSON
   * error answers here; store failures are also recorded on the handle. A synchronous `fn` gets a
   * synchronous answer (warm gets), so Hono and the runtime see no promise.
   */
  function onSnapshot(
    c: Context,
    route: string,
    fn: (h: SnapshotHandle) => Promise<Response> | Response,
    access: "read" | "admin" = "read",
  ): Promise<Response> | Response {
    let h: SnapshotHandle | undefined;
    const counted = (res: Response) => {
      countRequest(c.req.method, route, res.status);
      return res;
    };
    const failed = (err: unknown) => {
      h?.noteFailure(err);
      return counted(errorResponse(c, err));
    };
    try {
      // Auth first, so unauthenticated callers learn nothing, not even which snapshots exist.
      // An open server never reads the header: a header lookup is a noticeable share of a warm get.
      if (access === "admin") checkAdmin(auth, c.req.header("authorization"));
      else if (auth.readToken !== undefined) checkRead(auth, c.req.header("authorization"));
      h = registry.get(c.req.param("snapshot") ?? "");
      const res = fn(h);
      return res instanceof Response ? counted(res) : res.then(counted, failed);
    } catch (err) {
      return failed(err);
    }
  }

  app.get("/healthz", () => json({ status: "ok" }));

  app.get("/readyz", () => {
    const snapshots: Record<string, unknown> = {};
    let ready = true;
    for (const h of registry.handles()) {
      if (!h.loaded) ready = false;
      snapshots[h.name] = serverState(h);
    }
    return json({ status: ready ? "ready" : "not_ready", snapshots }, ready ? 200 : 503);
  });

  app.get("/metrics", () => {
    return new Response(options.metrics.render(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  });

  app.get("/", (c) => c.redirect("/ui", 302));
  const asset = (body: string, type: string) => () =>
    new Response(body, { headers: { "content-type": `${type}; charset=utf-8`, ...UI_HEADERS } });
  app.get("/ui", asset(INSPECTOR_HTML, "text/html"));
  app.get("/ui/app.js", asset(INSPECTOR_JS, "text/javascript"));
  app.get("/ui/app.css", asset(INSPECTOR_CSS, "text/css"));

  // The list lives at /v1 itself: a static /v1/snapshots beside /v1/:snapshot/... would push Hono
  // from its RegExpRouter to the slower TrieRouter for every request.
  app.get("/v1", (c) => {
    checkRead(auth, c.req.header("authorization"));
    return json({
      snapshots: registry.handles().map((h) => {
        const r = h.peek();
        const info = r?.snapshotInfo();
        return {
          name: h.name,
          run_id: info?.runId ?? null,
          manifest_ref: info?.manifestRef ?? null,
          ...serverState(h),
        };
      }),
    });
  });

  app.get("/v1/:snapshot/get/:key{.+}", (c) =>
    onSnapshot(c, "/v1/:snapshot/get/:key", (h) => {
      const reader = h.reader();
      const keyText = c.req.param("key");
      // The hot path: most gets carry no query string, so skip parsing one.
      const q: Record<string, string | undefined> = c.req.url.includes("?") ? c.req.query() : {};
      const encoding = valueEncodingOf(q.value_encoding);
      const key = parseTextKey(keyText, reader.keyEncoding, parseKeyFormat(q.key_format));
      const answer = (value: Uint8Array | undefined): Response => {
        if (value === undefined) return json({ key: keyText, found: false, value: null }, 404);
        if (encoding === "raw") return new Response(value as Uint8Array<ArrayBuffer>, RAW_INIT);
        return new Response(
          `{"key":${JSON.stringify(keyText)},"found":true,"value":${JSON.stringify(encodeValue(value, encoding))}}`,
          JSON_INIT,
        );
      };
      const cache = q.routing_context === undefined ? caches.get(h) : undefined;
      const cacheKey = cache ? `${q.key_format ?? ""}:${keyText}` : "";
      const cached = cache?.get(reader.manifestRef, cacheKey);
      if (cached !== undefined) return answer(cached ?? undefined);
      // The ref is read before the read: a swap during it leaves a stale ref that caches nothing.
      const ref = reader.manifestRef;
      const read = (value: Uint8Array | undefined) => {
        cache?.set(ref, cacheKey, value ?? null);
        return answer(value);
      };
      let options: { routingContext: ReturnType<typeof parseRoutingContext> } | undefined;
      try {
        if (q.routing_context !== undefined) {
          options = {
            routingContext: parseRoutingContext(q.routing_context, reader.snapshotInfo().sharding),
          };
        }
        // Warm local shards answer synchronously; range reads and SlateDB through the promise.
        const now = reader.getNow(key, options);
        if (now !== undefined) return read(now.value);
      } catch (err) {
        throw keyError(err);
      }
      return reader.get(key, options).then(read, (err: unknown) => {
        throw keyError(err);
      });
    }),
  );

  app.post("/v1/:snapshot/multiget", limit, (c) =>
    onSnapshot(c, "/v1/:snapshot/multiget", async (h) => {
      const reader = h.reader();
      const body = await readJsonBody(c);
      const keys = body.keys;
      if (!Array.isArray(keys)) {
        throw new HttpError(
          400,
          "bad_request",
          'multiget needs a JSON body {"keys": [...]} with an array of keys',
        );
      }
      if (keys.length > options.maxMultigetKeys) {
        throw new HttpError(
          413,
          "too_many_keys",
          `multiget asks for ${keys.length} keys, over this server's limit of ${options.maxMultigetKeys}; split the request`,
        );
      }
      const encoding = valueEncodingOf(
        typeof body.value_encoding === "string" ? body.value_encoding : undefined,
      );
      if (encoding === "raw")
        throw new HttpError(400, "bad_request", "multiget cannot return raw values; use base64");
      const format = parseKeyFormat(typeof body.key_format === "string" ? body.key_format : undefined);
      const parsed = keys.map((k, i) => parseJsonKey(k, i, reader.keyEncoding, format));
      const routingContext = parseRoutingContext(body.routing_context, reader.snapshotInfo().sharding);
      const values = await keyed(() => reader.multiGet(parsed, { routingContext }));
      return json({
        value_encoding: encoding,
        results: keys.map((key, i) => {
          const v = values[i];
          return v === undefined
            ? { key, found: false, value: null }
            : { key, found: true, value: encodeValue(v, encoding) };
        }),
      });
    }),
  );

  app.get("/v1/:snapshot/route/:key{.+}", (c) =>
    onSnapshot(c, "/v1/:snapshot/route/:key", async (h) => {
      const reader = h.reader();
      const keyText = c.req.param("key");
      const info = reader.snapshotInfo();
      const key = parseTextKey(keyText, reader.keyEncoding, parseKeyFormat(c.req.query("key_format")));
      const routingContext = parseRoutingContext(c.req.query("routing_context"), info.sharding);
      const dbId = await keyed(() => reader.routeKey(key, { routingContext }));
      const shard = reader.shardDetails()[dbId];
      return json({
        key: keyText,
        db_id: dbId,
        num_dbs: info.numDbs,
        strategy: info.sharding.strategy,
        key_encoding: info.keyEncoding,
        manifest_ref: info.manifestRef,
        shard: shard ? shardDetailRecord(shard) : null,
      });
    }),
  );

  app.get("/v1/:snapshot/info", (c) =>
    onSnapshot(c, "/v1/:snapshot/info", (h) => {
      const reader = h.reader();
      const details = reader.shardDetails();
      return json({
        snapshot: h.name,
        ...snapshotInfoRecord(reader.snapshotInfo()),
        db_bytes: details.reduce((sum, d) => sum + d.dbBytes, 0),
        loaded_at: reader.snapshotInfo().loadedAt.toISOString(),
        health: reader.health().status,
        server: serverState(h),
      });
    }),
  );

  app.get("/v1/:snapshot/shards", (c) =>
    onSnapshot(c, "/v1/:snapshot/shards", (h) => {
      const reader = h.reader();
      return json({
        snapshot: h.name,
        run_id: reader.snapshotInfo().runId,
        shards: reader.shardDetails().map(shardDetailRecord),
      });
    }),
  );

  app.get("/v1/:snapshot/history", (c) =>
    onSnapshot(c, "/v1/:snapshot/history", async (h) => {
      const limit = historyLimit(c.req.query("limit"));
      const loc = h.location;
      const [listed, pointer] = await Promise.all([
        listManifests(loc.store, loc.prefix, limit),
        loadCurrent({ store: loc.store, prefix: loc.prefix, currentPointerKey: loc.currentPointerKey }),
      ]);
      return json({
        snapshot: h.name,
        current_ref: pointer?.manifestRef ?? null,
        serving_ref: h.peek()?.manifestRef ?? null,
        manifests: listed.map((m, offset) => ({
          offset,
          run_id: m.runId,
          published_at: m.timestamp,
          current: m.ref === pointer?.manifestRef,
          ref: m.ref,
        })),
      });
    }),
  );

  app.post("/v1/:snapshot/refresh", limit, (c) =>
    onSnapshot(
      c,
      "/v1/:snapshot/refresh",
      async (h) => {
        const changed = await h.refresh();
        return json({ snapshot: h.name, changed, manifest_ref: h.peek()?.manifestRef ?? null });
      },
      "admin",
    ),
  );

  app.post("/v1/:snapshot/rollback", limit, (c) =>
    onSnapshot(
      c,
      "/v1/:snapshot/rollback",
      async (h) => {
        if (options.edge) notAtTheEdge("rollback");
        const target = rollbackTarget(await readJsonBody(c));
        const loc = h.location;
        const result = await rollback({
          store: loc.store,
          prefix: loc.prefix,
          currentPointerKey: loc.currentPointerKey,
          target,
        });
        logger.log("info", "rollback", {
          snapshot: h.name,
          manifest_ref: result.manifestRef,
          changed: result.changed,
        });
        // Serve the target right away instead of at the next background refresh.
        await h.refresh();
        return json({
          snapshot: h.name,
          manifest_ref: result.manifestRef,
          run_id: result.runId,
          changed: result.changed,
          previous_ref: result.previous?.pointer?.manifestRef ?? null,
          updated_at: formatPydanticDatetime(result.pointer.updatedAt),
          serving_ref: h.peek()?.manifestRef ?? null,
        });
      },
      "admin",
    ),
  );

  app.notFound((c) =>
    json(
      {
        error: `no route ${c.req.method} ${c.req.path}; routes are /v1/<snapshot>/{get,route}/<key>, /v1/<snapshot>/{info,shards,history}, POST /v1/<snapshot>/{multiget,refresh,rollback}, /healthz, /readyz, /metrics, /ui`,
        code: "not_found",
      },
      404,
    ),
  );

  app.onError((err, c) => errorResponse(c, err));

  return app;
}
