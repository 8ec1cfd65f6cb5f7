/**
 * The write config of `build-snapshot`, `write-shard` and `publish`: an optional JSON config
 * (`--config '{...}'` or `--config @file.json`, grouped or flat, as the Python shells send it),
 * overridden by flags, validated by the core. A local `--output-dir` becomes a `file://` prefix.
 * S3 settings from credentials.toml / `--s3-option` fill `storage` when the config has none.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  type CelShardedWriteConfig,
  type HashShardedWriteConfig,
  pyJsonLoads,
  validateCelConfig,
  validateHashConfig,
} from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import { ValueSpec } from "@shardy/writer";
import type { Command } from "commander";
import { Option } from "commander";
import type { CliContext } from "./context.ts";
import { parseNonNegativeInt } from "./durations.ts";
import { UsageError } from "./errors.ts";

export const KEY_ENCODINGS = ["u64be", "u32be", "utf8", "raw"] as const;
export const WRITE_BACKENDS = ["sqlite", "slatedb"] as const;

export interface WriteConfigFlags {
  configJson?: string;
  s3Prefix?: string;
  outputDir?: string;
  numDbs?: string;
  maxKeysPerShard?: string;
  keyEncoding?: (typeof KEY_ENCODINGS)[number];
  backend?: (typeof WRITE_BACKENDS)[number];
  runId?: string;
  shardRetries?: string;
  batchSize?: string;
  scratchDir?: string;
  celExpr?: string;
  celColumns?: string;
  routingValues?: string;
  inferRoutingValues?: boolean;
}

export interface ValueFlags {
  valueCol?: string;
  jsonCols?: string | boolean;
  valueSpec?: string;
}

/** Adds the shared config flags to a write verb. */
export function addWriteConfigOptions(cmd: Command, opts: { sharding: boolean }): Command {
  cmd
    .option(
      "--config-json <json|@file>",
      "write config as JSON (grouped or flat, reference field names), or @path to a JSON file",
    )
    .option("--s3-prefix <url>", "snapshot prefix: s3://bucket/prefix (or file:///dir)")
    .option("--output-dir <dir>", "local snapshot directory (the embedded file store) instead of --s3-prefix")
    .addOption(
      new Option("--key-encoding <encoding>", "stored key encoding (default u64be)").choices(KEY_ENCODINGS),
    )
    .addOption(
      new Option("--backend <backend>", "shard backend (default slatedb, as the reference)").choices(
        WRITE_BACKENDS,
      ),
    )
    .option("--run-id <id>", "run id (default: a new uuid4 hex)")
    .option("--shard-retries <n>", "retry a failed shard attempt up to n times (new attempt URL each time)")
    .option("--batch-size <n>", "rows per shard write batch (default 50000)")
    .option("--scratch-dir <dir>", "local scratch root for shard files (default <tmp>/shardyfusion)");
  if (opts.sharding) {
    cmd
      .option("--num-dbs <n>", "number of shards")
      .option("--max-keys-per-shard <n>", "derive the number of shards from the row count instead")
      .option("--cel-expr <expr>", 'CEL routing expression instead of HASH, e.g. "shard_hash(key) % 8u"')
      .option(
        "--cel-columns <columns>",
        'columns the CEL expression reads with their types: "key:int,region:string" or JSON {"key":"int"}',
      )
      .option(
        "--routing-values <tokens>",
        'categorical tokens (index = shard id): "eu,us" (strings) or a JSON list, e.g. [1,2] or ["eu","us"]',
      )
      .option("--infer-routing-values", "categorical routing with the sorted distinct tokens of the data");
  }
  return cmd;
}

export function addValueOptions(cmd: Command): Command {
  return cmd
    .option("--value-col <column>", "value = this binary/string column (ValueSpec.binary_col)")
    .option(
      "--json-cols [columns]",
      "value = JSON of these comma-separated columns, or of all columns (ValueSpec.json_cols)",
    )
    .option(
      "--value-spec <spec>",
      'value spec by description: "binary_col:<col>", "json_cols:all", "json_cols:a,b"',
    );
}

export function valueSpecFrom(flags: ValueFlags): ValueSpec {
  const given = [flags.valueCol, flags.jsonCols, flags.valueSpec].filter(
    (v) => v !== undefined && v !== false,
  );
  if (given.length !== 1) {
    throw new UsageError(
      "give exactly one of --value-col <column>, --json-cols [columns] or --value-spec <spec>",
    );
  }
  if (flags.valueCol !== undefined) return ValueSpec.binaryCol(flags.valueCol);
  if (flags.valueSpec !== undefined) return ValueSpec.parse(flags.valueSpec);
  return ValueSpec.jsonCols(
    typeof flags.jsonCols === "string" ? flags.jsonCols.split(",").map((c) => c.trim()) : null,
  );
}

function readConfigArg(ctx: CliContext, text: string): unknown {
  let json = text;
  if (text.startsWith("@")) {
    const file = path.resolve(ctx.io.cwd, text.slice(1));
    try {
      json = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigValidationError(`cannot read --config-json file ${file}: ${(err as Error).message}`, {
        field: "config",
      });
    }
  }
  try {
    return pyJsonLoads(json, { preserveFloats: true });
  } catch (err) {
    throw new ConfigValidationError(`--config-json is not valid JSON: ${(err as Error).message}`, {
      field: "config",
    });
  }
}

type Groups = Record<string, Record<string, unknown>>;

/** The CLI's S3 settings in the config's `s3_connection_options` / `credential_provider` shape. */
function cliStorage(ctx: CliContext): { s3_connection_options?: object; credential_provider?: object } {
  const s3 = ctx.settings.storeOptions.s3 ?? {};
  const conn: Record<string, unknown> = {};
  if (s3.endpoint) conn.endpoint_url = s3.endpoint;
  if (s3.region) conn.region_name = s3.region;
  if (s3.forcePathStyle !== undefined) conn.addressing_style = s3.forcePathStyle ? "path" : "virtual";
  if (s3.connectTimeoutMs) conn.connect_timeout = s3.connectTimeoutMs / 1000;
  if (s3.requestTimeoutMs) conn.read_timeout = s3.requestTimeoutMs / 1000;
  if (s3.maxAttempts) conn.max_attempts = s3.maxAttempts;
  const out: { s3_connection_options?: object; credential_provider?: object } = {};
  if (Object.keys(conn).length > 0) out.s3_connection_options = conn;
  if (s3.credentials) {
    out.credential_provider = {
      kind: "static",
      access_key_id: s3.credentials.accessKeyId,
      secret_access_key: s3.credentials.secretAccessKey,
      session_token: s3.credentials.sessionToken ?? null,
    };
  }
  return out;
}

/** A JSON config names CEL routing by `strategy: "cel"` or a `cel_expr` (flat or under `sharding`). */
function isCelInput(raw: unknown): boolean {
  if (!raw || typeof raw !== "object") return false;
  const o = raw as Record<string, unknown>;
  const sharding = o.sharding as Record<string, unknown> | null | undefined;
  return (
    o.strategy === "cel" ||
    "cel_expr" in o ||
    (!!sharding && typeof sharding === "object" && "cel_expr" in sharding)
  );
}

/** `--cel-columns`: JSON object, or `name:type` pairs separated by commas. */
export function parseCelColumns(text: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    const parsed = parseJsonFlag(trimmed, "--cel-columns");
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new UsageError(`--cel-columns must be a JSON object of name -> type, got ${trimmed}`);
    }
    return parsed as Record<string, string>;
  }
  const out: Record<string, string> = {};
  for (const part of trimmed.split(",")) {
    const colon = part.indexOf(":");
    if (colon <= 0) {
      throw new UsageError(`--cel-columns entry ${JSON.stringify(part)} must be NAME:TYPE, e.g. key:int`);
    }
    out[part.slice(0, colon).trim()] = part.slice(colon + 1).trim();
  }
  return out;
}

/** `--routing-values`: a JSON list (ints stay exact), or comma-separated strings. */
export function parseRoutingValues(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    const parsed = parseJsonFlag(trimmed, "--routing-values");
    if (!Array.isArray(parsed)) throw new UsageError(`--routing-values must be a JSON list, got ${trimmed}`);
    return parsed;
  }
  return trimmed.split(",");
}

function parseJsonFlag(text: string, flag: string): unknown {
  try {
    return pyJsonLoads(text);
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The validated write config: HASH, or CEL when `--cel-expr` or the JSON config asks for it. The
 * CEL expression itself is compiled later, by the writer, against the kernel.
 */
export function buildWriteConfig(
  ctx: CliContext,
  flags: WriteConfigFlags,
): HashShardedWriteConfig | CelShardedWriteConfig {
  const raw = flags.configJson === undefined ? undefined : readConfigArg(ctx, flags.configJson);
  const cel = flags.celExpr !== undefined || isCelInput(raw);
  const celOnly = [flags.celColumns, flags.routingValues, flags.inferRoutingValues].some(
    (v) => v !== undefined,
  );
  if (!cel && celOnly) {
    throw new UsageError("--cel-columns, --routing-values and --infer-routing-values need --cel-expr");
  }
  if (cel && (flags.numDbs !== undefined || flags.maxKeysPerShard !== undefined)) {
    throw new UsageError(
      "CEL routing decides the shard count (routing values, or the ids the expression returns); drop --num-dbs/--max-keys-per-shard",
    );
  }
  const base: Groups =
    raw === undefined
      ? {}
      : ((cel
          ? validateCelConfig(raw, { checkCelExpr: () => {} })
          : validateHashConfig(raw)) as unknown as Groups);
  const cfg: Groups = {};
  for (const [k, v] of Object.entries(base)) {
    cfg[k] = v !== null && typeof v === "object" && !Array.isArray(v) ? { ...v } : (v as never);
  }
  const group = (name: string) => {
    const g = cfg[name];
    if (g === undefined || g === null || typeof g !== "object") cfg[name] = {};
    return cfg[name]!;
  };

  if (flags.s3Prefix !== undefined && flags.outputDir !== undefined) {
    throw new UsageError("give --s3-prefix or --output-dir, not both");
  }
  if (flags.s3Prefix !== undefined) group("storage").s3_prefix = flags.s3Prefix;
  if (flags.outputDir !== undefined) {
    group("storage").s3_prefix = pathToFileURL(path.resolve(ctx.io.cwd, flags.outputDir)).href;
  }
  if (group("storage").s3_prefix === undefined) {
    throw new UsageError(
      "no snapshot location: pass --s3-prefix s3://bucket/prefix or --output-dir DIR (or storage.s3_prefix in --config-json)",
    );
  }
  if (String(group("storage").s3_prefix).startsWith("s3://")) {
    const storage = cliStorage(ctx);
    if (group("storage").s3_connection_options == null && storage.s3_connection_options) {
      group("storage").s3_connection_options = storage.s3_connection_options;
    }
    if (group("storage").credential_provider == null && storage.credential_provider) {
      group("storage").credential_provider = storage.credential_provider;
    }
  }

  if (flags.numDbs !== undefined && flags.maxKeysPerShard !== undefined) {
    throw new UsageError("give --num-dbs or --max-keys-per-shard, not both");
  }
  if (flags.numDbs !== undefined) {
    cfg.sharding = { num_dbs: parseNonNegativeInt(flags.numDbs, "--num-dbs"), max_keys_per_shard: null };
  }
  if (flags.maxKeysPerShard !== undefined) {
    cfg.sharding = {
      num_dbs: null,
      max_keys_per_shard: parseNonNegativeInt(flags.maxKeysPerShard, "--max-keys-per-shard"),
    };
  }
  if (flags.runId !== undefined) group("output").run_id = flags.runId;
  if (flags.scratchDir !== undefined) group("output").local_root = path.resolve(ctx.io.cwd, flags.scratchDir);
  if (flags.keyEncoding !== undefined) group("kv").key_encoding = flags.keyEncoding;
  if (flags.batchSize !== undefined)
    group("kv").batch_size = parseNonNegativeInt(flags.batchSize, "--batch-size");
  if (flags.backend !== undefined) group("kv").adapter_factory = { kind: flags.backend };
  if (flags.shardRetries !== undefined) {
    const n = parseNonNegativeInt(flags.shardRetries, "--shard-retries");
    group("retry").shard_retry = n === 0 ? null : { max_retries: n };
  }
  if (!cel) return validateHashConfig(cfg);
  cfg.strategy = "cel" as never;
  const sharding = group("sharding");
  if (flags.celExpr !== undefined) sharding.cel_expr = flags.celExpr;
  if (flags.celColumns !== undefined) sharding.cel_columns = parseCelColumns(flags.celColumns);
  if (sharding.cel_columns === undefined) sharding.cel_columns = { key: "int" };
  if (flags.routingValues !== undefined) sharding.routing_values = parseRoutingValues(flags.routingValues);
  if (flags.inferRoutingValues) {
    sharding.infer_routing_values_from_data = true;
    sharding.routing_values = null;
  }
  return validateCelConfig(cfg, { checkCelExpr: () => {} });
}
