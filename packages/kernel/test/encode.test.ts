import { beforeAll, expect, test } from "bun:test";
import {
  Binary,
  type DataType,
  Int8,
  Int16,
  Int32,
  Int64,
  LargeBinary,
  LargeUtf8,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import fc from "fast-check";
import { getKernel, type Kernel } from "../src/index.ts";

// A JS reference of reference-format §5.1, written independently of the kernel.
function refEncodeInt(v: bigint, encoding: "u64be" | "u32be"): Uint8Array {
  const width = encoding === "u64be" ? 8 : 4;
  if (v < 0n || v >= 1n << BigInt(8 * width)) throw new RangeError(`${v} out of range for ${encoding}`);
  const out = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

let kernel: Kernel;
beforeAll(async () => {
  kernel = await getKernel();
});

const intTypes: [DataType, bigint, bigint][] = [
  [new Int8(), -128n, 127n],
  [new Int16(), -32768n, 32767n],
  [new Int32(), -(2n ** 31n), 2n ** 31n - 1n],
  [new Int64(), -(2n ** 63n), 2n ** 63n - 1n],
  [new Uint8(), 0n, 255n],
  [new Uint16(), 0n, 65535n],
  [new Uint32(), 0n, 2n ** 32n - 1n],
  [new Uint64(), 0n, 2n ** 64n - 1n],
];

for (const [type, min, max] of intTypes) {
  const is64 = String(type).endsWith("64");
  const toJs = (v: bigint) => (is64 ? v : Number(v));
  for (const encoding of ["u64be", "u32be"] as const) {
    test(`${String(type)} keys encode as ${encoding} like the reference, or fail at the first bad row`, () => {
      fc.assert(
        fc.property(fc.array(fc.bigInt({ min, max }), { maxLength: 50 }), (values) => {
          const v = vectorFromArray(values.map(toJs), type);
          const bad = values.findIndex((x) => x < 0n || (encoding === "u32be" && x > 0xffff_ffffn));
          if (bad >= 0) {
            const why = (values[bad] as bigint) < 0n ? "is negative" : "is outside [0, 2^32-1]";
            expect(() => kernel.encodeKeys(v, encoding)).toThrow(`key ${values[bad]} at row ${bad} ${why}`);
            return;
          }
          const got = Array.from(kernel.encodeKeys(v, encoding));
          expect(got).toEqual(values.map((x) => refEncodeInt(x, encoding)));
          values.forEach((x, i) => {
            expect(kernel.encodeKey(x, encoding)).toEqual(got[i] as Uint8Array);
          });
        }),
        { numRuns: 60 },
      );
    });
  }
}

test("utf8 and raw encodings pass string and binary keys through as bytes", () => {
  const strings = ["", "é", "tenant:eu-west", "🙂"];
  const utf8 = strings.map((s) => new TextEncoder().encode(s));
  for (const type of [new Utf8(), new LargeUtf8()]) {
    for (const encoding of ["utf8", "raw"] as const) {
      expect(Array.from(kernel.encodeKeys(vectorFromArray(strings, type), encoding))).toEqual(utf8);
    }
  }
  const blobs = [new Uint8Array([0, 255]), new Uint8Array(0), new Uint8Array(300).fill(9)];
  for (const type of [new Binary(), new LargeBinary()]) {
    expect(Array.from(kernel.encodeKeys(vectorFromArray(blobs, type), "raw"))).toEqual(blobs);
    expect(Array.from(kernel.encodeKeys(vectorFromArray(blobs, type), "utf8"))).toEqual(blobs);
  }
  expect(kernel.encodeKey("é", "utf8")).toEqual(new Uint8Array([0xc3, 0xa9]));
  expect(kernel.encodeKey(new Uint8Array([1, 2]), "raw")).toEqual(new Uint8Array([1, 2]));
});

test("pre-encoded binary lookup keys pass through u64be/u32be only at the encoded width", () => {
  const eight = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 9]);
  expect(kernel.encodeKey(eight, "u64be")).toEqual(eight);
  expect(kernel.encodeKey(new Uint8Array([0, 0, 1, 2]), "u32be")).toEqual(new Uint8Array([0, 0, 1, 2]));
  expect(() => kernel.encodeKeys(vectorFromArray([eight, new Uint8Array(3)], new Binary()), "u64be")).toThrow(
    "binary key 0x000000 (3 bytes) at row 1 must be exactly 8 bytes to pass as a pre-encoded u64be key",
  );
  expect(() => kernel.encodeKey(eight, "u32be")).toThrow(/must be exactly 4 bytes/);
});

test("encoding mismatches name the column type and the fix", () => {
  expect(() => kernel.encodeKeys(vectorFromArray(["a"], new Utf8()), "u64be")).toThrow(
    "cannot encode Utf8 keys as u64be: it takes integer keys (or pre-encoded 8-byte binary keys); use utf8 or raw for string keys",
  );
  expect(() => kernel.encodeKeys(vectorFromArray([1n], new Int64()), "raw")).toThrow(
    "cannot encode Int64 keys as raw: it takes utf8 or binary keys; use u64be or u32be for integer keys",
  );
  expect(() => kernel.encodeKey(5n, "utf8")).toThrow(/cannot encode bigint keys as utf8/);
  expect(() => kernel.encodeKey("5", "u64be")).toThrow(/cannot encode string keys as u64be/);
  expect(() => kernel.encodeKey(1n, "u16be" as never)).toThrow(
    'unknown key encoding "u16be"; use one of u64be, u32be, utf8, raw',
  );
});

test("encodeKeys spans several kernel chunks and returns one Binary vector", () => {
  const n = 150_000;
  const values = Array.from({ length: n }, (_, i) => BigInt(i) * 1_000_003n);
  const out = kernel.encodeKeys(vectorFromArray(values, new Uint64()), "u64be");
  expect(out.length).toBe(n);
  expect(String(out.type)).toBe("Binary");
  for (const i of [0, 65_535, 65_536, 131_072, n - 1]) {
    expect(out.get(i)).toEqual(refEncodeInt(values[i] as bigint, "u64be"));
  }
});
