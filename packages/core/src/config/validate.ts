/**
 * `validateHashConfig` / `validateCelConfig`: untrusted input (TS object, CLI JSON, Python) ->
 * normalised config with every default of reference §9, or a `ConfigValidationError` for the
 * first problem (the §8 cases that apply to shardy's writers).
 */
import { ConfigValidationError } from "@shardy/errors";
import { type PyJsonObject, type PyJsonValue, pyJsonDumps } from "../json/python-json.ts";
import { SHARDY_BYTES_CUSTOM_KEY, taggedBytes } from "../manifest/bytes-extension.ts";
import { validateDbPathTemplate } from "../manifest/path-template.ts";
import { routingValuesProblem } from "../manifest/routing-values.ts";
import type { KeyEncoding, RoutingValue } from "../manifest/types.ts";
import { KEY_ENCODINGS } from "../manifest/validate.ts";
import {
  bool,
  checkKeys,
  expectObject,
  fail,
  given,
  int,
  intValue,
  join,
  numberValue,
  type Obj,
  oneOf,
  positiveNumber,
  segment,
  show,
  str,
} from "./fields.ts";
import { validateConnectionOptions, validateCredentialProvider, validateS3Prefix } from "./storage.ts";
import type {
  AdapterFactoryConfig,
  BaseWriteConfig,
  CelColumnType,
  CelShardedWriteConfig,
  CelShardingConfig,
  HashShardedWriteConfig,
  HashShardingConfig,
  KeyValueWriteConfig,
  KvWriteRateLimitConfig,
  RetryConfig,
  SqlitePageSize,
  WriterManifestConfig,
  WriterOutputConfig,
  WriterStorageConfig,
} from "./types.ts";

export const DEFAULT_DB_PATH_TEMPLATE = "db={db_id:05d}";
export const DEFAULT_SHARD_PREFIX = "shards";
export const DEFAULT_RUN_REGISTRY_PREFIX = "runs";
export const DEFAULT_BATCH_SIZE = 50_000;
export const DEFAULT_SHARD_ID_COL = "_shard_id";
export const DEFAULT_RETRY: Readonly<RetryConfig> = {
  max_retries: 3,
  initial_backoff_ms: 1000,
  backoff_multiplier: 2.0,
};
export const SQLITE_PAGE_SIZES: readonly SqlitePageSize[] = [4096, 8192, 16384, 32768, 65536, "auto"];
export const CEL_COLUMN_TYPES: readonly CelColumnType[] = [
  "int",
  "uint",
  "string",
  "bytes",
  "double",
  "bool",
];

/**
 * Hook for the CEL compile check (the kernel provides it; config stays kernel-free). Throw to
 * reject; a non-`ConfigValidationError` is wrapped into one naming `sharding.cel_expr`.
 */
export type CelExprCheck = (celExpr: string, celColumns: Readonly<Record<string, CelColumnType>>) => void;

export interface ValidateCelOptions {
  checkCelExpr?: CelExprCheck;
}

let defaultCelExprCheck: CelExprCheck | undefined;

/**
 * Installs the CEL compile check `validateCelConfig` uses when its options give none. Hosts
 * that load the kernel install `celExprCheck(kernel)` from `@shardy/kernel`; `undefined` removes it.
 */
export function setDefaultCelExprCheck(check: CelExprCheck | undefined): void {
  defaultCelExprCheck = check;
}

/** Groups and the flat aliases that may stand in for them (never both). */
const FLAT_ALIASES: Record<string, readonly string[]> = {
  storage: ["s3_prefix", "credential_provider", "s3_connection_options"],
  kv: ["key_encoding", "batch_size", "adapter_factory"],
  retry: ["shard_retry"],
  rate_limits: ["max_writes_per_second", "max_write_bytes_per_second"],
};
const HASH_FLAT = ["num_dbs", "max_keys_per_shard"] as const;
const CEL_FLAT = ["cel_expr", "cel_columns", "routing_values", "infer_routing_values_from_data"] as const;
const BASE_KEYS = ["storage", "output", "manifest", "kv", "retry", "rate_limits", "shard_id_col", "strategy"];

/** Reference fields shardy's config does not carry, with where they went instead. */
const UNSUPPORTED: Record<string, string> = {
  observability: "is a runtime hook, not config; pass a metrics/progress listener to the writer call instead",
  metrics_collector:
    "is a runtime hook, not config; pass a metrics/progress listener to the writer call instead",
  lifecycle: "is a runtime hook, not config; pass a run registry to the writer call instead",
  run_registry: "is a runtime hook, not config; pass a run registry to the writer call instead",
  vector: "is not supported: shardy builds key-value snapshots only; remove it",
  vector_spec: "is not supported: shardy builds key-value snapshots only; remove it",
};

/** Picks a group from its grouped form or its flat aliases, refusing a mix of both. */
function pickGroup(input: Obj, group: string, aliases: readonly string[]): { obj: Obj; prefix: string } {
  const flat = aliases.filter((k) => given(input[k]));
  if (given(input[group])) {
    if (flat.length > 0) {
      fail(
        flat[0] as string,
        `cannot be combined with the grouped ${group} config; set ${group}.${flat[0]} inside ${group}, or drop ${group} and use only flat fields`,
      );
    }
    return { obj: expectObject(input[group], group), prefix: group };
  }
  const obj: Obj = {};
  for (const k of flat) obj[k] = input[k];
  return { obj, prefix: "" };
}

function storage(input: Obj): WriterStorageConfig {
  const { obj, prefix } = pickGroup(input, "storage", FLAT_ALIASES.storage as readonly string[]);
  if (prefix) checkKeys(obj, FLAT_ALIASES.storage as readonly string[], prefix);
  return {
    s3_prefix: validateS3Prefix(obj.s3_prefix, join(prefix, "s3_prefix")),
    credential_provider: validateCredentialProvider(
      obj.credential_provider,
      join(prefix, "credential_provider"),
    ),
    s3_connection_options: validateConnectionOptions(
      obj.s3_connection_options,
      join(prefix, "s3_connection_options"),
    ),
  };
}

function output(input: Obj): WriterOutputConfig {
  const o = given(input.output) ? expectObject(input.output, "output") : {};
  checkKeys(o, ["run_id", "db_path_template", "shard_prefix", "run_registry_prefix", "local_root"], "output");
  const template = given(o.db_path_template)
    ? str(o.db_path_template, "output.db_path_template", `use e.g. "${DEFAULT_DB_PATH_TEMPLATE}"`)
    : DEFAULT_DB_PATH_TEMPLATE;
  validateDbPathTemplate(template);
  return {
    run_id: given(o.run_id) ? segment(o.run_id, "output.run_id", "nightly-2026-04-20") : null,
    db_path_template: template,
    shard_prefix: given(o.shard_prefix)
      ? segment(o.shard_prefix, "output.shard_prefix", DEFAULT_SHARD_PREFIX)
      : DEFAULT_SHARD_PREFIX,
    run_registry_prefix: given(o.run_registry_prefix)
      ? segment(o.run_registry_prefix, "output.run_registry_prefix", DEFAULT_RUN_REGISTRY_PREFIX)
      : DEFAULT_RUN_REGISTRY_PREFIX,
    local_root: given(o.local_root) ? str(o.local_root, "output.local_root", "give a directory path") : null,
  };
}

function manifest(input: Obj): WriterManifestConfig {
  const o = given(input.manifest) ? expectObject(input.manifest, "manifest") : {};
  checkKeys(o, ["custom_manifest_fields", "credential_provider", "s3_connection_options"], "manifest", {
    store: "is not supported in config: shardy publishes to the storage location; remove it",
  });
  let custom: PyJsonObject = {};
  if (given(o.custom_manifest_fields)) {
    const path = "manifest.custom_manifest_fields";
    custom = expectObject(o.custom_manifest_fields, path, "a JSON object") as PyJsonObject;
    if (SHARDY_BYTES_CUSTOM_KEY in custom) {
      fail(
        `${path}.${SHARDY_BYTES_CUSTOM_KEY}`,
        "is reserved for shardy's bytes encoding in manifests; rename it",
      );
    }
    try {
      pyJsonDumps(custom);
    } catch (err) {
      fail(path, `must be JSON-serializable: ${(err as Error).message}`);
    }
  }
  return {
    custom_manifest_fields: custom,
    credential_provider: validateCredentialProvider(o.credential_provider, "manifest.credential_provider"),
    s3_connection_options: validateConnectionOptions(
      o.s3_connection_options,
      "manifest.s3_connection_options",
    ),
  };
}

function adapterFactory(value: unknown, path: string): AdapterFactoryConfig {
  if (!given(value)) return { kind: "slatedb" };
  const o = expectObject(value, path, '{kind: "sqlite" | "slatedb" | "slatedb-local", ...}');
  const kind = oneOf(o.kind, ["sqlite", "slatedb", "slatedb-local"] as const, `${path}.kind`);
  if (kind !== "sqlite") {
    checkKeys(o, ["kind"], path);
    return { kind };
  }
  checkKeys(o, ["kind", "page_size", "cache_size_pages", "emit_sidecar"], path);
  const pageSize = given(o.page_size) ? (intValue(o.page_size) ?? o.page_size) : 4096;
  return {
    kind,
    page_size: oneOf(pageSize as SqlitePageSize, SQLITE_PAGE_SIZES, `${path}.page_size`),
    cache_size_pages: given(o.cache_size_pages)
      ? (intValue(o.cache_size_pages) ??
        fail(
          `${path}.cache_size_pages`,
          `must be an integer (negative = KiB), got ${show(o.cache_size_pages)}; e.g. -2000`,
        ))
      : -2000,
    emit_sidecar: given(o.emit_sidecar) ? bool(o.emit_sidecar, `${path}.emit_sidecar`) : true,
  };
}

function kv(input: Obj): KeyValueWriteConfig {
  const { obj, prefix } = pickGroup(input, "kv", FLAT_ALIASES.kv as readonly string[]);
  if (prefix)
    checkKeys(obj, [...(FLAT_ALIASES.kv as readonly string[]), "profile_value_sizes_for_page_size"], prefix);
  const at = (k: string) => join(prefix, k);
  const encoding = given(obj.key_encoding) ? obj.key_encoding : "u64be";
  if (!KEY_ENCODINGS.includes(encoding as KeyEncoding)) {
    fail(
      at("key_encoding"),
      `must be one of ${KEY_ENCODINGS.join(", ")}, got ${show(encoding)}; u64be is the default`,
    );
  }
  const factory = adapterFactory(obj.adapter_factory, at("adapter_factory"));
  const profile = given(obj.profile_value_sizes_for_page_size)
    ? bool(obj.profile_value_sizes_for_page_size, at("profile_value_sizes_for_page_size"))
    : false;
  if (profile && factory.kind === "sqlite" && factory.page_size !== 4096) {
    fail(
      at("profile_value_sizes_for_page_size"),
      `cannot be combined with an explicit SQLite page_size (${show(factory.page_size)}); drop one of them`,
    );
  }
  return {
    key_encoding: encoding as KeyEncoding,
    batch_size: given(obj.batch_size)
      ? int(obj.batch_size, at("batch_size"), 1, `e.g. ${DEFAULT_BATCH_SIZE}`)
      : DEFAULT_BATCH_SIZE,
    adapter_factory: factory,
    profile_value_sizes_for_page_size: profile,
  };
}

function retry(input: Obj): RetryConfig | null {
  const { obj, prefix } = pickGroup(input, "retry", FLAT_ALIASES.retry as readonly string[]);
  if (prefix) checkKeys(obj, FLAT_ALIASES.retry as readonly string[], prefix);
  const path = join(prefix, "shard_retry");
  if (!given(obj.shard_retry)) return null;
  const r = expectObject(obj.shard_retry, path, "{max_retries, initial_backoff_ms, backoff_multiplier}");
  checkKeys(r, ["max_retries", "initial_backoff_ms", "backoff_multiplier"], path);
  const backoff = given(r.initial_backoff_ms)
    ? numberValue(r.initial_backoff_ms)
    : DEFAULT_RETRY.initial_backoff_ms;
  if (backoff === undefined || !Number.isFinite(backoff) || backoff < 0) {
    fail(
      `${path}.initial_backoff_ms`,
      `must be a number of milliseconds >= 0, got ${show(r.initial_backoff_ms)}; e.g. 1000`,
    );
  }
  return {
    max_retries: given(r.max_retries)
      ? int(r.max_retries, `${path}.max_retries`, 0, "e.g. 3")
      : DEFAULT_RETRY.max_retries,
    initial_backoff_ms: backoff,
    backoff_multiplier: given(r.backoff_multiplier)
      ? positiveNumber(r.backoff_multiplier, `${path}.backoff_multiplier`, "e.g. 2.0")
      : DEFAULT_RETRY.backoff_multiplier,
  };
}

function rateLimits(input: Obj): KvWriteRateLimitConfig {
  const { obj, prefix } = pickGroup(input, "rate_limits", FLAT_ALIASES.rate_limits as readonly string[]);
  if (prefix) checkKeys(obj, FLAT_ALIASES.rate_limits as readonly string[], prefix);
  const limit = (k: string) =>
    given(obj[k]) ? positiveNumber(obj[k], join(prefix, k), "or leave it unset for no limit") : null;
  return {
    max_writes_per_second: limit("max_writes_per_second"),
    max_write_bytes_per_second: limit("max_write_bytes_per_second"),
  };
}

function base(input: Obj): BaseWriteConfig {
  return {
    storage: storage(input),
    output: output(input),
    manifest: manifest(input),
    kv: kv(input),
    retry: { shard_retry: retry(input) },
    rate_limits: rateLimits(input),
    shard_id_col: given(input.shard_id_col)
      ? nonEmpty(input.shard_id_col, "shard_id_col", `e.g. "${DEFAULT_SHARD_ID_COL}"`)
      : DEFAULT_SHARD_ID_COL,
  };
}

function nonEmpty(value: unknown, path: string, fix: string): string {
  const s = str(value, path, fix);
  if (s === "") fail(path, `must be non-empty; ${fix}`);
  return s;
}

function topLevel(input: unknown, strategy: "hash" | "cel", flatSharding: readonly string[]): Obj {
  const o = expectObject(input, "config", "a config object");
  const allowed = [...BASE_KEYS, ...Object.values(FLAT_ALIASES).flat(), "sharding", ...flatSharding];
  const other = strategy === "hash" ? CEL_FLAT : HASH_FLAT;
  const hints: Record<string, string> = { ...UNSUPPORTED };
  for (const k of other) {
    hints[k] =
      `belongs to ${strategy === "hash" ? "CEL" : "hash"} sharding; use validate${strategy === "hash" ? "Cel" : "Hash"}Config for it`;
  }
  checkKeys(o, allowed, "", hints);
  if (given(o.strategy) && o.strategy !== strategy) {
    fail("strategy", `must be ${show(strategy)} here, got ${show(o.strategy)}`);
  }
  return o;
}

function pickSharding(input: Obj, flat: readonly string[]): { obj: Obj; prefix: string } {
  const picked = pickGroup(input, "sharding", flat);
  if (picked.prefix) checkKeys(picked.obj, flat, "sharding");
  return picked;
}

/** Normalises a hash-sharded write config; throws `ConfigValidationError` naming the bad field. */
export function validateHashConfig(input: unknown): HashShardedWriteConfig {
  const o = topLevel(input, "hash", HASH_FLAT);
  const { obj, prefix } = pickSharding(o, HASH_FLAT);
  const numDbsPath = join(prefix, "num_dbs");
  const maxKeysPath = join(prefix, "max_keys_per_shard");
  let sharding: HashShardingConfig;
  if (given(obj.max_keys_per_shard)) {
    const maxKeys = int(obj.max_keys_per_shard, maxKeysPath, 1, "e.g. 1000000");
    if (given(obj.num_dbs)) {
      fail(maxKeysPath, `cannot be combined with ${numDbsPath} (${show(obj.num_dbs)}); set only one of them`);
    }
    sharding = { num_dbs: null, max_keys_per_shard: maxKeys };
  } else {
    if (!given(obj.num_dbs)) {
      fail(numDbsPath, `is required (an integer > 0) unless ${maxKeysPath} is set; e.g. ${numDbsPath}=8`);
    }
    sharding = {
      num_dbs: int(obj.num_dbs, numDbsPath, 1, `or set ${maxKeysPath} instead`),
      max_keys_per_shard: null,
    };
  }
  return { strategy: "hash", sharding, ...base(o) };
}

const CEL_IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function routingValue(value: unknown): unknown {
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  return taggedBytes(value as PyJsonValue) ?? value;
}

/** Normalises a CEL-sharded write config; throws `ConfigValidationError` naming the bad field. */
export function validateCelConfig(input: unknown, options: ValidateCelOptions = {}): CelShardedWriteConfig {
  const o = topLevel(input, "cel", CEL_FLAT);
  const { obj, prefix } = pickSharding(o, CEL_FLAT);
  const at = (k: string) => join(prefix, k);

  if (!given(obj.cel_expr) || obj.cel_expr === "") {
    fail(at("cel_expr"), `is required for CEL sharding; e.g. "shard_hash(key) % 8u"`);
  }
  const expr = str(obj.cel_expr, at("cel_expr"), 'e.g. "shard_hash(key) % 8u"');
  if (!given(obj.cel_columns)) fail(at("cel_columns"), 'is required for CEL sharding; e.g. {"key": "int"}');
  const rawCols = expectObject(
    obj.cel_columns,
    at("cel_columns"),
    'an object of column name -> type, e.g. {"key": "int"}',
  );
  const names = Object.keys(rawCols);
  if (names.length === 0) fail(at("cel_columns"), 'must name at least one column; e.g. {"key": "int"}');
  const columns: Record<string, CelColumnType> = {};
  for (const name of names) {
    const colPath = `${at("cel_columns")}.${name}`;
    if (!CEL_IDENTIFIER_RE.test(name)) {
      fail(
        colPath,
        `is not a valid CEL identifier (letters, digits, _; not starting with a digit); rename the column`,
      );
    }
    const type = rawCols[name];
    if (!CEL_COLUMN_TYPES.includes(type as CelColumnType)) {
      fail(colPath, `must be one of ${CEL_COLUMN_TYPES.join(", ")}, got ${show(type)}`);
    }
    columns[name] = type as CelColumnType;
  }

  const infer = given(obj.infer_routing_values_from_data)
    ? bool(obj.infer_routing_values_from_data, at("infer_routing_values_from_data"))
    : false;
  let routingValues: RoutingValue[] | null = null;
  if (given(obj.routing_values)) {
    const rvPath = at("routing_values");
    if (infer) {
      fail(
        at("infer_routing_values_from_data"),
        `cannot be combined with ${rvPath}; give the tokens or infer them, not both`,
      );
    }
    if (!Array.isArray(obj.routing_values))
      fail(rvPath, `must be a list of tokens, got ${show(obj.routing_values)}`);
    const values = obj.routing_values.map(routingValue);
    const problem = routingValuesProblem(values);
    if (problem) fail(rvPath, `${problem}; give unique tokens, all ints, all strings or all bytes`);
    routingValues = values as RoutingValue[];
  }

  const checkCelExpr = options.checkCelExpr ?? defaultCelExprCheck;
  if (checkCelExpr) {
    try {
      checkCelExpr(expr, columns);
    } catch (err) {
      if (err instanceof ConfigValidationError) throw err;
      fail(at("cel_expr"), `does not compile: ${(err as Error).message}; got ${show(expr)}`);
    }
  }
  const sharding: CelShardingConfig = {
    cel_expr: expr,
    cel_columns: columns,
    routing_values: routingValues,
    infer_routing_values_from_data: infer,
  };
  return { strategy: "cel", sharding, ...base(o) };
}

/** Number of shards a config implies before seeing data, or `null` when data decides. */
export function configuredNumDbs(config: HashShardedWriteConfig | CelShardedWriteConfig): number | null {
  if (config.strategy === "hash") return config.sharding.num_dbs;
  const rv = config.sharding.routing_values;
  return rv === null ? null : Math.max(1, rv.length);
}
