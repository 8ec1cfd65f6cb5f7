/**
 * Bytes in manifests, fixed additively (reference weaknesses 2 and 3).
 *
 * The reference dumps `bytes` with pydantic's JSON mode, i.e. as a UTF-8 *string*: min/max keys and
 * categorical routing tokens lose their type, and non-UTF-8 bytes crash its publish. We must stay
 * readable by the reference parser, whose pydantic models accept only int/str/bytes in
 * `routing_values` and `min_key`/`max_key` (a `{"__bytes_hex__": …}` object there would make the
 * whole manifest unreadable to it). So:
 *
 * - the reference columns get exactly what the reference would write: the UTF-8 string;
 *   a non-UTF-8 min/max key gets NULL (allowed: "unknown bound"), and when any routing token is not
 *   UTF-8 every token is written as its hex string (distinct, homogeneous, so still valid there);
 * - the exact bytes go under `custom["shardy_bytes"]` (`custom` is a free-form dict to the
 *   reference): `{"routing_values_hex": [hex…], "key_bounds_hex": {"<db_id>": {"min_key": hex|null,
 *   "max_key": hex|null}}}`. Our parser restores `Uint8Array`s from it and drops the key from
 *   `Manifest.custom`.
 *
 * Reading also accepts `{"__bytes_hex__": hex}` tokens in `routing_values` (the reference's vector
 * manifests use that spelling), decoded to bytes.
 */
import type { PyJsonValue } from "../json/python-json.ts";
import { bytesToHex, hexToBytes } from "./routing-values.ts";
import type { ManifestKey, RoutingValue } from "./types.ts";

export const SHARDY_BYTES_CUSTOM_KEY = "shardy_bytes";
export const BYTES_HEX_TAG = "__bytes_hex__";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The string the reference writes for these bytes, or `undefined` if it would crash on them. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export interface KeyBoundsHex {
  min_key: string | null;
  max_key: string | null;
}

/** Collects the extension while a manifest is being written. */
export class BytesExtensionWriter {
  private routingHex: string[] | undefined;
  private readonly bounds: Record<string, KeyBoundsHex> = {};
  private hasBounds = false;

  /** `routing_values` as the reference column should hold them. */
  routingValues(values: readonly RoutingValue[] | null): PyJsonValue[] | null {
    if (values === null) return null;
    const byteTokens = values.filter((v): v is Uint8Array => v instanceof Uint8Array);
    if (byteTokens.length === 0) return values as PyJsonValue[];
    this.routingHex = byteTokens.map(bytesToHex);
    const texts = byteTokens.map(utf8OrUndefined);
    return texts.every((t) => t !== undefined) ? (texts as string[]) : this.routingHex.slice();
  }

  /** The `min_key`/`max_key` column value (JSON scalar, or undefined for NULL). */
  keyBound(dbId: number, which: "min_key" | "max_key", key: ManifestKey): PyJsonValue | undefined {
    if (key === null) return undefined;
    if (!(key instanceof Uint8Array)) return key;
    const id = String(dbId);
    const entry = this.bounds[id] ?? { min_key: null, max_key: null };
    this.bounds[id] = entry;
    entry[which] = bytesToHex(key);
    this.hasBounds = true;
    return utf8OrUndefined(key);
  }

  /** The value for `custom["shardy_bytes"]`, or `undefined` when no bytes were written. */
  extension(): PyJsonValue | undefined {
    if (this.routingHex === undefined && !this.hasBounds) return undefined;
    const ext: Record<string, PyJsonValue> = {};
    if (this.routingHex !== undefined) ext.routing_values_hex = this.routingHex;
    if (this.hasBounds) ext.key_bounds_hex = this.bounds as unknown as PyJsonValue;
    return ext;
  }
}

export interface BytesExtension {
  routingValuesHex: Uint8Array[] | undefined;
  keyBounds: Map<number, { minKey: Uint8Array | null; maxKey: Uint8Array | null }>;
}

/** Reads and checks `custom["shardy_bytes"]`; returns a message on the first problem. */
export function readBytesExtension(raw: PyJsonValue): BytesExtension | string {
  const where = `custom.${SHARDY_BYTES_CUSTOM_KEY}`;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return `${where} must be an object`;
  const obj = raw as Record<string, PyJsonValue>;
  const out: BytesExtension = { routingValuesHex: undefined, keyBounds: new Map() };
  const hex = (v: PyJsonValue, at: string): Uint8Array | string => {
    const bytes = typeof v === "string" ? hexToBytes(v) : undefined;
    return bytes ?? `${where}.${at} must be a hex string`;
  };
  if (obj.routing_values_hex !== undefined) {
    const list = obj.routing_values_hex;
    if (!Array.isArray(list)) return `${where}.routing_values_hex must be a list of hex strings`;
    const values: Uint8Array[] = [];
    for (let i = 0; i < list.length; i++) {
      const b = hex(list[i] as PyJsonValue, `routing_values_hex[${i}]`);
      if (typeof b === "string") return b;
      values.push(b);
    }
    out.routingValuesHex = values;
  }
  if (obj.key_bounds_hex !== undefined) {
    const bounds = obj.key_bounds_hex;
    if (bounds === null || typeof bounds !== "object" || Array.isArray(bounds)) {
      return `${where}.key_bounds_hex must be an object keyed by db_id`;
    }
    for (const [id, entry] of Object.entries(bounds as Record<string, PyJsonValue>)) {
      if (!/^(0|[1-9]\d*)$/.test(id))
        return `${where}.key_bounds_hex key ${JSON.stringify(id)} is not a db_id`;
      if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
        return `${where}.key_bounds_hex.${id} must be an object`;
      }
      const e = entry as Record<string, PyJsonValue>;
      const pick = (name: "min_key" | "max_key"): Uint8Array | null | string =>
        e[name] === undefined || e[name] === null
          ? null
          : hex(e[name] as PyJsonValue, `key_bounds_hex.${id}.${name}`);
      const minKey = pick("min_key");
      const maxKey = pick("max_key");
      if (typeof minKey === "string") return minKey;
      if (typeof maxKey === "string") return maxKey;
      out.keyBounds.set(Number(id), { minKey, maxKey });
    }
  }
  return out;
}

/** A `{"__bytes_hex__": "…"}` token as bytes, or `undefined` if `v` is not one. */
export function taggedBytes(v: PyJsonValue): Uint8Array | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  const hex = (v as Record<string, PyJsonValue>)[BYTES_HEX_TAG];
  if (keys.length !== 1 || typeof hex !== "string") return undefined;
  return hexToBytes(hex);
}
