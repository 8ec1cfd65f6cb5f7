import { describe, expect, test } from "bun:test";
import { ConfigValidationError } from "@shardy/errors";
import {
  type CelShardedWriteConfig,
  configToJson,
  configuredNumDbs,
  fromWire,
  type HashShardedWriteConfig,
  toWire,
  validateCelConfig,
  validateHashConfig,
} from "../src/index.ts";
import { runPythonCode } from "./helpers/python.ts";

const S3 = "s3://bucket/prefix";

/** Asserts a ConfigValidationError whose `field` and message name the field and show the value. */
function expectConfigError(run: () => unknown, field: string, ...fragments: string[]): ConfigValidationError {
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigValidationError);
  const e = err as ConfigValidationError;
  expect(e.field).toBe(field);
  expect(e.message.startsWith(`${field} `)).toBe(true);
  for (const f of fragments) expect(e.message).toContain(f);
  return e;
}

const hash = (extra: Record<string, unknown> = {}) =>
  validateHashConfig({ s3_prefix: S3, num_dbs: 4, ...extra });
const cel = (extra: Record<string, unknown> = {}) =>
  validateCelConfig({
    s3_prefix: S3,
    cel_expr: "shard_hash(key) % 4u",
    cel_columns: { key: "int" },
    ...extra,
  });

describe("defaults (reference §9)", () => {
  test("a minimal hash config is normalised to the grouped form with every default", () => {
    const expected: HashShardedWriteConfig = {
      strategy: "hash",
      sharding: { num_dbs: 4, max_keys_per_shard: null },
      storage: { s3_prefix: S3, credential_provider: null, s3_connection_options: null },
      output: {
        run_id: null,
        db_path_template: "db={db_id:05d}",
        shard_prefix: "shards",
        run_registry_prefix: "runs",
        local_root: null,
      },
      manifest: { custom_manifest_fields: {}, credential_provider: null, s3_connection_options: null },
      kv: {
        key_encoding: "u64be",
        batch_size: 50_000,
        adapter_factory: { kind: "slatedb" },
        profile_value_sizes_for_page_size: false,
      },
      retry: { shard_retry: null },
      rate_limits: { max_writes_per_second: null, max_write_bytes_per_second: null },
      shard_id_col: "_shard_id",
    };
    expect(hash()).toEqual(expected);
  });

  test("flat aliases and grouped fields give the same config", () => {
    const flat = validateHashConfig({
      s3_prefix: S3,
      num_dbs: 3,
      key_encoding: "utf8",
      batch_size: 10,
      adapter_factory: { kind: "sqlite" },
      shard_retry: { max_retries: 1 },
      max_writes_per_second: 100,
    });
    const grouped = validateHashConfig({
      storage: { s3_prefix: S3 },
      sharding: { num_dbs: 3 },
      kv: { key_encoding: "utf8", batch_size: 10, adapter_factory: { kind: "sqlite" } },
      retry: { shard_retry: { max_retries: 1 } },
      rate_limits: { max_writes_per_second: 100 },
    });
    expect(flat).toEqual(grouped);
    expect(flat.kv.adapter_factory).toEqual({
      kind: "sqlite",
      page_size: 4096,
      cache_size_pages: -2000,
      emit_sidecar: true,
    });
    expect(flat.retry.shard_retry).toEqual({
      max_retries: 1,
      initial_backoff_ms: 1000,
      backoff_multiplier: 2.0,
    });
  });

  test("shard_retry given empty takes RetryConfig defaults", () => {
    expect(hash({ shard_retry: {} }).retry.shard_retry).toEqual({
      max_retries: 3,
      initial_backoff_ms: 1000,
      backoff_multiplier: 2,
    });
  });

  test("file:// and memory:// prefixes address the embedded stores", () => {
    expect(hash({ s3_prefix: "file:///var/data/snap" }).storage.s3_prefix).toBe("file:///var/data/snap");
    expect(hash({ s3_prefix: "memory://tests/p" }).storage.s3_prefix).toBe("memory://tests/p");
  });

  test("max_keys_per_shard instead of num_dbs", () => {
    const c = hash({ num_dbs: undefined, max_keys_per_shard: 1000 });
    expect(c.sharding).toEqual({ num_dbs: null, max_keys_per_shard: 1000 });
    expect(configuredNumDbs(c)).toBeNull();
  });
});

describe("ConfigValidationError cases (§8) name the field, the value and the fix", () => {
  test("s3_prefix", () => {
    expectConfigError(() => validateHashConfig({ num_dbs: 1 }), "s3_prefix", "is required");
    expectConfigError(
      () => hash({ s3_prefix: "http://bucket/p" }),
      "s3_prefix",
      '"http://bucket/p"',
      "s3://bucket/prefix",
    );
    expectConfigError(
      () => hash({ s3_prefix: "s3://bucket" }),
      "s3_prefix",
      "non-empty key prefix",
      '"s3://bucket"',
    );
    expectConfigError(() => hash({ s3_prefix: "s3://bucket/" }), "s3_prefix", "non-empty key prefix");
    expectConfigError(() => hash({ s3_prefix: "s3:///key" }), "s3_prefix", "s3://bucket/prefix");
    expectConfigError(() => hash({ s3_prefix: "file://relative/dir" }), "s3_prefix", "absolute path");
    expectConfigError(() => hash({ s3_prefix: "file:///" }), "s3_prefix", "below the file-system root");
    expectConfigError(() => hash({ s3_prefix: "memory://" }), "s3_prefix", "memory://name");
    expectConfigError(
      () => validateHashConfig({ storage: { s3_prefix: "bucket/p" }, num_dbs: 1 }),
      "storage.s3_prefix",
      '"bucket/p"',
    );
  });

  test("shard_prefix and run_registry_prefix are single safe segments", () => {
    const out = (o: Record<string, unknown>) => () => hash({ output: o });
    expectConfigError(
      out({ shard_prefix: "a/b" }),
      "output.shard_prefix",
      'one path segment of [A-Za-z0-9._-], got "a/b"',
      'use e.g. "shards"',
    );
    expectConfigError(out({ shard_prefix: "" }), "output.shard_prefix", "non-empty");
    expectConfigError(out({ shard_prefix: ".." }), "output.shard_prefix", 'must not contain ".."');
    expectConfigError(out({ shard_prefix: "a\\b" }), "output.shard_prefix", "one path segment");
    expectConfigError(out({ shard_prefix: "sh ards" }), "output.shard_prefix", '"sh ards"');
    expectConfigError(out({ run_registry_prefix: "x/../y" }), "output.run_registry_prefix", "..");
    expectConfigError(out({ run_id: "run/1" }), "output.run_id", '"run/1"');
  });

  test("db_path_template must format with db_id", () => {
    expectConfigError(
      () => hash({ output: { db_path_template: "db={shard}" } }),
      "output.db_path_template",
      '"db={shard}"',
      "unknown field {shard}",
    );
    expectConfigError(
      () => hash({ output: { db_path_template: "db={}" } }),
      "output.db_path_template",
      "positional",
    );
  });

  test("key_encoding, batch_size", () => {
    expectConfigError(
      () => hash({ key_encoding: "u128be" }),
      "key_encoding",
      '"u128be"',
      "u64be, u32be, utf8, raw",
    );
    expectConfigError(() => hash({ kv: { key_encoding: "x" } }), "kv.key_encoding", '"x"');
    expectConfigError(() => hash({ batch_size: 0 }), "batch_size", ">= 1, got 0");
    expectConfigError(() => hash({ batch_size: -5 }), "batch_size", "got -5");
    expectConfigError(() => hash({ kv: { batch_size: 1.5 } }), "kv.batch_size", "got 1.5");
  });

  test("num_dbs / max_keys_per_shard", () => {
    expectConfigError(
      () => validateHashConfig({ s3_prefix: S3 }),
      "num_dbs",
      "is required",
      "max_keys_per_shard",
    );
    expectConfigError(() => hash({ num_dbs: 0 }), "num_dbs", ">= 1, got 0");
    expectConfigError(() => hash({ num_dbs: -2 }), "num_dbs", "got -2");
    expectConfigError(
      () => hash({ max_keys_per_shard: 10 }),
      "max_keys_per_shard",
      "cannot be combined with num_dbs (4)",
    );
    expectConfigError(() => hash({ num_dbs: null, max_keys_per_shard: 0 }), "max_keys_per_shard", "got 0");
    expectConfigError(
      () => validateHashConfig({ s3_prefix: S3, sharding: { num_dbs: 0 } }),
      "sharding.num_dbs",
      "got 0",
    );
  });

  test("rate limits must be > 0 when set", () => {
    expectConfigError(() => hash({ max_writes_per_second: 0 }), "max_writes_per_second", "> 0, got 0");
    expectConfigError(
      () => hash({ rate_limits: { max_write_bytes_per_second: -1 } }),
      "rate_limits.max_write_bytes_per_second",
      "got -1",
    );
  });

  test("mixing grouped and flat fields for the same group", () => {
    expectConfigError(
      () => validateHashConfig({ storage: { s3_prefix: S3 }, s3_prefix: S3, num_dbs: 1 }),
      "s3_prefix",
      "grouped storage",
    );
    expectConfigError(() => hash({ kv: {}, key_encoding: "utf8" }), "key_encoding", "grouped kv");
    expectConfigError(() => hash({ retry: {}, shard_retry: {} }), "shard_retry", "grouped retry");
    expectConfigError(
      () => hash({ rate_limits: {}, max_writes_per_second: 5 }),
      "max_writes_per_second",
      "grouped rate_limits",
    );
    expectConfigError(() => hash({ sharding: { num_dbs: 2 } }), "num_dbs", "grouped sharding");
  });

  test("shard_id_col must be non-empty", () => {
    expectConfigError(() => hash({ shard_id_col: "" }), "shard_id_col", "non-empty", "_shard_id");
  });

  test("unknown and unsupported fields are refused, typos included", () => {
    expectConfigError(() => hash({ num_db: 4 }), "num_db", "not a known field");
    expectConfigError(
      () => hash({ output: { shard_prefx: "x" } }),
      "output.shard_prefx",
      "not a known field",
      "shard_prefix",
    );
    expectConfigError(() => hash({ vector_spec: {} }), "vector_spec", "not supported");
    expectConfigError(() => hash({ metrics_collector: {} }), "metrics_collector", "runtime hook");
    expectConfigError(() => hash({ cel_expr: "x" }), "cel_expr", "CEL sharding");
    expectConfigError(() => hash({ manifest: { store: {} } }), "manifest.store", "not supported");
    expectConfigError(() => hash({ strategy: "cel" }), "strategy", 'must be "hash"');
  });

  test("adapter_factory", () => {
    expectConfigError(
      () => hash({ adapter_factory: { kind: "rocksdb" } }),
      "adapter_factory.kind",
      '"rocksdb"',
      '"sqlite"',
    );
    expectConfigError(
      () => hash({ adapter_factory: { kind: "sqlite", page_size: 1000 } }),
      "adapter_factory.page_size",
      "got 1000",
      "4096",
    );
    expectConfigError(
      () => hash({ adapter_factory: { kind: "slatedb", page_size: 4096 } }),
      "adapter_factory.page_size",
      "not a known field",
    );
    expect(
      hash({ adapter_factory: { kind: "sqlite", page_size: "auto", emit_sidecar: false } }).kv
        .adapter_factory,
    ).toEqual({
      kind: "sqlite",
      page_size: "auto",
      cache_size_pages: -2000,
      emit_sidecar: false,
    });
    expectConfigError(
      () =>
        hash({
          kv: {
            adapter_factory: { kind: "sqlite", page_size: 8192 },
            profile_value_sizes_for_page_size: true,
          },
        }),
      "kv.profile_value_sizes_for_page_size",
      "page_size (8192)",
    );
  });

  test("shard_retry values", () => {
    expectConfigError(() => hash({ shard_retry: { max_retries: -1 } }), "shard_retry.max_retries", "got -1");
    expectConfigError(
      () => hash({ shard_retry: { initial_backoff_ms: -5 } }),
      "shard_retry.initial_backoff_ms",
      "got -5",
    );
    expectConfigError(
      () => hash({ retry: { shard_retry: { backoff_multiplier: 0 } } }),
      "retry.shard_retry.backoff_multiplier",
      "got 0",
    );
  });

  test("connection options and credentials", () => {
    expectConfigError(
      () => hash({ s3_connection_options: { addressing_style: "dns" } }),
      "s3_connection_options.addressing_style",
      '"dns"',
    );
    expectConfigError(
      () => hash({ s3_connection_options: { max_attempts: 0 } }),
      "s3_connection_options.max_attempts",
      "got 0",
    );
    expectConfigError(
      () => hash({ credential_provider: { kind: "static", access_key_id: "a" } }),
      "credential_provider.secret_access_key",
    );
    expect(hash({ credential_provider: { kind: "env" } }).storage.credential_provider).toEqual({
      kind: "env",
    });
  });

  test("custom_manifest_fields must be JSON and must not use the reserved key", () => {
    expectConfigError(
      () => hash({ manifest: { custom_manifest_fields: { a: new Date() } } }),
      "manifest.custom_manifest_fields",
      "JSON-serializable",
    );
    expectConfigError(
      () => hash({ manifest: { custom_manifest_fields: { shardy_bytes: 1 } } }),
      "manifest.custom_manifest_fields.shardy_bytes",
      "reserved",
    );
  });
});

describe("CEL config", () => {
  test("normalised with defaults; num_dbs derived from routing values", () => {
    const c = cel({ routing_values: ["ap", "eu"], cel_expr: "region", cel_columns: { region: "string" } });
    expect(c.strategy).toBe("cel");
    expect(c.sharding).toEqual({
      cel_expr: "region",
      cel_columns: { region: "string" },
      routing_values: ["ap", "eu"],
      infer_routing_values_from_data: false,
    });
    expect(configuredNumDbs(c)).toBe(2);
    expect(configuredNumDbs(cel())).toBeNull();
    expect(configuredNumDbs(cel({ routing_values: [] }))).toBe(1);
  });

  test("int tokens become bigint; bytes tokens may be tagged hex", () => {
    expect(cel({ routing_values: [1, 2n ** 64n - 1n] }).sharding.routing_values).toEqual([
      1n,
      2n ** 64n - 1n,
    ]);
    expect(
      cel({ routing_values: [{ __bytes_hex__: "00ff" }, new Uint8Array([1])] }).sharding.routing_values,
    ).toEqual([new Uint8Array([0, 255]), new Uint8Array([1])]);
  });

  test("missing cel_expr / cel_columns, bad column types and names", () => {
    expectConfigError(
      () => validateCelConfig({ s3_prefix: S3, cel_columns: { key: "int" } }),
      "cel_expr",
      "is required",
    );
    expectConfigError(() => cel({ cel_expr: "" }), "cel_expr", "is required");
    expectConfigError(
      () => validateCelConfig({ s3_prefix: S3, cel_expr: "key" }),
      "cel_columns",
      "is required",
    );
    expectConfigError(() => cel({ cel_columns: {} }), "cel_columns", "at least one column");
    expectConfigError(
      () => cel({ cel_columns: { key: "long" } }),
      "cel_columns.key",
      '"long"',
      "int, uint, string, bytes, double, bool",
    );
    expectConfigError(
      () => cel({ cel_columns: { "my-col": "int" } }),
      "cel_columns.my-col",
      "CEL identifier",
    );
    expectConfigError(
      () => validateCelConfig({ s3_prefix: S3, sharding: { cel_expr: "k", cel_columns: { k: 5 } } }),
      "sharding.cel_columns.k",
      "got 5",
    );
  });

  test("routing values: null, bool, float, mixed, duplicate", () => {
    expectConfigError(() => cel({ routing_values: ["a", null] }), "routing_values", "null");
    expectConfigError(() => cel({ routing_values: [true] }), "routing_values", "boolean");
    expectConfigError(() => cel({ routing_values: [1.5] }), "routing_values", "int, str, or bytes", "1.5");
    expectConfigError(() => cel({ routing_values: [1, "a"] }), "routing_values", "same type");
    expectConfigError(() => cel({ routing_values: ["a", "b", "a"] }), "routing_values", 'duplicate "a"');
    expectConfigError(() => cel({ routing_values: "a,b" }), "routing_values", "list");
  });

  test("infer_routing_values_from_data is exclusive with routing_values", () => {
    expect(cel({ infer_routing_values_from_data: true }).sharding.infer_routing_values_from_data).toBe(true);
    expectConfigError(
      () => cel({ infer_routing_values_from_data: true, routing_values: ["a"] }),
      "infer_routing_values_from_data",
      "routing_values",
    );
  });

  test("hash-only fields are refused", () => {
    expectConfigError(() => cel({ num_dbs: 3 }), "num_dbs", "hash sharding");
  });

  test("the CEL compile hook sees the expression and columns; its errors name sharding.cel_expr", () => {
    const seen: unknown[] = [];
    cel({ routing_values: [1] }); // no hook: no compile check
    validateCelConfig(
      { s3_prefix: S3, sharding: { cel_expr: "key % 2", cel_columns: { key: "int" } } },
      { checkCelExpr: (expr, cols) => seen.push(expr, cols) },
    );
    expect(seen).toEqual(["key % 2", { key: "int" }]);
    expectConfigError(
      () =>
        validateCelConfig(
          { s3_prefix: S3, sharding: { cel_expr: "key %", cel_columns: { key: "int" } } },
          {
            checkCelExpr: () => {
              throw new Error("Syntax error: unexpected end of input");
            },
          },
        ),
      "sharding.cel_expr",
      "does not compile: Syntax error",
      '"key %"',
    );
  });
});

describe("wire form", () => {
  test("hash config round-trips through JSON", () => {
    const c = hash({ output: { run_id: "r1" }, manifest: { custom_manifest_fields: { team: "zü", n: 1 } } });
    expect(fromWire(configToJson(c))).toEqual(c);
    expect(fromWire(toWire(c))).toEqual(c);
  });

  test("CEL config with u64 and bytes tokens round-trips, and Python reads the JSON exactly", () => {
    const ints = cel({ routing_values: [2n ** 64n - 1n, 3] });
    const json = configToJson(ints);
    expect(json).toContain('"routing_values":[18446744073709551615,3]');
    expect(fromWire(json)).toEqual(ints);
    const py = runPythonCode(
      "import json,sys; c=json.load(sys.stdin); print(c['sharding']['routing_values'][0] == 2**64-1, c['strategy'])",
      json,
    );
    expect(py.trim()).toBe("True cel");

    const bytes = cel({ routing_values: [new Uint8Array([0xff]), new Uint8Array([0x61])] });
    expect(configToJson(bytes)).toContain('"routing_values":[{"__bytes_hex__":"ff"},{"__bytes_hex__":"61"}]');
    expect(fromWire(configToJson(bytes)) as CelShardedWriteConfig).toEqual(bytes);
  });

  test("Python floats in wire JSON: numeric fields accept 2.0, custom fields keep 1.0", () => {
    const json =
      '{"strategy": "hash", "s3_prefix": "s3://b/p", "num_dbs": 2, "shard_retry": {"backoff_multiplier": 2.0, "initial_backoff_ms": 500.0},' +
      ' "manifest": {"custom_manifest_fields": {"ratio": 1.0}}}';
    const c = fromWire(json);
    expect(c.retry.shard_retry).toEqual({ max_retries: 3, initial_backoff_ms: 500, backoff_multiplier: 2 });
    expect(configToJson(c)).toContain('"custom_manifest_fields":{"ratio":1.0}');
    expectConfigError(
      () => fromWire('{"strategy": "hash", "s3_prefix": "s3://b/p", "num_dbs": 2.0}'),
      "num_dbs",
      "got 2.0",
    );
  });

  test("fromWire needs a strategy and valid JSON", () => {
    expectConfigError(() => fromWire('{"s3_prefix": "s3://b/p"}'), "strategy", '"hash" or "cel"');
    expectConfigError(() => fromWire("{nope"), "config", "not valid JSON");
    expectConfigError(
      () => fromWire('{"strategy": "hash", "storage": {"s3_prefix": "s3://b/p"}, "sharding": {}}'),
      "sharding.num_dbs",
    );
  });
});
