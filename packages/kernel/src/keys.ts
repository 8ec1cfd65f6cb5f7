import { ConfigValidationError } from "@shardy/errors";
import { ErrorCode, type KeyEncoding, TypeCode } from "./abi.ts";
import { describeJs, type SingleKeyCode } from "./columns.ts";
import { type FailureContext, kernelFailure, renderBytes } from "./errors.ts";

/** One key as JS callers pass it. Integers are `bigint`, or `number` when a safe integer. */
export type ScalarKey = bigint | number | string | Uint8Array;

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** A single key laid out as a one-row kernel column. */
export interface StagedKey {
  readonly code: SingleKeyCode;
  readonly bytes: Uint8Array;
  readonly typeName: string;
  readonly render: () => string;
}

const textEncoder = new TextEncoder();
const intBytes = new Uint8Array(8);
const intView = new DataView(intBytes.buffer);

/**
 * Lays out one JS key as the kernel column it stands for: ints as 8 little-endian bytes (int64,
 * or uint64 above 2^63-1 so the kernel applies its range rules), strings as UTF-8, bytes as is.
 * Integers outside every 64-bit range are rejected here, with the kernel's message for the op.
 */
export function stageKey(key: ScalarKey, op: FailureContext["op"], encoding?: KeyEncoding): StagedKey {
  if (typeof key === "string") {
    return {
      code: TypeCode.utf8,
      bytes: textEncoder.encode(key),
      typeName: "string",
      render: () => JSON.stringify(key),
    };
  }
  if (key instanceof Uint8Array) {
    return {
      code: TypeCode.binary,
      bytes: key,
      typeName: "Uint8Array",
      render: () => renderBytes(key, false),
    };
  }
  let int: bigint;
  if (typeof key === "bigint") {
    int = key;
  } else if (typeof key === "number") {
    if (!Number.isSafeInteger(key)) {
      throw new ConfigValidationError(
        `key ${key} is not a safe integer; pass integer keys as bigint (numbers must be within ±(2^53-1))`,
      );
    }
    int = BigInt(key);
  } else {
    throw new ConfigValidationError(
      `key of type ${describeJs(key)} is not supported; use bigint, number, string or Uint8Array`,
    );
  }
  const ctx: FailureContext = { op, encoding, typeName: typeof key, value: () => String(int) };
  if (encoding === "utf8" || encoding === "raw") throw kernelFailure(ErrorCode.UNSUPPORTED_TYPE, ctx);
  if (int < I64_MIN) {
    const code = op === "encode" ? ErrorCode.NEGATIVE_UNSIGNED : ErrorCode.INT_OUT_OF_RANGE;
    throw kernelFailure(code, ctx);
  }
  if (int > U64_MAX) {
    const code = encoding === "u32be" ? ErrorCode.U32_OUT_OF_RANGE : ErrorCode.INT_OUT_OF_RANGE;
    throw kernelFailure(code, ctx);
  }
  // Shared scratch: the kernel copies the bytes into its memory before the next key is staged.
  intView.setBigUint64(0, BigInt.asUintN(64, int), true);
  const bytes = intBytes;
  return {
    code: int > I64_MAX ? TypeCode.uint64 : TypeCode.int64,
    bytes,
    typeName: typeof key,
    render: () => String(int),
  };
}
