/**
 * S3 connection settings for the CLI: a `credentials.toml` profile, overridden by repeated
 * `--s3-option KEY=VALUE` flags (reference keys; `verify_ssl`, `connect_timeout`, `read_timeout`
 * and `max_attempts` are coerced to bool/int), mapped onto `S3StoreOptions`.
 */
import { ConfigValidationError } from "@shardy/errors";
import type { OpenStoreOptions } from "@shardy/store";
import { optBool, optNumber, optString, type TomlTable } from "./config-files.ts";
import { UsageError } from "./errors.ts";

export const S3_OPTION_KEYS = [
  "endpoint_url",
  "region",
  "access_key_id",
  "secret_access_key",
  "session_token",
  "addressing_style",
  "signature_version",
  "verify_ssl",
  "connect_timeout",
  "read_timeout",
  "max_attempts",
] as const;

type S3Key = (typeof S3_OPTION_KEYS)[number];
export type S3Settings = Partial<Record<S3Key, string | number | boolean>>;

const INT_KEYS = new Set<S3Key>(["connect_timeout", "read_timeout", "max_attempts"]);

/** `KEY=VALUE` flags -> settings, with the reference's coercions. */
export function parseS3Flags(flags: readonly string[]): S3Settings {
  const out: S3Settings = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const key = (eq < 0 ? flag : flag.slice(0, eq)).trim() as S3Key;
    if (eq < 0 || !S3_OPTION_KEYS.includes(key)) {
      throw new UsageError(
        `--s3-option ${JSON.stringify(flag)} must be KEY=VALUE with KEY one of ${S3_OPTION_KEYS.join(", ")}`,
      );
    }
    const raw = flag.slice(eq + 1).trim();
    if (key === "verify_ssl") {
      if (!/^(true|false|1|0|yes|no)$/i.test(raw))
        throw new UsageError(`--s3-option verify_ssl must be true or false`);
      out[key] = /^(true|1|yes)$/i.test(raw);
    } else if (INT_KEYS.has(key)) {
      if (!/^\d+$/.test(raw))
        throw new UsageError(`--s3-option ${key} must be an integer, got ${JSON.stringify(raw)}`);
      out[key] = Number(raw);
    } else {
      out[key] = raw;
    }
  }
  return out;
}

/** A `credentials.toml` profile table -> settings (type-checked). */
export function profileSettings(profile: TomlTable, where: string): S3Settings {
  const out: S3Settings = {};
  for (const key of Object.keys(profile)) {
    if (!S3_OPTION_KEYS.includes(key as S3Key)) {
      throw new ConfigValidationError(
        `${where}.${key} is not a credentials key; use ${S3_OPTION_KEYS.join(", ")}`,
        {
          field: key,
        },
      );
    }
    const k = key as S3Key;
    const v =
      k === "verify_ssl"
        ? optBool(profile, k, where)
        : INT_KEYS.has(k)
          ? optNumber(profile, k, where)
          : optString(profile, k, where);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function toStoreOptions(
  s: S3Settings,
  env: Record<string, string | undefined>,
  cwd: string,
): { options: OpenStoreOptions; warnings: string[] } {
  const warnings: string[] = [];
  const s3: NonNullable<OpenStoreOptions["s3"]> = { env };
  if (s.endpoint_url !== undefined) s3.endpoint = String(s.endpoint_url);
  if (s.region !== undefined) s3.region = String(s.region);
  if (s.access_key_id !== undefined || s.secret_access_key !== undefined) {
    if (s.access_key_id === undefined || s.secret_access_key === undefined) {
      throw new ConfigValidationError("S3 credentials need both access_key_id and secret_access_key", {
        field: "access_key_id",
      });
    }
    s3.credentials = { accessKeyId: String(s.access_key_id), secretAccessKey: String(s.secret_access_key) };
    if (s.session_token !== undefined) s3.credentials.sessionToken = String(s.session_token);
  }
  if (s.addressing_style !== undefined) {
    const style = String(s.addressing_style);
    if (style === "path") s3.forcePathStyle = true;
    else if (style === "virtual") s3.forcePathStyle = false;
    else if (style !== "auto") {
      throw new ConfigValidationError(
        `addressing_style ${JSON.stringify(style)} is not path, virtual or auto`,
        {
          field: "addressing_style",
        },
      );
    }
  }
  if (s.connect_timeout !== undefined) s3.connectTimeoutMs = Number(s.connect_timeout) * 1000;
  if (s.read_timeout !== undefined) s3.requestTimeoutMs = Number(s.read_timeout) * 1000;
  if (s.max_attempts !== undefined) s3.maxAttempts = Number(s.max_attempts);
  if (s.verify_ssl === false)
    warnings.push("verify_ssl=false is not supported by this client; certificates are verified");
  if (s.signature_version !== undefined && s.signature_version !== "s3v4") {
    warnings.push(`signature_version ${s.signature_version} ignored; requests are signed with SigV4`);
  }
  return { options: { s3, cwd }, warnings };
}
