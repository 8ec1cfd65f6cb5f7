/**
 * Server configuration: a JSON file (snake_case, like the reference's config files) and/or
 * command-line flags, flags winning. Tokens come from the environment (or the file), never from
 * flags, so they do not show up in process listings.
 */
import { ConfigValidationError } from "@shardy/errors";
import type { BackendName } from "@shardy/reader";
import type { OpenStoreOptions } from "@shardy/store";

export type SqliteModeOption = "auto" | "download" | "range";

export interface SnapshotConfig {
  /** URL-safe name used in routes: `/v1/<name>/...`. */
  name: string;
  /** `_CURRENT` URL (`s3://bucket/prefix/_CURRENT`, `file:///dir/_CURRENT`, a local path). */
  currentUrl?: string;
  /** Snapshot prefix URL (the writer's `s3_prefix`); alternative to `currentUrl`. */
  prefixUrl?: string;
  backend?: BackendName | "auto";
  sqliteMode?: SqliteModeOption;
  /** Download cache directory for SQLite shards (download mode). */
  localRoot?: string;
}

export interface ServerConfig {
  host: string;
  port: number;
  snapshots: SnapshotConfig[];
  /** Background `_CURRENT` check interval; 0 disables it. */
  refreshIntervalMs: number;
  maxMultigetKeys: number;
  /** Largest accepted request body (multiget, rollback). */
  maxBodyBytes: number;
  /** Bearer token for read routes; unset = reads are open. */
  readToken?: string;
  /** Bearer token for refresh and rollback; unset = those routes are disabled. */
  adminToken?: string;
  /** S3 settings for `s3://` snapshots (credentials: env `AWS_*`/`S3_*` or the file). */
  storeOptions: OpenStoreOptions;
  /** One log line per request (off by default: it costs throughput). */
  accessLog: boolean;
  /** Get answers cached per snapshot (0 = off, the default). */
  valueCacheEntries: number;
}

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8080;
export const DEFAULT_REFRESH_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_MULTIGET_KEYS = 1000;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const READ_TOKEN_ENV = "SHARDY_SERVER_READ_TOKEN";
export const ADMIN_TOKEN_ENV = "SHARDY_SERVER_ADMIN_TOKEN";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BACKENDS = ["auto", "sqlite", "slatedb"] as const;
const SQLITE_MODES = ["auto", "download", "range"] as const;

type Json = Record<string, unknown>;

function fail(field: string, message: string): never {
  throw new ConfigValidationError(`server config ${field}: ${message}`, { field });
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optString(obj: Json, key: string, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v === "")
    fail(`${where}.${key}`, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function optNumber(obj: Json, key: string, where: string, min: number): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
    fail(`${where}.${key}`, `must be a number >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optChoice<T extends string>(
  obj: Json,
  key: string,
  where: string,
  choices: readonly T[],
): T | undefined {
  const v = optString(obj, key, where);
  if (v === undefined) return undefined;
  if (!choices.includes(v as T))
    fail(`${where}.${key}`, `must be one of ${choices.join(", ")}, got ${JSON.stringify(v)}`);
  return v as T;
}

function checkKeys(obj: Json, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail(`${where}.${key}`, `unknown setting; known: ${allowed.join(", ")}`);
  }
}

export function validateSnapshotName(name: string): string {
  if (!NAME_RE.test(name)) {
    fail(
      "snapshots",
      `snapshot name ${JSON.stringify(name)} must be 1-64 letters, digits, '.', '_' or '-' (it is part of the URL)`,
    );
  }
  return name;
}

/**
 * A snapshot location given as one URL: a `_CURRENT` URL when its last segment is `_CURRENT`,
 * otherwise the snapshot prefix.
 */
export function snapshotFromUrl(name: string, url: string): SnapshotConfig {
  validateSnapshotName(name);
  if (url.trim() === "") fail(`snapshots.${name}`, "needs a URL");
  const last = url.replace(/\/+$/, "").split("/").at(-1) ?? "";
  return last === "_CURRENT" ? { name, currentUrl: url } : { name, prefixUrl: url };
}

/** `s3` block of the config file -> store options (reference credentials.toml key names). */
function s3Options(raw: unknown, env: Record<string, string | undefined>): OpenStoreOptions {
  if (raw === undefined || raw === null) return { s3: { env } };
  if (!isObject(raw)) fail("s3", "must be an object");
  const keys = [
    "endpoint_url",
    "region",
    "addressing_style",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "max_attempts",
    "connect_timeout",
    "read_timeout",
  ];
  checkKeys(raw, keys, "s3");
  const s3: NonNullable<OpenStoreOptions["s3"]> = { env };
  const endpoint = optString(raw, "endpoint_url", "s3");
  if (endpoint !== undefined) s3.endpoint = endpoint;
  const region = optString(raw, "region", "s3");
  if (region !== undefined) s3.region = region;
  const style = optChoice(raw, "addressing_style", "s3", ["path", "virtual", "auto"] as const);
  if (style === "path") s3.forcePathStyle = true;
  if (style === "virtual") s3.forcePathStyle = false;
  const id = optString(raw, "access_key_id", "s3");
  const secret = optString(raw, "secret_access_key", "s3");
  if ((id === undefined) !== (secret === undefined)) {
    fail("s3", "credentials need both access_key_id and secret_access_key (or neither: env AWS_*)");
  }
  if (id !== undefined && secret !== undefined) {
    s3.credentials = { accessKeyId: id, secretAccessKey: secret };
    const token = optString(raw, "session_token", "s3");
    if (token !== undefined) s3.credentials.sessionToken = token;
  }
  const attempts = optNumber(raw, "max_attempts", "s3", 1);
  if (attempts !== undefined) s3.maxAttempts = Math.floor(attempts);
  const connect = optNumber(raw, "connect_timeout", "s3", 0);
  if (connect !== undefined) s3.connectTimeoutMs = connect * 1000;
  const read = optNumber(raw, "read_timeout", "s3", 0);
  if (read !== undefined) s3.requestTimeoutMs = read * 1000;
  return { s3 };
}

function snapshotEntry(name: string, raw: unknown): SnapshotConfig {
  validateSnapshotName(name);
  const where = `snapshots.${name}`;
  if (typeof raw === "string") return snapshotFromUrl(name, raw);
  if (!isObject(raw)) fail(where, "must be a URL string or an object with current_url");
  checkKeys(raw, ["current_url", "prefix_url", "backend", "sqlite_mode", "local_root"], where);
  const currentUrl = optString(raw, "current_url", where);
  const prefixUrl = optString(raw, "prefix_url", where);
  if ((currentUrl === undefined) === (prefixUrl === undefined)) {
    fail(where, "needs exactly one of current_url or prefix_url");
  }
  const out: SnapshotConfig = { name };
  if (currentUrl !== undefined) out.currentUrl = currentUrl;
  if (prefixUrl !== undefined) out.prefixUrl = prefixUrl;
  const backend = optChoice(raw, "backend", where, BACKENDS);
  if (backend !== undefined) out.backend = backend;
  const mode = optChoice(raw, "sqlite_mode", where, SQLITE_MODES);
  if (mode !== undefined) out.sqliteMode = mode;
  const localRoot = optString(raw, "local_root", where);
  if (localRoot !== undefined) out.localRoot = localRoot;
  return out;
}

/** Flags as parsed from the command line (all optional; they override the file). */
export interface ServerFlags {
  host?: string;
  port?: number;
  snapshots?: SnapshotConfig[];
  refreshIntervalMs?: number;
  maxMultigetKeys?: number;
  backend?: BackendName | "auto";
  sqliteMode?: SqliteModeOption;
  localRoot?: string;
  accessLog?: boolean;
  valueCacheEntries?: number;
}

/**
 * Builds the config from the parsed JSON file (or `{}`), flags and the environment. Snapshot-level
 * flags (`backend`, `sqliteMode`, `localRoot`) apply to every snapshot that does not set its own.
 */
export function buildServerConfig(
  file: unknown,
  flags: ServerFlags = {},
  env: Record<string, string | undefined> = {},
): ServerConfig {
  if (!isObject(file)) fail("(root)", "the config file must hold a JSON object");
  checkKeys(
    file,
    [
      "host",
      "port",
      "snapshots",
      "refresh_interval_seconds",
      "max_multiget_keys",
      "max_body_bytes",
      "access_log",
      "value_cache_entries",
      "auth",
      "s3",
    ],
    "(root)",
  );
  const snapshots: SnapshotConfig[] = [];
  const rawSnaps = file.snapshots;
  if (rawSnaps !== undefined) {
    if (!isObject(rawSnaps)) fail("snapshots", 'must be an object {"name": {"current_url": ...}}');
    for (const [name, raw] of Object.entries(rawSnaps)) snapshots.push(snapshotEntry(name, raw));
  }
  for (const s of flags.snapshots ?? []) {
    const i = snapshots.findIndex((x) => x.name === s.name);
    if (i >= 0) snapshots[i] = s;
    else snapshots.push(s);
  }
  if (snapshots.length === 0) {
    fail("snapshots", "no snapshot to serve; pass --snapshot NAME=URL or list them in the config file");
  }
  for (const s of snapshots) {
    if (s.backend === undefined && flags.backend !== undefined) s.backend = flags.backend;
    if (s.sqliteMode === undefined && flags.sqliteMode !== undefined) s.sqliteMode = flags.sqliteMode;
    if (s.localRoot === undefined && flags.localRoot !== undefined)
      s.localRoot = `${flags.localRoot}/${s.name}`;
  }

  let auth: Json = {};
  if (file.auth !== undefined) {
    if (!isObject(file.auth)) fail("auth", "must be an object");
    auth = file.auth;
    checkKeys(auth, ["read_token", "admin_token"], "auth");
  }
  const readToken = env[READ_TOKEN_ENV] || optString(auth, "read_token", "auth");
  const adminToken = env[ADMIN_TOKEN_ENV] || optString(auth, "admin_token", "auth");
  if (readToken !== undefined && readToken.length < 16) {
    fail("auth.read_token", `must be at least 16 characters (set ${READ_TOKEN_ENV} to a long random string)`);
  }
  if (adminToken !== undefined && adminToken.length < 16) {
    fail(
      "auth.admin_token",
      `must be at least 16 characters (set ${ADMIN_TOKEN_ENV} to a long random string)`,
    );
  }

  const port = flags.port ?? optNumber(file, "port", "(root)", 0) ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port > 65535) fail("port", `must be an integer 0-65535, got ${port}`);
  const refreshSeconds = optNumber(file, "refresh_interval_seconds", "(root)", 0);
  const accessLog = file.access_log;
  if (accessLog !== undefined && typeof accessLog !== "boolean") fail("access_log", "must be true or false");
  const config: ServerConfig = {
    host: flags.host ?? optString(file, "host", "(root)") ?? DEFAULT_HOST,
    port,
    snapshots,
    refreshIntervalMs:
      flags.refreshIntervalMs ??
      (refreshSeconds === undefined ? DEFAULT_REFRESH_INTERVAL_MS : refreshSeconds * 1000),
    maxMultigetKeys:
      flags.maxMultigetKeys ?? optNumber(file, "max_multiget_keys", "(root)", 1) ?? DEFAULT_MAX_MULTIGET_KEYS,
    maxBodyBytes: optNumber(file, "max_body_bytes", "(root)", 64) ?? DEFAULT_MAX_BODY_BYTES,
    storeOptions: s3Options(file.s3, env),
    accessLog: flags.accessLog ?? accessLog ?? false,
    valueCacheEntries: Math.floor(
      flags.valueCacheEntries ?? optNumber(file, "value_cache_entries", "(root)", 0) ?? 0,
    ),
  };
  if (readToken !== undefined) config.readToken = readToken;
  if (adminToken !== undefined) config.adminToken = adminToken;
  return config;
}

/** Values that must never appear in a response or a log line. */
export function secretsOf(config: ServerConfig): string[] {
  const out: string[] = [];
  if (config.readToken) out.push(config.readToken);
  if (config.adminToken) out.push(config.adminToken);
  const creds = config.storeOptions.s3?.credentials;
  if (creds?.secretAccessKey) out.push(creds.secretAccessKey);
  if (creds?.sessionToken) out.push(creds.sessionToken);
  const env = config.storeOptions.s3?.env ?? {};
  for (const name of [
    "AWS_SECRET_ACCESS_KEY",
    "S3_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "S3_SESSION_TOKEN",
  ]) {
    const v = env[name];
    if (v) out.push(v);
  }
  return out;
}
