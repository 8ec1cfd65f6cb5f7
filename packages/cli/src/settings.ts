/**
 * Global settings of one CLI invocation, resolved in the reference's order: command-line option,
 * then environment variable, then `reader.toml`, then the default.
 */
import { CURRENT_POINTER_NAME, joinS3 } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import type { BackendName, PinTarget, SqliteBackendOptions } from "@shardy/reader";
import type { OpenStoreOptions } from "@shardy/store";
import { findConfigFile, loadToml, optNumber, optString, permissionWarning, table } from "./config-files.ts";
import { parseNonNegativeInt } from "./durations.ts";
import { UsageError } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { parseS3Flags, profileSettings, toStoreOptions } from "./s3-options.ts";

export const OUTPUT_FORMATS = ["json", "jsonl", "table", "text"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export const VALUE_ENCODINGS = ["base64", "hex", "utf8"] as const;
export type ValueEncoding = (typeof VALUE_ENCODINGS)[number];
export const SQLITE_MODES = ["download", "range", "auto"] as const;
export const BACKENDS = ["auto", "sqlite", "slatedb"] as const;

/** Global options as commander parses them. */
export interface GlobalOptions {
  currentUrl?: string;
  config?: string;
  credentials?: string;
  profile?: string;
  s3Option?: string[];
  outputFormat?: OutputFormat;
  valueEncoding?: ValueEncoding;
  nullRepr?: string;
  ref?: string;
  offset?: string;
  sqliteMode?: (typeof SQLITE_MODES)[number];
  sqliteAutoPerShardBytes?: string;
  sqliteAutoTotalBytes?: string;
  readerBackend?: (typeof BACKENDS)[number];
  localRoot?: string;
}

export interface OutputSettings {
  format: OutputFormat;
  valueEncoding: ValueEncoding;
  nullRepr: string;
}

export interface Settings {
  /** `_CURRENT` URL, when one is configured. */
  currentUrl: string | undefined;
  output: OutputSettings;
  storeOptions: OpenStoreOptions;
  backend: BackendName | "auto";
  sqlite: SqliteBackendOptions;
  pin: PinTarget | undefined;
  warnings: string[];
}

function choice<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  where: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) {
    throw new ConfigValidationError(`${where} ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`, {
      field: where,
    });
  }
  return value as T;
}

/** Output settings alone (used to report errors even when the rest of the config is broken). */
export function outputSettings(opts: GlobalOptions, io: CliIo): OutputSettings {
  let fromFile: Record<string, unknown> = {};
  try {
    const file = loadToml(findConfigFile(io, opts.config, "SHARDY_CONFIG", "reader.toml"), "config");
    fromFile = table(file.data, "output", file.path);
  } catch {
    // Reported by resolveSettings; errors still need a format.
  }
  const format =
    opts.outputFormat ??
    (OUTPUT_FORMATS.includes(fromFile.format as OutputFormat) ? (fromFile.format as OutputFormat) : "jsonl");
  const valueEncoding =
    opts.valueEncoding ??
    (VALUE_ENCODINGS.includes(fromFile.value_encoding as ValueEncoding)
      ? (fromFile.value_encoding as ValueEncoding)
      : "base64");
  const nullRepr = opts.nullRepr ?? (typeof fromFile.null_repr === "string" ? fromFile.null_repr : "null");
  return { format, valueEncoding, nullRepr };
}

export function resolveSettings(opts: GlobalOptions, io: CliIo): Settings {
  const warnings: string[] = [];
  const configFile = loadToml(findConfigFile(io, opts.config, "SHARDY_CONFIG", "reader.toml"), "config");
  const where = configFile.path ?? "reader.toml";
  const reader = table(configFile.data, "reader", where);
  const output = table(configFile.data, "output", where);
  choice(optString(output, "format", `${where} [output]`), OUTPUT_FORMATS, "[output].format");
  choice(
    optString(output, "value_encoding", `${where} [output]`),
    VALUE_ENCODINGS,
    "[output].value_encoding",
  );

  let currentUrl =
    opts.currentUrl ?? io.env.SHARDY_CURRENT ?? optString(reader, "current_url", `${where} [reader]`);
  const s3Prefix = optString(reader, "s3_prefix", `${where} [reader]`);
  if (currentUrl === undefined && s3Prefix !== undefined) currentUrl = joinS3(s3Prefix, CURRENT_POINTER_NAME);

  const credFile = findConfigFile(io, opts.credentials, "SHARDY_CREDENTIALS", "credentials.toml");
  const creds = loadToml(credFile, "credentials");
  if (creds.path) {
    const warning = permissionWarning(creds.path);
    if (warning) warnings.push(warning);
  }
  const profileName =
    opts.profile ?? optString(reader, "credentials_profile", `${where} [reader]`) ?? "default";
  let s3 = {};
  if (creds.path) {
    const profile = creds.data[profileName];
    if (profile !== undefined) {
      s3 = profileSettings(table(creds.data, profileName, creds.path), `${creds.path} [${profileName}]`);
    } else if (profileName !== "default") {
      throw new ConfigValidationError(
        `credentials profile [${profileName}] is not in ${creds.path}; it has ${Object.keys(creds.data).join(", ") || "no profiles"}`,
        { field: "credentials_profile" },
      );
    }
  }
  s3 = { ...s3, ...parseS3Flags(opts.s3Option ?? []) };
  const store = toStoreOptions(s3, io.env, io.cwd);
  warnings.push(...store.warnings);

  const backend =
    opts.readerBackend ??
    choice(optString(reader, "reader_backend", `${where} [reader]`), BACKENDS, "[reader].reader_backend") ??
    "auto";
  const sqliteMode =
    opts.sqliteMode ??
    choice(optString(reader, "sqlite_mode", `${where} [reader]`), SQLITE_MODES, "[reader].sqlite_mode");
  const sqlite: SqliteBackendOptions = {};
  if (sqliteMode !== undefined) sqlite.mode = sqliteMode;
  const perShard =
    opts.sqliteAutoPerShardBytes !== undefined
      ? parseNonNegativeInt(opts.sqliteAutoPerShardBytes, "--sqlite-auto-per-shard-bytes")
      : optNumber(reader, "sqlite_auto_per_shard_threshold_bytes", `${where} [reader]`);
  if (perShard !== undefined) sqlite.perShardThreshold = perShard;
  const total =
    opts.sqliteAutoTotalBytes !== undefined
      ? parseNonNegativeInt(opts.sqliteAutoTotalBytes, "--sqlite-auto-total-bytes")
      : optNumber(reader, "sqlite_auto_total_budget_bytes", `${where} [reader]`);
  if (total !== undefined) sqlite.totalBudget = total;
  const localRoot = opts.localRoot ?? optString(reader, "local_root", `${where} [reader]`);
  if (localRoot !== undefined) sqlite.localRoot = localRoot;

  if (opts.ref !== undefined && opts.offset !== undefined) {
    throw new UsageError("--ref and --offset both pin the snapshot; pass only one");
  }
  const pin: PinTarget | undefined =
    opts.ref !== undefined
      ? { ref: opts.ref }
      : opts.offset !== undefined
        ? { offset: parseNonNegativeInt(opts.offset, "--offset") }
        : undefined;

  return {
    currentUrl,
    output: outputSettings(opts, io),
    storeOptions: store.options,
    backend,
    sqlite,
    pin,
    warnings,
  };
}

export function requireCurrentUrl(settings: Settings): string {
  if (settings.currentUrl === undefined) {
    throw new UsageError(
      "no snapshot given: pass --current-url s3://bucket/prefix/_CURRENT (or a local path to _CURRENT), " +
        "set SHARDY_CURRENT, or set current_url / s3_prefix under [reader] in reader.toml",
    );
  }
  return settings.currentUrl;
}
