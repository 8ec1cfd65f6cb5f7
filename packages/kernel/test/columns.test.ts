import { beforeAll, describe, expect, test } from "bun:test";
import { xxh3 as nodeRsXxh3 } from "@node-rs/xxhash";
import {
  Binary,
  type DataType,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  LargeBinary,
  LargeUtf8,
  makeData,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
  Vector,
  vectorFromArray,
} from "apache-arrow";
import { CHUNK_BYTES, CHUNK_ROWS, getKernel, type Kernel } from "../src/index.ts";

// Reference digests: @node-rs/xxhash over canonical bytes built in JS.
function canonicalInt(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v, true);
  return b;
}
const refInt = (v: bigint | number) => nodeRsXxh3.xxh64(canonicalInt(BigInt(v)), 0n);
const refBytes = (b: Uint8Array | string) =>
  nodeRsXxh3.xxh64(typeof b === "string" ? new TextEncoder().encode(b) : b, 0n);
const mod = (digests: bigint[], n: number) => digests.map((d) => Number(d % BigInt(n)));

let kernel: Kernel;
beforeAll(async () => {
  kernel = await getKernel();
});

describe("every Arrow key type", () => {
  const ints: [string, DataType, number[]][] = [
    ["Int8", new Int8(), [-128, -1, 0, 1, 127]],
    ["Int16", new Int16(), [-32768, -1, 0, 300, 32767]],
    ["Int32", new Int32(), [-(2 ** 31), -1, 0, 70000, 2 ** 31 - 1]],
    ["Uint8", new Uint8(), [0, 1, 200, 255]],
    ["Uint16", new Uint16(), [0, 1, 40000, 65535]],
    ["Uint32", new Uint32(), [0, 1, 3_000_000_000, 2 ** 32 - 1]],
  ];
  for (const [name, type, values] of ints) {
    test(`${name} routes like the int64 of its value`, () => {
      const digests = values.map(refInt);
      expect(Array.from(kernel.xxh3Batch(vectorFromArray(values, type)))).toEqual(digests);
      expect(Array.from(kernel.routeBatch(vectorFromArray(values, type), 7))).toEqual(mod(digests, 7));
    });
  }

  test("Int64 and Uint64 over their routable range", () => {
    const signed = [-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n];
    expect(Array.from(kernel.xxh3Batch(vectorFromArray(signed, new Int64())))).toEqual(signed.map(refInt));
    const unsigned = [0n, 1n, 2n ** 32n, 2n ** 63n - 1n];
    expect(Array.from(kernel.xxh3Batch(vectorFromArray(unsigned, new Uint64())))).toEqual(
      unsigned.map(refInt),
    );
  });

  const strings = ["", "a", "hello", "ünï", "日本語", "🙂", "x".repeat(300)];
  for (const [name, type] of [
    ["Utf8", new Utf8()],
    ["LargeUtf8", new LargeUtf8()],
  ] as const) {
    test(`${name} hashes the UTF-8 bytes`, () => {
      expect(Array.from(kernel.xxh3Batch(vectorFromArray(strings, type)))).toEqual(strings.map(refBytes));
    });
  }
  const blobs = [new Uint8Array(0), new Uint8Array([0, 1]), new Uint8Array(1000).fill(7)];
  for (const [name, type] of [
    ["Binary", new Binary()],
    ["LargeBinary", new LargeBinary()],
  ] as const) {
    test(`${name} hashes the bytes as is`, () => {
      expect(Array.from(kernel.xxh3Batch(vectorFromArray(blobs, type)))).toEqual(blobs.map(refBytes));
    });
  }

  test("other Arrow types are rejected with the type and the accepted ones", () => {
    expect(() => kernel.routeBatch(vectorFromArray([1.5], new Float64()), 4)).toThrow(
      /route cannot use keys of Arrow type Float64; it takes Int8..Int64, Uint8..Uint64, Utf8/,
    );
    expect(() => kernel.routeBatch([1, 2] as never, 4)).toThrow(
      /keys must be an Apache Arrow Vector or Data, got Array/,
    );
  });
});

describe("chunks, slices and nulls", () => {
  test("multi-chunk vectors route chunk by chunk in order", () => {
    const a = vectorFromArray([1n, 2n, 3n], new Int64());
    const b = vectorFromArray([4n, 5n], new Int64());
    const v = a.concat(b);
    expect(v.data.length).toBe(2);
    expect(Array.from(kernel.routeBatch(v, 1000))).toEqual(mod([1n, 2n, 3n, 4n, 5n].map(refInt), 1000));
  });

  test("sliced Data and sliced Vectors use the slice's rows and validity offset", () => {
    const values = ["a", "bb", null, "dddd", "eeeee", "f", null, "hh", "iii", "j"];
    const v = vectorFromArray(values, new Utf8());
    const data = v.data[0];
    if (!data) throw new Error("no data");
    // rows 3..6 are valid; the bitmap starts mid-byte (bit offset 3)
    const slice = data.slice(3, 3);
    expect(slice.offset).toBe(3);
    expect(Array.from(kernel.xxh3Batch(slice))).toEqual(["dddd", "eeeee", "f"].map(refBytes));
    expect(() => kernel.xxh3Batch(v.slice(3, 8))).toThrow("key at row 3 is null");
    expect(() => kernel.xxh3Batch(v.slice(1, 5))).toThrow("key at row 1 is null");
  });

  test("large batches cross kernel chunks; a null late in the second Data chunk names its global row", () => {
    const n = CHUNK_ROWS * 2 + 123;
    const values = new BigInt64Array(n);
    for (let i = 0; i < n; i++) values[i] = BigInt(i) * 0x9e37_79b9n - 5_000_000n;
    const first = makeData({ type: new Int64(), length: 1000, data: values.subarray(0, 1000) });
    const rest = makeData({ type: new Int64(), length: n - 1000, data: values.subarray(1000) });
    const v = new Vector([first, rest]);
    const got = kernel.routeBatch(v, 977);
    for (const i of [0, 999, 1000, CHUNK_ROWS - 1, CHUNK_ROWS, CHUNK_ROWS + 1000, n - 1]) {
      expect(got[i]).toBe(Number(refInt(values[i] as bigint) % 977n));
    }
    // the same rows with one null at global row CHUNK_ROWS + 1500: in the second Data, second kernel chunk
    const localNull = CHUNK_ROWS + 1500 - 1000;
    const nullBitmap = new Uint8Array(Math.ceil((n - 1000) / 8)).fill(0xff);
    nullBitmap[localNull >> 3] = 0xff & ~(1 << (localNull & 7));
    const restWithNull = makeData({
      type: new Int64(),
      length: n - 1000,
      nullCount: 1,
      nullBitmap,
      data: values.subarray(1000),
    });
    const nv = new Vector([first, restWithNull]);
    expect(() => kernel.routeBatch(nv, 977)).toThrow(`key at row ${CHUNK_ROWS + 1500} is null`);
  });

  test("long variable-length values are staged within the byte budget, one huge value alone", () => {
    const big = "z".repeat(CHUNK_BYTES + 1000);
    const strings = Array.from({ length: 3000 }, (_, i) => `${i}:`.padEnd(2500, "k"));
    strings.splice(1500, 0, big);
    const v = vectorFromArray(strings, new Utf8());
    const digests = kernel.xxh3Batch(v);
    for (const i of [0, 1499, 1500, 1501, 3000]) {
      expect(digests[i]).toBe(refBytes(strings[i] as string));
    }
  });

  test("Data with offsets that do not start at zero (a sliced string column) stages only its bytes", () => {
    const strings = Array.from({ length: 50 }, (_, i) => `key-${i}`);
    const v = vectorFromArray(strings, new LargeUtf8());
    const s = v.slice(17, 40);
    expect(Array.from(kernel.routeBatch(s, 13))).toEqual(mod(strings.slice(17, 40).map(refBytes), 13));
  });

  test("empty inputs give empty outputs", () => {
    expect(kernel.routeBatch(vectorFromArray([], new Int64()), 3).length).toBe(0);
    expect(kernel.xxh3Batch(vectorFromArray([], new Utf8())).length).toBe(0);
    expect(kernel.encodeKeys(vectorFromArray([], new Utf8()), "utf8").length).toBe(0);
  });

  test("malformed offsets are reported as a malformed column, not read out of bounds", () => {
    const data = new TextEncoder().encode("abcdef");
    const valueOffsets = new Int32Array([0, 4, 2, 6]);
    const bad = makeData({ type: new Utf8(), length: 3, data, valueOffsets });
    expect(() => kernel.xxh3Batch(bad)).toThrow(/key column is malformed at row 1/);
    const past = makeData({ type: new Binary(), length: 2, data, valueOffsets: new Int32Array([0, 3, 9]) });
    expect(() => kernel.routeBatch(past, 2)).toThrow(/key column is malformed at row 1/);
  });
});
