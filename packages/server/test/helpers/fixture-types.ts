/**
 * What the fixture builder produced, and how a server is configured for it. Runtime-neutral (Bun
 * and Deno entries share it); building lives in fixtures.ts (Bun).
 */
import path from "node:path";

export interface SnapshotFixture {
  /** Name the server serves it under. */
  name: string;
  store: "file" | "s3";
  backend: "sqlite" | "slatedb";
  keyEncoding: "u64be" | "utf8";
  sqliteMode: "download" | "range" | "auto";
  numDbs: number;
  rows: number;
  /** `_CURRENT` URL. */
  currentUrl: string;
  /** Value prefixes of the published versions, oldest first (the last is current). */
  versions: string[];
  runIds: string[];
  /** Expected shard of a few keys (computed with the kernel, as the writer routed them). */
  routes: Array<{ key: string; dbId: number }>;
  /** The suite may roll this one back (and restores it). */
  rollback: boolean;
  /** The suite publishes a new version of this one and waits for the background refresh. */
  live: boolean;
  /**
   * CEL-routed: `key` = key-only `shard_hash(key) % N` (routes like HASH); `region` = categorical
   * over a `region` column given as routing_context, `regionOf[i]` being key i's region.
   */
  cel?: { mode: "key" | "region"; expr: string; regionOf?: string[]; regions?: string[] };
}

export interface FixtureSet {
  dir: string;
  snapshots: SnapshotFixture[];
  s3: { endpoint: string; bucket: string; region: string };
}

export function keyText(encoding: SnapshotFixture["keyEncoding"], i: number): string {
  return encoding === "utf8" ? `key-${i}` : String(i);
}

export function valueFor(prefix: string, i: number): string {
  return `${prefix}-${i}`;
}

/** The server config file for a fixture set (S3 credentials come from the environment). */
export function serverConfigFor(
  set: FixtureSet,
  options: { endpoint?: string; refreshSeconds?: number; only?: string[] } = {},
): Record<string, unknown> {
  const snapshots: Record<string, unknown> = {};
  for (const s of set.snapshots) {
    if (options.only && !options.only.includes(s.name)) continue;
    snapshots[s.name] = {
      current_url: s.currentUrl,
      sqlite_mode: s.sqliteMode,
      local_root: path.join(set.dir, "cache", `${s.name}-${Math.floor(Math.random() * 1e9).toString(36)}`),
    };
  }
  return {
    host: "127.0.0.1",
    port: 0,
    refresh_interval_seconds: options.refreshSeconds ?? 1,
    max_multiget_keys: 100,
    snapshots,
    s3: {
      endpoint_url: options.endpoint ?? set.s3.endpoint,
      region: set.s3.region,
      addressing_style: "path",
      max_attempts: 2,
      connect_timeout: 2,
      read_timeout: 5,
    },
  };
}

/** Environment for a server process: the MinIO credentials and the two tokens. */
export function serverEnv(
  tokens: { read: string; admin: string },
  env: Record<string, string | undefined>,
): Record<string, string> {
  const key = env.SHARDY_TEST_S3_ACCESS_KEY;
  const secret = env.SHARDY_TEST_S3_SECRET_KEY;
  if (!key || !secret) {
    throw new Error(
      'S3 test server not configured: SHARDY_TEST_S3_ACCESS_KEY/SECRET_KEY unset. Run `eval "$(bash scripts/minio start)"` first, or bash scripts/test',
    );
  }
  return {
    AWS_ACCESS_KEY_ID: key,
    AWS_SECRET_ACCESS_KEY: secret,
    SHARDY_SERVER_READ_TOKEN: tokens.read,
    SHARDY_SERVER_ADMIN_TOKEN: tokens.admin,
  };
}
