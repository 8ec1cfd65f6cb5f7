/**
 * The semantic rules every manifest obeys: the pydantic model constraints plus
 * `manifest_store.py::_validate_manifest` (reference format §3.1 "Validation on load").
 * Used on parse (-> ManifestParseError) and before build (-> ManifestBuildError), so shardy never
 * writes a manifest it would refuse to read.
 */
import { describeJson } from "../json/python-json.ts";
import { routingValuesProblem } from "./routing-values.ts";
import { type KeyEncoding, MANIFEST_FORMAT_VERSION, type Manifest, type ShardingSpec } from "./types.ts";

export const KEY_ENCODINGS: readonly KeyEncoding[] = ["u64be", "u32be", "utf8", "raw"];
export const SUPPORTED_MANIFEST_FORMAT_VERSIONS: readonly number[] = [MANIFEST_FORMAT_VERSION];

export type Fail = (message: string) => never;

function nonNegativeInt(value: unknown, what: string, fail: Fail): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    fail(`${what} must be an integer >= 0, got ${describeJson(value)}`);
  }
}

function optionalInt(value: unknown, what: string, fail: Fail): void {
  if (value !== null && (typeof value !== "number" || !Number.isSafeInteger(value))) {
    fail(`${what} must be an integer or null, got ${describeJson(value)}`);
  }
}

export function validateSharding(sharding: ShardingSpec, fail: Fail): void {
  if (sharding.strategy !== "hash" && sharding.strategy !== "cel") {
    fail(`sharding.strategy must be "hash" or "cel", got ${describeJson(sharding.strategy)}`);
  }
  if (sharding.hashAlgorithm === null || sharding.hashAlgorithm === undefined) {
    fail('sharding.hash_algorithm is required (only "xxh3_64" exists)');
  }
  if (sharding.hashAlgorithm !== "xxh3_64") {
    fail(`Unsupported shard hash algorithm: ${describeJson(sharding.hashAlgorithm)}. Allowed: xxh3_64`);
  }
  if (sharding.strategy === "cel") {
    if (typeof sharding.celExpr !== "string" || sharding.celExpr === "") {
      fail("CEL strategy requires cel_expr (a non-empty string)");
    }
    const cols = sharding.celColumns;
    if (cols === null || typeof cols !== "object" || Object.keys(cols).length === 0) {
      fail("CEL strategy requires cel_columns (a non-empty object of column name -> type)");
    }
    for (const [name, type] of Object.entries(cols)) {
      if (typeof type !== "string")
        fail(`cel_columns.${name} must be a type name string, got ${describeJson(type)}`);
    }
    if (sharding.routingValues !== null) {
      if (!Array.isArray(sharding.routingValues)) {
        fail(`routing_values must be a list or null, got ${describeJson(sharding.routingValues)}`);
      }
      const problem = routingValuesProblem(sharding.routingValues);
      if (problem) fail(`Routing values ${problem}`);
    }
  } else {
    if (sharding.routingValues !== null) fail("routing_values are only valid with CEL strategy");
    if (sharding.celExpr !== null) fail("cel_expr is only valid with CEL strategy");
    if (sharding.celColumns !== null) fail("cel_columns are only valid with CEL strategy");
  }
}

export function validateManifest(manifest: Manifest, fail: Fail): void {
  const b = manifest.build;
  for (const [name, value] of [
    ["run_id", b.runId],
    ["s3_prefix", b.s3Prefix],
    ["key_col", b.keyCol],
    ["db_path_template", b.dbPathTemplate],
    ["shard_prefix", b.shardPrefix],
  ] as const) {
    if (typeof value !== "string") fail(`build_meta.${name} must be a string, got ${describeJson(value)}`);
  }
  if (!(b.createdAt instanceof Date) || Number.isNaN(b.createdAt.getTime())) {
    fail(`build_meta.created_at must be a valid datetime, got ${describeJson(b.createdAt)}`);
  }
  if (typeof b.numDbs !== "number" || !Number.isSafeInteger(b.numDbs) || b.numDbs <= 0) {
    fail(`build_meta.num_dbs must be an integer > 0, got ${describeJson(b.numDbs)}`);
  }
  if (!KEY_ENCODINGS.includes(b.keyEncoding)) {
    fail(`Unsupported key encoding: ${describeJson(b.keyEncoding)}. Allowed: ${KEY_ENCODINGS.join(", ")}`);
  }
  if (!SUPPORTED_MANIFEST_FORMAT_VERSIONS.includes(b.formatVersion)) {
    fail(
      `Unsupported manifest format_version: ${describeJson(b.formatVersion)}. Supported: [${SUPPORTED_MANIFEST_FORMAT_VERSIONS.join(", ")}]`,
    );
  }
  validateSharding(b.sharding, fail);

  for (const s of manifest.shards) {
    const at = `shard db_id=${describeJson(s.dbId)}`;
    nonNegativeInt(s.dbId, "shards.db_id", fail);
    nonNegativeInt(s.attempt, `${at}: attempt`, fail);
    nonNegativeInt(s.rowCount, `${at}: row_count`, fail);
    nonNegativeInt(s.dbBytes, `${at}: db_bytes`, fail);
    if (s.dbUrl !== null && typeof s.dbUrl !== "string") fail(`${at}: db_url must be a string or null`);
    if (s.checkpointId !== null && typeof s.checkpointId !== "string") {
      fail(`${at}: checkpoint_id must be a string or null`);
    }
    for (const [name, key] of [
      ["min_key", s.minKey],
      ["max_key", s.maxKey],
    ] as const) {
      if (
        key !== null &&
        typeof key !== "bigint" &&
        typeof key !== "string" &&
        !(key instanceof Uint8Array)
      ) {
        fail(`${at}: ${name} must be an int (bigint), str, bytes or null, got ${describeJson(key)}`);
      }
    }
    const w = s.writerInfo;
    if (w === null || typeof w !== "object") fail(`${at}: writer_info must be an object`);
    // Plain ints in the reference (no >= 0 constraint), so no stricter here: we must read its files.
    if (!Number.isSafeInteger(w.attempt)) fail(`${at}: writer_info.attempt must be an integer`);
    if (!Number.isSafeInteger(w.durationMs)) fail(`${at}: writer_info.duration_ms must be an integer`);
    optionalInt(w.stageId, `${at}: writer_info.stage_id`, fail);
    optionalInt(w.taskAttemptId, `${at}: writer_info.task_attempt_id`, fail);
  }

  const numDbs = b.numDbs;
  if (manifest.shards.length > numDbs) {
    fail(`Manifest shard count exceeds num_dbs: ${manifest.shards.length} > ${numDbs}`);
  }
  const ids = manifest.shards.map((s) => s.dbId);
  if (new Set(ids).size !== ids.length) {
    fail(`Manifest contains duplicate shard db_ids: [${[...ids].sort((x, y) => x - y).join(", ")}]`);
  }
  const outOfRange = ids.filter((i) => i < 0 || i >= numDbs);
  if (outOfRange.length > 0) {
    fail(`Manifest shard db_ids out of range [0, ${numDbs}): [${outOfRange.join(", ")}]`);
  }
  const rv = b.sharding.routingValues;
  if (rv !== null) {
    const expected = Math.max(1, rv.length);
    if (numDbs !== expected) {
      fail(
        `Categorical CEL manifest num_dbs must match routing_values cardinality (expected ${expected}, got ${numDbs})`,
      );
    }
  }
}
