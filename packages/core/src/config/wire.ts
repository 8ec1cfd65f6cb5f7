/**
 * The config as JSON, for the CLI and the Python package: the normalised grouped form plus
 * `"strategy"`, ints exact (u64 routing tokens stay bigint-safe), bytes tokens as
 * `{"__bytes_hex__": hex}`. `fromWire` re-validates, so a wire config is as trusted as any input.
 */

import { type PyJsonValue, pyJsonDumpsCompact } from "../json/python-json.ts";
import { pyJsonLoads } from "../json/python-json-parse.ts";
import { BYTES_HEX_TAG } from "../manifest/bytes-extension.ts";
import { bytesToHex } from "../manifest/routing-values.ts";
import { expectObject, fail, show } from "./fields.ts";
import type { ShardedWriteConfig } from "./types.ts";
import { type ValidateCelOptions, validateCelConfig, validateHashConfig } from "./validate.ts";

/** `config` as a `PyJsonValue` for `pyJsonDumps` (bytes tokens tagged; ints stay bigint, so not for `JSON.stringify`). */
export function toWire(config: ShardedWriteConfig): PyJsonValue {
  const value = config as unknown as PyJsonValue;
  if (config.strategy !== "cel" || config.sharding.routing_values === null) return value;
  const routing = config.sharding.routing_values.map((v) =>
    v instanceof Uint8Array ? { [BYTES_HEX_TAG]: bytesToHex(v) } : v,
  );
  return { ...config, sharding: { ...config.sharding, routing_values: routing } } as unknown as PyJsonValue;
}

/** `toWire` as compact, sorted JSON text (what Python's `json.dumps(..., sort_keys=True)` would print). */
export function configToJson(config: ShardedWriteConfig): string {
  return pyJsonDumpsCompact(toWire(config));
}

/** Validates a wire config (JSON text or an already-parsed value) by its `"strategy"`. */
export function fromWire(json: string | PyJsonValue, options: ValidateCelOptions = {}): ShardedWriteConfig {
  let value: unknown = json;
  if (typeof json === "string") {
    try {
      // Floats stay floats, so custom_manifest_fields like `1.0` reach the manifest unchanged.
      value = pyJsonLoads(json, { preserveFloats: true });
    } catch (err) {
      fail("config", `is not valid JSON: ${(err as Error).message}`);
    }
  }
  const obj = expectObject(value, "config", "a config object");
  if (obj.strategy === "hash") return validateHashConfig(obj);
  if (obj.strategy === "cel") return validateCelConfig(obj, options);
  return fail("strategy", `must be "hash" or "cel" in a wire config, got ${show(obj.strategy)}`);
}
