/**
 * What one shard attempt reports, and its JSON wire form (snake_case, ints exact, bytes keys as
 * `{"__bytes_hex__": ...}`) printed by `shardy write-shard` and read back by `shardy publish`.
 */
import {
  BYTES_HEX_TAG,
  bytesToHex,
  hexToBytes,
  type ManifestKey,
  type PyJsonValue,
  pyJsonDumpsCompact,
  pyJsonLoads,
  type ShardAttemptResult,
  type WriterInfo,
} from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";

export interface ShardResult extends ShardAttemptResult {
  /** Every attempt URL this shard wrote to, failed retries included (for loser cleanup). */
  allAttemptUrls: string[];
  /** Rows whose key a later row of this shard replaced (last write wins). */
  duplicates: number;
  /** `"<algorithm>:<hex>"` of the shard file (SQLite), recorded in `custom.shard_checksums`. */
  checksum: string | null;
  /** Backend name and details (page size, driver, SST count, ...). */
  backend: { kind: string } & Record<string, unknown>;
}

/** Bumped when the wire form changes incompatibly. */
export const SHARD_RESULT_VERSION = 1;

function keyToWire(key: ManifestKey): PyJsonValue {
  if (key instanceof Uint8Array) return { [BYTES_HEX_TAG]: bytesToHex(key) };
  return key;
}

function keyFromWire(value: unknown, field: string): ManifestKey {
  if (value === null || typeof value === "bigint" || typeof value === "string") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (
    value &&
    typeof value === "object" &&
    typeof (value as Record<string, unknown>)[BYTES_HEX_TAG] === "string"
  ) {
    const bytes = hexToBytes((value as Record<string, string>)[BYTES_HEX_TAG]!);
    if (bytes !== undefined) return bytes;
  }
  throw bad(field, value, 'an integer, a string, {"__bytes_hex__": "<hex>"} or null');
}

/** The wire object of `result` (a `PyJsonValue`: ints stay bigint-exact). */
export function shardResultToWire(result: ShardResult): PyJsonValue {
  return {
    result_version: SHARD_RESULT_VERSION,
    db_id: result.dbId,
    db_url: result.dbUrl,
    attempt: result.attempt,
    row_count: result.rowCount,
    db_bytes: result.dbBytes,
    min_key: keyToWire(result.minKey),
    max_key: keyToWire(result.maxKey),
    checkpoint_id: result.checkpointId,
    writer_info: {
      attempt: result.writerInfo.attempt,
      duration_ms: result.writerInfo.durationMs,
      stage_id: result.writerInfo.stageId,
      task_attempt_id: result.writerInfo.taskAttemptId,
    },
    duplicates: result.duplicates,
    checksum: result.checksum,
    all_attempt_urls: [...result.allAttemptUrls],
    backend: result.backend as Record<string, PyJsonValue>,
  };
}

/** One line of JSON (sorted keys, compact), as `shardy write-shard` prints it. */
export function shardResultToJson(result: ShardResult): string {
  return pyJsonDumpsCompact(shardResultToWire(result));
}

function bad(field: string, value: unknown, expected: string): ConfigValidationError {
  let shown: string;
  try {
    shown = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) ?? String(value);
  } catch {
    shown = String(value);
  }
  return new ConfigValidationError(`shard result field ${field} is ${shown}; expected ${expected}`, {
    field: `shard_result.${field}`,
  });
}

function int(obj: Record<string, unknown>, field: string, min = 0): number {
  const v = obj[field];
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min)
    throw bad(field, v, `an integer >= ${min}`);
  return n;
}

function optInt(obj: Record<string, unknown>, field: string): number | null {
  return obj[field] == null ? null : int(obj, field);
}

function optString(obj: Record<string, unknown>, field: string): string | null {
  const v = obj[field];
  if (v == null) return null;
  if (typeof v !== "string") throw bad(field, v, "a string or null");
  return v;
}

/** Parses a wire result (JSON text or parsed value), validating every field. */
export function shardResultFromJson(input: string | unknown): ShardResult {
  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = pyJsonLoads(input);
    } catch (cause) {
      throw new ConfigValidationError(`shard result is not valid JSON: ${(cause as Error).message}`, {
        field: "shard_result",
        cause,
      });
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw bad("(root)", value, "a JSON object");
  }
  const o = value as Record<string, unknown>;
  if (o.result_version != null && Number(o.result_version) !== SHARD_RESULT_VERSION) {
    throw bad(
      "result_version",
      o.result_version,
      `${SHARD_RESULT_VERSION} (this shardy reads version ${SHARD_RESULT_VERSION})`,
    );
  }
  const wi = (o.writer_info ?? {}) as Record<string, unknown>;
  if (typeof wi !== "object" || Array.isArray(wi)) throw bad("writer_info", wi, "an object");
  const writerInfo: WriterInfo = {
    attempt: wi.attempt == null ? int(o, "attempt") : int(wi, "attempt"),
    durationMs: wi.duration_ms == null ? 0 : int(wi, "duration_ms"),
    stageId: optInt(wi, "stage_id"),
    taskAttemptId: optInt(wi, "task_attempt_id"),
  };
  const urls = o.all_attempt_urls ?? [];
  if (!Array.isArray(urls) || urls.some((u) => typeof u !== "string")) {
    throw bad("all_attempt_urls", urls, "a list of URLs");
  }
  const backend = (o.backend ?? { kind: "unknown" }) as ShardResult["backend"];
  return {
    dbId: int(o, "db_id"),
    dbUrl: optString(o, "db_url"),
    attempt: int(o, "attempt"),
    rowCount: int(o, "row_count"),
    dbBytes: o.db_bytes == null ? 0 : int(o, "db_bytes"),
    minKey: keyFromWire(o.min_key ?? null, "min_key"),
    maxKey: keyFromWire(o.max_key ?? null, "max_key"),
    checkpointId: optString(o, "checkpoint_id"),
    writerInfo,
    duplicates: o.duplicates == null ? 0 : int(o, "duplicates"),
    checksum: optString(o, "checksum"),
    allAttemptUrls: urls as string[],
    backend,
  };
}
