/**
 * Wires a server from its config: metrics, logger, the snapshot registry and the app. Hosts
 * (the Bun/Deno entry, the edge worker) call this and only add the listening part.
 */
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import { type ServerConfig, secretsOf } from "./config.ts";
import { makeRedactor } from "./errors.ts";
import { jsonLogger, type Logger } from "./log.ts";
import { MetricsRegistry } from "./metrics.ts";
import { type RegistryOptions, SnapshotRegistry, startRefreshLoop } from "./registry.ts";
import { registerSnapshotGauges } from "./snapshot-gauges.ts";

export interface ShardyServer {
  app: Hono;
  registry: SnapshotRegistry;
  metrics: MetricsRegistry;
  logger: Logger;
  redact: (text: string) => string;
  /** Starts the background refresh loop (no-op when the interval is 0). */
  startRefresh(): void;
  close(): Promise<void>;
}

export interface CreateServerOptions {
  /** Where log lines go (default: stderr through `console.error`). */
  writeLog?: (line: string) => void;
  logger?: Logger;
  locate?: RegistryOptions["locate"];
  readerOptions?: RegistryOptions["readerOptions"];
  /** Edge mode (see `AppOptions.edge`). */
  edge?: boolean;
}

export function createServer(config: ServerConfig, options: CreateServerOptions = {}): ShardyServer {
  const redact = makeRedactor(secretsOf(config));
  const logger = options.logger ?? jsonLogger(options.writeLog ?? ((line) => console.error(line)), redact);
  const metrics = new MetricsRegistry();
  const registry = new SnapshotRegistry(config.snapshots, {
    storeOptions: config.storeOptions,
    metrics,
    logger,
    locate: options.locate,
    readerOptions: options.readerOptions,
  });
  registerSnapshotGauges(metrics, registry);
  const app = createApp({
    registry,
    metrics,
    auth: { readToken: config.readToken, adminToken: config.adminToken },
    maxMultigetKeys: config.maxMultigetKeys,
    maxBodyBytes: config.maxBodyBytes,
    logger,
    redact,
    accessLog: config.accessLog,
    valueCacheEntries: config.valueCacheEntries,
    edge: options.edge,
  });
  let loop: { stop(): void } | undefined;
  return {
    app,
    registry,
    metrics,
    logger,
    redact,
    startRefresh() {
      loop ??= startRefreshLoop(registry, config.refreshIntervalMs);
    },
    async close() {
      loop?.stop();
      await registry.close();
    },
  };
}
