/** Storage location, connection options and credentials. */
import {
  checkKeys,
  expectObject,
  fail,
  given,
  int,
  isObj,
  oneOf,
  positiveNumber,
  show,
  str,
} from "./fields.ts";
import type { CredentialProviderConfig, S3ConnectionOptions } from "./types.ts";

const PREFIX_FIX = 'use "s3://bucket/prefix", "file:///absolute/dir" or "memory://name"';

/**
 * The snapshot root. `s3://` keeps the reference's rule (`config.py::_validate_s3_prefix`: bucket
 * and a non-empty key prefix); `file:///abs/path` and `memory://name[/path]` address shardy's
 * embedded stores.
 */
export function validateS3Prefix(value: unknown, path: string): string {
  if (typeof value !== "string" || value === "") fail(path, `is required, got ${show(value)}; ${PREFIX_FIX}`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1]?.toLowerCase();
  if (scheme === "s3") {
    const m = /^s3:\/\/([^/?#]*)([^?#]*)$/i.exec(value);
    if (!m || m[1] === "")
      fail(path, `must be parseable as s3://bucket/prefix, got ${show(value)}; ${PREFIX_FIX}`);
    const key = m[2] ?? "";
    if (key === "" || key === "/") {
      fail(
        path,
        `must include a non-empty key prefix after the bucket, got ${show(value)}; use e.g. "${value.replace(/\/$/, "")}/snapshots"`,
      );
    }
    return value;
  }
  if (scheme === "file") {
    const rest = value.slice("file://".length);
    if (!rest.startsWith("/")) {
      fail(
        path,
        `must be file:// followed by an absolute path (file:///dir), got ${show(value)}; ${PREFIX_FIX}`,
      );
    }
    if (rest.replace(/\/+$/, "") === "")
      fail(path, `must name a directory below the file-system root, got ${show(value)}`);
    return value;
  }
  if (scheme === "memory") {
    if (!/^memory:\/\/[^/]+/.test(value))
      fail(path, `must be memory://name[/prefix], got ${show(value)}; ${PREFIX_FIX}`);
    return value;
  }
  return fail(path, `must be an s3://, file:// or memory:// URL, got ${show(value)}; ${PREFIX_FIX}`);
}

const CONNECTION_KEYS = [
  "endpoint_url",
  "region_name",
  "addressing_style",
  "signature_version",
  "verify_ssl",
  "connect_timeout",
  "read_timeout",
  "max_attempts",
] as const;

export function validateConnectionOptions(value: unknown, path: string): S3ConnectionOptions | null {
  if (!given(value)) return null;
  const o = expectObject(value, path, "an object of S3 connection options");
  checkKeys(o, CONNECTION_KEYS, path);
  const out: S3ConnectionOptions = {};
  const at = (k: string) => `${path}.${k}`;
  if (given(o.endpoint_url))
    out.endpoint_url = str(o.endpoint_url, at("endpoint_url"), 'e.g. "http://127.0.0.1:9000"');
  if (given(o.region_name)) out.region_name = str(o.region_name, at("region_name"), 'e.g. "us-east-1"');
  if (given(o.addressing_style)) {
    out.addressing_style = oneOf(
      o.addressing_style,
      ["virtual", "path", "auto"] as const,
      at("addressing_style"),
    );
  }
  if (given(o.signature_version)) {
    out.signature_version = str(o.signature_version, at("signature_version"), 'e.g. "s3v4"');
  }
  if (given(o.verify_ssl)) {
    if (typeof o.verify_ssl !== "boolean" && typeof o.verify_ssl !== "string") {
      fail(at("verify_ssl"), `must be true, false or a CA bundle path, got ${show(o.verify_ssl)}`);
    }
    out.verify_ssl = o.verify_ssl;
  }
  if (given(o.connect_timeout))
    out.connect_timeout = positiveNumber(o.connect_timeout, at("connect_timeout"), "seconds, e.g. 10");
  if (given(o.read_timeout))
    out.read_timeout = positiveNumber(o.read_timeout, at("read_timeout"), "seconds, e.g. 30");
  if (given(o.max_attempts)) out.max_attempts = int(o.max_attempts, at("max_attempts"), 1, "e.g. 3");
  return out;
}

export function validateCredentialProvider(value: unknown, path: string): CredentialProviderConfig | null {
  if (!given(value)) return null;
  if (!isObj(value)) {
    fail(
      path,
      `must be {kind: "static", access_key_id, secret_access_key} or {kind: "env"}, got ${show(value)}`,
    );
  }
  if (value.kind === "env") {
    checkKeys(value, ["kind"], path);
    return { kind: "env" };
  }
  if (value.kind === "static") {
    checkKeys(value, ["kind", "access_key_id", "secret_access_key", "session_token"], path);
    const key = str(value.access_key_id, `${path}.access_key_id`, "give the access key id");
    const secret = str(value.secret_access_key, `${path}.secret_access_key`, "give the secret access key");
    const token = given(value.session_token)
      ? str(value.session_token, `${path}.session_token`, "or omit it")
      : null;
    return { kind: "static", access_key_id: key, secret_access_key: secret, session_token: token };
  }
  return fail(`${path}.kind`, `must be "static" or "env", got ${show(value.kind)}`);
}
