import { beforeAll, expect, test } from "bun:test";
import { ConfigValidationError } from "@shardy/errors";
import { Int64, Uint64, Utf8, vectorFromArray } from "apache-arrow";
import { getKernel, type Kernel, MAX_NUM_DBS } from "../src/index.ts";

let kernel: Kernel;
beforeAll(async () => {
  kernel = await getKernel();
});

/** Runs `fn`, expects a ConfigValidationError, returns its message. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigValidationError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigValidationError");
}

test("a null key names its row", () => {
  const keys = vectorFromArray([...Array.from({ length: 17 }, (_, i) => BigInt(i)), null, 5n], new Int64());
  expect(configError(() => kernel.routeBatch(keys, 4))).toBe("key at row 17 is null; keys must not be null");
  expect(configError(() => kernel.xxh3Batch(keys))).toBe("key at row 17 is null; keys must not be null");
});

test("an unsigned key above 2^63-1 names the key, the row and the range", () => {
  const keys = vectorFromArray([0n, 1n, 2n, 18446744073709551615n], new Uint64());
  expect(configError(() => kernel.routeBatch(keys, 4))).toBe(
    "key 18446744073709551615 at row 3 is outside signed 64-bit range [-2^63, 2^63-1] required for routing",
  );
  expect(configError(() => kernel.routeKey(2n ** 63n, 4))).toBe(
    "key 9223372036854775808 is outside signed 64-bit range [-2^63, 2^63-1] required for routing",
  );
  expect(configError(() => kernel.xxh3(-(2n ** 63n) - 1n))).toMatch(
    /^key -9223372036854775809 is outside signed 64-bit/,
  );
  expect(configError(() => kernel.routeKey(2n ** 70n, 4))).toMatch(/^key 1180591620717411303424 is outside/);
});

test("the first failing row wins, whatever the failure", () => {
  const keys = vectorFromArray([1n, 2n ** 63n, null], new Uint64());
  expect(configError(() => kernel.routeBatch(keys, 3))).toMatch(/^key 9223372036854775808 at row 1 /);
  const nullFirst = vectorFromArray([1n, null, 2n ** 63n], new Uint64());
  expect(configError(() => kernel.routeBatch(nullFirst, 3))).toBe(
    "key at row 1 is null; keys must not be null",
  );
});

test("row numbers count across the chunks of a Vector", () => {
  const v = vectorFromArray([1n, 2n], new Uint64()).concat(
    vectorFromArray([3n, 2n ** 64n - 1n], new Uint64()),
  );
  expect(configError(() => kernel.routeBatch(v, 3))).toMatch(/^key 18446744073709551615 at row 3 /);
  const s = vectorFromArray(["a"], new Utf8()).concat(vectorFromArray(["b", null], new Utf8()));
  expect(configError(() => kernel.encodeKeys(s, "utf8"))).toBe("key at row 2 is null; keys must not be null");
});

test("encoding range errors name key, row and range", () => {
  expect(configError(() => kernel.encodeKeys(vectorFromArray([5n, -3n], new Int64()), "u64be"))).toBe(
    "key -3 at row 1 is negative; u64be keys must be in [0, 2^64-1]",
  );
  expect(configError(() => kernel.encodeKey(-1, "u32be"))).toBe(
    "key -1 is negative; u32be keys must be in [0, 2^32-1]",
  );
  expect(configError(() => kernel.encodeKey(4294967296n, "u32be"))).toBe(
    "key 4294967296 is outside [0, 2^32-1] required by u32be; use u64be for larger keys",
  );
  expect(configError(() => kernel.encodeKey(2n ** 64n, "u64be"))).toBe(
    "key 18446744073709551616 is outside [0, 2^64-1] required by u64be",
  );
  expect(configError(() => kernel.encodeKey(-(2n ** 64n), "u64be"))).toMatch(/is negative; u64be keys/);
});

test("single keys must be bigint, safe-integer number, string or bytes", () => {
  expect(configError(() => kernel.routeKey(1.5, 4))).toBe(
    "key 1.5 is not a safe integer; pass integer keys as bigint (numbers must be within ±(2^53-1))",
  );
  expect(configError(() => kernel.routeKey(2 ** 53, 4))).toMatch(
    /^key 9007199254740992 is not a safe integer/,
  );
  expect(configError(() => kernel.routeKey(Number.NaN, 4))).toMatch(/^key NaN is not a safe integer/);
  expect(configError(() => kernel.routeKey(true as never, 4))).toBe(
    "key of type boolean is not supported; use bigint, number, string or Uint8Array",
  );
  expect(configError(() => kernel.xxh3({} as never))).toMatch(/key of type Object is not supported/);
  // safe numbers route exactly like the same bigint
  expect(kernel.routeKey(-(2 ** 53) + 1, 1000)).toBe(kernel.routeKey(-(2n ** 53n) + 1n, 1000));
});

test("num_dbs must be an integer in [1, 2^31-1]", () => {
  const keys = vectorFromArray([1n], new Int64());
  for (const bad of [0, -1, 1.5, Number.NaN, MAX_NUM_DBS + 1]) {
    const err = (() => {
      try {
        kernel.routeBatch(keys, bad);
      } catch (e) {
        return e as ConfigValidationError;
      }
      throw new Error("expected an error");
    })();
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect(err.field).toBe("num_dbs");
    expect(err.message).toBe(`num_dbs must be an integer in [1, ${MAX_NUM_DBS}], got ${bad}`);
  }
  expect(configError(() => kernel.routeKey("a", 0))).toMatch(/^num_dbs must be an integer/);
  expect(kernel.routeBatch(keys, MAX_NUM_DBS)[0]).toBe(Number(kernel.xxh3(1n) % BigInt(MAX_NUM_DBS)));
});

test("long keys are shortened in messages", () => {
  const long = "x".repeat(500);
  const msg = configError(() => kernel.encodeKeys(vectorFromArray([long], new Utf8()), "u32be"));
  expect(msg).toMatch(/^cannot encode Utf8 keys as u32be/);
  const blob = new Uint8Array(100);
  const lenMsg = configError(() => kernel.encodeKey(blob, "u64be"));
  expect(lenMsg).toBe(
    `binary key 0x${"00".repeat(32)}... (100 bytes) must be exactly 8 bytes to pass as a pre-encoded u64be key; pass the integer key instead`,
  );
});

test("the kernel stays usable after an error", () => {
  expect(() => kernel.routeBatch(vectorFromArray([null], new Int64()), 2)).toThrow();
  expect(Array.from(kernel.routeBatch(vectorFromArray([0n, 1n, 2n], new Int64()), 3))).toEqual([2, 2, 1]);
});

test("routeBatch and xxh3Batch fill a caller's output array, which must be long enough", () => {
  const keys = vectorFromArray([0n, 1n, 2n], new Int64());
  const out = new Int32Array(5).fill(-1);
  expect(kernel.routeBatch(keys, 3, out)).toBe(out);
  expect(Array.from(out)).toEqual([2, 2, 1, -1, -1]);
  const digests = new BigUint64Array(3);
  expect(kernel.xxh3Batch(keys, digests)).toBe(digests);
  expect(digests[0]).toBe(0xc77b3abb6f87acd9n);
  expect(configError(() => kernel.routeBatch(keys, 3, new Int32Array(2)))).toBe(
    "out must be an Int32Array of at least 3 elements (one per key), got length 2",
  );
  expect(configError(() => kernel.xxh3Batch(keys, new Int32Array(3) as never))).toBe(
    "out must be a BigUint64Array of at least 3 elements (one per key), got Int32Array",
  );
});
