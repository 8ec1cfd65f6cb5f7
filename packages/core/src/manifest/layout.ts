/**
 * Where things live under an `s3_prefix` (reference format §2). The functions accept either a URL
 * prefix (`s3://bucket/p`, `file:///abs/p`, `memory://name/p`) or a store-relative key prefix
 * (`p`, or `""` for the store root) and return the same kind.
 */

import { formatKeyTimestamp, parseKeyTimestamp } from "../time/index.ts";
import type { PreciseDate } from "../time/precise-date.ts";
import { formatDbPath } from "./path-template.ts";

export const MANIFESTS_DIR = "manifests";
export const MANIFEST_NAME = "manifest";
export const CURRENT_POINTER_NAME = "_CURRENT";

/**
 * `storage.py::join_s3`: `base.rstrip("/")`, then every non-empty part with its slashes stripped,
 * joined by `/`. An empty base gives a store-relative key without a leading slash.
 */
export function joinS3(base: string, ...parts: string[]): string {
  const clean = parts.filter((p) => p !== "").map((p) => p.replace(/^\/+|\/+$/g, ""));
  const head = base.replace(/\/+$/, "");
  return head === "" && base === "" ? clean.join("/") : [head, ...clean].join("/");
}

/** `<prefix>/manifests/<%Y-%m-%dT%H:%M:%S.%fZ>_run_id=<run>/manifest`, timestamp = publish time. */
export function manifestKeyFor(prefix: string, runId: string, publishedAt: Date): string {
  return joinS3(prefix, MANIFESTS_DIR, manifestDirName(runId, publishedAt), MANIFEST_NAME);
}

/** `<%Y-%m-%dT%H:%M:%S.%fZ>_run_id=<run>`: one manifest's directory under `manifests/`. */
export function manifestDirName(runId: string, publishedAt: Date): string {
  return `${formatKeyTimestamp(publishedAt)}_run_id=${runId}`;
}

/** `<prefix>/_CURRENT`. */
export function currentPointerKeyFor(prefix: string, name: string = CURRENT_POINTER_NAME): string {
  return joinS3(prefix, name);
}

/** The reference's `MANIFEST_PREFIX_RE` for names listed under `manifests/` (trailing `/` optional). */
export const MANIFEST_PREFIX_RE =
  /^(?<timestamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)_run_id=(?<run_id>[^/]+)\/?$/;

export interface ManifestDirInfo {
  /** The timestamp text exactly as in the key. */
  timestamp: string;
  runId: string;
  publishedAt: PreciseDate;
}

/**
 * Parses one `manifests/` child name (`2026-04-20T15:23:01.123456Z_run_id=abc` or with a trailing
 * `/`); `undefined` when it does not match, as the reference ignores such entries.
 */
export function parseManifestDirName(name: string): ManifestDirInfo | undefined {
  const m = MANIFEST_PREFIX_RE.exec(name);
  const timestamp = m?.groups?.timestamp;
  const runId = m?.groups?.run_id;
  if (timestamp === undefined || runId === undefined) return undefined;
  try {
    return { timestamp, runId, publishedAt: parseKeyTimestamp(timestamp) };
  } catch {
    return undefined; // e.g. month 13: shaped like a timestamp but not one
  }
}

const RUN_ID_IN_REF_RE = /run_id=(?<run_id>[^/]+)/;

/** The run id inside a manifest ref (`…/…_run_id=<run>/manifest`), as `set_current` extracts it. */
export function runIdFromManifestRef(ref: string): string | undefined {
  return RUN_ID_IN_REF_RE.exec(ref)?.groups?.run_id;
}

/**
 * One shard attempt's root (`make_shard_url`):
 * `join_s3(s3_prefix, shard_prefix, "run_id=<run>", db_path_template.format(db_id=…), "attempt=NN")`.
 */
export function shardAttemptUrl(
  s3Prefix: string,
  shardPrefix: string,
  runId: string,
  dbPathTemplate: string,
  dbId: number,
  attempt: number,
): string {
  return joinS3(
    s3Prefix,
    shardPrefix,
    `run_id=${runId}`,
    formatDbPath(dbPathTemplate, dbId),
    `attempt=${String(attempt).padStart(2, "0")}`,
  );
}

/** `<s3_prefix>/<shard_prefix>/run_id=<run>`: everything one run wrote for its shards. */
export function runShardsPrefix(s3Prefix: string, shardPrefix: string, runId: string): string {
  return joinS3(s3Prefix, shardPrefix, `run_id=${runId}`);
}
