import { ConfigValidationError, ShardyError } from "@shardy/errors";
import { ErrorCode, type KeyEncoding } from "./abi.ts";

/** What a failed kernel call was doing, for the error message. */
export interface FailureContext {
  readonly op: "route" | "hash" | "encode" | "siphash13" | "crc32";
  readonly encoding?: KeyEncoding;
  /** Type of the key column (`Int64`, `Utf8`, ...) or of the JS key. */
  readonly typeName: string;
  /** Row in the caller's input; absent for single-key calls. */
  readonly row?: number;
  /** The offending value, rendered on demand (only when there is an error). */
  readonly value: () => string;
}

const CODE_NAMES = Object.fromEntries(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

const ENCODING_BITS: Partial<Record<KeyEncoding, number>> = { u64be: 64, u32be: 32 };

/** Turns a kernel error code into a typed error naming the row, the value and the fix. */
export function kernelFailure(code: number, ctx: FailureContext): ShardyError {
  const where = ctx.row === undefined ? "" : ` at row ${ctx.row}`;
  const enc = ctx.encoding ?? "u64be";
  switch (code) {
    case ErrorCode.NULL_KEY: {
      const what = ctx.op === "siphash13" || ctx.op === "crc32" ? "value" : "key";
      return new ConfigValidationError(`${what}${where} is null; ${what}s must not be null`);
    }
    case ErrorCode.INT_OUT_OF_RANGE:
      return new ConfigValidationError(
        ctx.op === "encode"
          ? `key ${ctx.value()}${where} is outside [0, 2^64-1] required by ${enc}`
          : `key ${ctx.value()}${where} is outside signed 64-bit range [-2^63, 2^63-1] required for routing`,
      );
    case ErrorCode.NEGATIVE_UNSIGNED:
      return new ConfigValidationError(
        `key ${ctx.value()}${where} is negative; ${enc} keys must be in [0, 2^${ENCODING_BITS[enc] ?? 64}-1]`,
      );
    case ErrorCode.U32_OUT_OF_RANGE:
      return new ConfigValidationError(
        `key ${ctx.value()}${where} is outside [0, 2^32-1] required by u32be; use u64be for larger keys`,
      );
    case ErrorCode.UNSUPPORTED_TYPE:
      return new ConfigValidationError(unsupportedMessage(ctx));
    case ErrorCode.BAD_OFFSETS:
      return new ConfigValidationError(
        `key column is malformed${where}: its offsets decrease or point outside the data buffer; rebuild the Arrow array`,
      );
    case ErrorCode.KEY_LENGTH:
      return new ConfigValidationError(
        `binary key ${ctx.value()}${where} must be exactly ${(ENCODING_BITS[enc] ?? 64) / 8} bytes to pass as a pre-encoded ${enc} key; pass the integer key instead`,
      );
    default:
      return new ShardyError(
        `shardy kernel rejected a ${ctx.op} call with code ${code} (${CODE_NAMES[code] ?? "unknown"}); this is a bug in @shardy/kernel, please report it`,
      );
  }
}

function unsupportedMessage(ctx: FailureContext): string {
  const enc = ctx.encoding;
  if (ctx.op === "encode" && (enc === "u64be" || enc === "u32be")) {
    return `cannot encode ${ctx.typeName} keys as ${enc}: it takes integer keys (or pre-encoded ${(ENCODING_BITS[enc] ?? 64) / 8}-byte binary keys); use utf8 or raw for string keys`;
  }
  if (ctx.op === "encode") {
    return `cannot encode ${ctx.typeName} keys as ${enc}: it takes utf8 or binary keys; use u64be or u32be for integer keys`;
  }
  return `${ctx.op} takes utf8 or binary values, got ${ctx.typeName}`;
}

const SHOWN_BYTES = 32;
const SHOWN_CHARS = 64;

/** A key's bytes for a message: a quoted string, or hex for binary, shortened when long. */
export function renderBytes(bytes: Uint8Array, asString: boolean): string {
  if (asString) {
    const text = new TextDecoder().decode(bytes);
    if (text.length <= SHOWN_CHARS) return JSON.stringify(text);
    return `${JSON.stringify(text.slice(0, SHOWN_CHARS))}... (${bytes.length} bytes)`;
  }
  const shown = bytes.subarray(0, SHOWN_BYTES);
  let hex = "";
  for (const b of shown) hex += b.toString(16).padStart(2, "0");
  return `0x${hex}${bytes.length > SHOWN_BYTES ? "..." : ""} (${bytes.length} bytes)`;
}
