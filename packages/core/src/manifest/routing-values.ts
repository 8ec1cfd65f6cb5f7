/**
 * Categorical CEL routing tokens (`routing_values`): the rules of the reference's
 * `sharding_types.py::validate_routing_values`, shared by config validation and manifest codecs.
 */
import { describeJson } from "../json/python-json.ts";
import type { RoutingValue } from "./types.ts";

export type RoutingValueKind = "int" | "str" | "bytes";

export function routingValueKind(value: RoutingValue): RoutingValueKind {
  if (typeof value === "bigint") return "int";
  if (typeof value === "string") return "str";
  return "bytes";
}

export function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Lowercase or uppercase hex, even length; `undefined` when `text` is not hex. */
export function hexToBytes(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A rendering for messages that tells the three kinds apart (`1`, `"a"`, `b"6162"`). */
export function showRoutingValue(value: unknown): string {
  if (value instanceof Uint8Array) return `bytes(hex ${bytesToHex(value)})`;
  return describeJson(value);
}

/**
 * Returns what is wrong with `values` (without the field name), or `undefined` when they are
 * valid: each an int (bigint), str or bytes, never null or boolean, all of one kind, no duplicates.
 */
export function routingValuesProblem(values: readonly unknown[]): string | undefined {
  let kind: RoutingValueKind | undefined;
  const seen = new Set<string>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) return `must not contain null values; got [${i}]=null`;
    if (typeof v === "boolean") return `must not be boolean values; got [${i}]=${v}`;
    if (typeof v !== "bigint" && typeof v !== "string" && !(v instanceof Uint8Array)) {
      return `must be int, str, or bytes values; got [${i}]=${describeJson(v)}`;
    }
    const k = routingValueKind(v);
    if (kind !== undefined && k !== kind) {
      return `must all share the same type; got [${i - 1}]=${showRoutingValue(values[i - 1])}, [${i}]=${showRoutingValue(v)}`;
    }
    kind = k;
    const identity = v instanceof Uint8Array ? bytesToHex(v) : String(v);
    if (seen.has(identity)) return `must be unique; duplicate ${showRoutingValue(v)} at [${i}]`;
    seen.add(identity);
  }
  return undefined;
}
