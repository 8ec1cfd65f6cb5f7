/**
 * Keys and routing contexts as HTTP requests carry them. A path key is text, read per the
 * snapshot's key encoding (the reader's `coerceTextKey`, as the CLI does); `key_format=hex|base64`
 * passes raw bytes instead. Multiget keys are JSON strings (same rules) or integers.
 */
import type { KeyEncoding, ShardingSpec } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import { coerceTextKey, type ReaderKey, type RoutingContext } from "@shardy/reader";
import { HttpError } from "./errors.ts";

export const KEY_FORMATS = ["text", "hex", "base64"] as const;
export type KeyFormat = (typeof KEY_FORMATS)[number];

export function parseKeyFormat(raw: string | undefined): KeyFormat {
  if (raw === undefined || raw === "") return "text";
  if ((KEY_FORMATS as readonly string[]).includes(raw)) return raw as KeyFormat;
  throw new HttpError(
    400,
    "bad_request",
    `key_format ${JSON.stringify(raw)} is not one of ${KEY_FORMATS.join(", ")}`,
  );
}

function badKey(message: string): never {
  throw new ConfigValidationError(message, { field: "key" });
}

function hexToBytes(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    badKey(
      `key ${JSON.stringify(text)} is not hex (an even number of 0-9a-f digits); fix it or drop key_format=hex`,
    );
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function base64ToBytes(text: string): Uint8Array {
  const normal = text.replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(normal)) {
    badKey(`key ${JSON.stringify(text)} is not base64; fix it or drop key_format=base64`);
  }
  const padded = normal + "=".repeat((4 - (normal.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(padded);
  } catch {
    badKey(`key ${JSON.stringify(text)} is not base64; fix it or drop key_format=base64`);
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Byte keys must still fit a fixed-width encoding (the reader passes 8/4-byte keys through). */
function checkBytesFit(bytes: Uint8Array, encoding: KeyEncoding, shown: string): Uint8Array {
  const width = encoding === "u64be" ? 8 : encoding === "u32be" ? 4 : undefined;
  if (width !== undefined && bytes.length !== width) {
    badKey(
      `key ${shown} is ${bytes.length} bytes, but this snapshot's key_encoding ${encoding} takes ` +
        `${width}-byte keys (or decimal integers with key_format=text)`,
    );
  }
  return bytes;
}

/** A key given as text in a URL path or a JSON string. */
export function parseTextKey(text: string, encoding: KeyEncoding, format: KeyFormat): ReaderKey {
  switch (format) {
    case "hex":
      return checkBytesFit(hexToBytes(text), encoding, JSON.stringify(text));
    case "base64":
      return checkBytesFit(base64ToBytes(text), encoding, JSON.stringify(text));
    default:
      return coerceTextKey(text, encoding);
  }
}

/** A multiget key from a JSON body: a string (as `parseTextKey`) or an integer. */
export function parseJsonKey(
  value: unknown,
  index: number,
  encoding: KeyEncoding,
  format: KeyFormat,
): ReaderKey {
  if (typeof value === "string") {
    try {
      return parseTextKey(value, encoding, format);
    } catch (err) {
      if (err instanceof ConfigValidationError) badKey(`keys[${index}]: ${err.message}`);
      throw err;
    }
  }
  if (typeof value === "number") {
    if (encoding !== "u64be" && encoding !== "u32be") {
      badKey(
        `keys[${index}] is the number ${value}, but this snapshot's key_encoding is ${encoding}; pass keys as JSON strings`,
      );
    }
    if (!Number.isSafeInteger(value)) {
      badKey(`keys[${index}] ${value} is not a safe integer; pass large integer keys as decimal strings`);
    }
    return BigInt(value);
  }
  return badKey(
    `keys[${index}] must be a string or an integer, got ${JSON.stringify(value) ?? typeof value}`,
  );
}

/**
 * A routing context for CEL snapshots, coerced to the `cel_columns` types: int/uint from integers
 * or decimal strings (as bigint), double from numbers, string as is, bytes from UTF-8 text, bool
 * from true/false. HASH snapshots ignore it (as the reference reader does).
 */
export function parseRoutingContext(raw: unknown, sharding: ShardingSpec): RoutingContext | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  let obj = raw;
  if (typeof raw === "string") {
    try {
      obj = JSON.parse(raw);
    } catch {
      throw new HttpError(
        400,
        "bad_routing_context",
        `routing_context ${JSON.stringify(raw)} is not JSON; pass an object like {"region":"eu"}`,
      );
    }
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new HttpError(
      400,
      "bad_routing_context",
      'routing_context must be a JSON object like {"region":"eu"}',
    );
  }
  if (sharding.strategy !== "cel") return undefined;
  const columns = sharding.celColumns ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(obj as Record<string, unknown>)) {
    const type = columns[name];
    if (type === undefined) {
      throw new HttpError(
        400,
        "bad_routing_context",
        `routing_context names ${JSON.stringify(name)}, which is not a CEL column of this snapshot; ` +
          `its columns are ${Object.keys(columns).join(", ") || "(none)"}`,
      );
    }
    out[name] = coerceColumn(name, type, value);
  }
  return out;
}

function coerceColumn(name: string, type: string, value: unknown): unknown {
  const bad = (want: string): never => {
    throw new HttpError(
      400,
      "bad_routing_context",
      `routing_context.${name} must be ${want} (CEL column type ${type}), got ${JSON.stringify(value)}`,
    );
  };
  switch (type) {
    case "int":
    case "uint":
      if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
      if (typeof value === "string" && /^[+-]?\d+$/.test(value.trim())) return BigInt(value.trim());
      return bad("an integer");
    case "double":
      if (typeof value === "number") return value;
      return bad("a number");
    case "string":
      if (typeof value === "string") return value;
      return bad("a string");
    case "bytes":
      if (typeof value === "string") return new TextEncoder().encode(value);
      return bad("a string (its UTF-8 bytes)");
    case "bool":
      if (typeof value === "boolean") return value;
      return bad("true or false");
    default:
      return value;
  }
}
