import { beforeAll, expect, test } from "bun:test";
import { Binary, LargeUtf8, Utf8, vectorFromArray } from "apache-arrow";
import fc from "fast-check";
import { getKernel, type Kernel } from "../src/index.ts";

// Independent JS references: bitwise CRC-32 and a BigInt SipHash with c/d rounds as parameters
// (checked against the SipHash paper's SipHash-2-4 vector below).
function refCrc32(bytes: Uint8Array, init = 0): number {
  let c = ~init >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M64;

function refSipHash(bytes: Uint8Array, c: number, d: number, key = new Uint8Array(16)): bigint {
  const kv = new DataView(key.buffer, key.byteOffset, 16);
  const k0 = kv.getBigUint64(0, true);
  const k1 = kv.getBigUint64(8, true);
  const v = [
    k0 ^ 0x736f6d6570736575n,
    k1 ^ 0x646f72616e646f6dn,
    k0 ^ 0x6c7967656e657261n,
    k1 ^ 0x7465646279746573n,
  ] as [bigint, bigint, bigint, bigint];
  const round = () => {
    v[0] = (v[0] + v[1]) & M64;
    v[1] = rotl(v[1], 13n) ^ v[0];
    v[0] = rotl(v[0], 32n);
    v[2] = (v[2] + v[3]) & M64;
    v[3] = rotl(v[3], 16n) ^ v[2];
    v[0] = (v[0] + v[3]) & M64;
    v[3] = rotl(v[3], 21n) ^ v[0];
    v[2] = (v[2] + v[1]) & M64;
    v[1] = rotl(v[1], 17n) ^ v[2];
    v[2] = rotl(v[2], 32n);
  };
  const word = (at: number, n: number) => {
    let m = 0n;
    for (let i = n - 1; i >= 0; i--) m = (m << 8n) | BigInt(bytes[at + i] as number);
    return m;
  };
  const full = bytes.length - (bytes.length % 8);
  const compress = (m: bigint) => {
    v[3] ^= m;
    for (let i = 0; i < c; i++) round();
    v[0] ^= m;
  };
  for (let at = 0; at < full; at += 8) compress(word(at, 8));
  compress(word(full, bytes.length - full) | (BigInt(bytes.length & 0xff) << 56n));
  v[2] ^= 0xffn;
  for (let i = 0; i < d; i++) round();
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}

let kernel: Kernel;
beforeAll(async () => {
  kernel = await getKernel();
});

test("the JS SipHash reference matches the SipHash paper (SipHash-2-4)", () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const msg = Uint8Array.from({ length: 15 }, (_, i) => i);
  expect(refSipHash(msg, 2, 4, key)).toBe(0xa129ca6149be45e5n);
});

test("siphash13 agrees with the reference for random bytes, single and batched", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 30 }), (values) => {
      const want = values.map((b) => refSipHash(b, 1, 3));
      expect(Array.from(kernel.siphash13Batch(values))).toEqual(want);
      expect(Array.from(kernel.siphash13Batch(vectorFromArray(values, new Binary())))).toEqual(want);
      values.forEach((b, i) => {
        expect(kernel.siphash13(b)).toBe(want[i] as bigint);
      });
    }),
    { numRuns: 100 },
  );
  expect(kernel.siphash13("hello")).toBe(refSipHash(new TextEncoder().encode("hello"), 1, 3));
});

test("crc32 agrees with the reference (zlib check value too), single, chained and batched", () => {
  expect(kernel.crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  expect(kernel.crc32(new Uint8Array(0), 1234)).toBe(1234);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), (bytes, cut) => {
      const want = refCrc32(bytes);
      expect(kernel.crc32(bytes)).toBe(want);
      const at = cut % (bytes.length + 1);
      expect(kernel.crc32(bytes.subarray(at), kernel.crc32(bytes.subarray(0, at)))).toBe(want);
    }),
    { numRuns: 150 },
  );
  const strings = ["", "a", "shardy"];
  const want = strings.map((s) => refCrc32(new TextEncoder().encode(s)));
  expect(Array.from(kernel.crc32Batch(vectorFromArray(strings, new Utf8())))).toEqual(want);
  expect(Array.from(kernel.crc32Batch(vectorFromArray(strings, new LargeUtf8())))).toEqual(want);
});

test("crc32 of a multi-megabyte buffer is fed in pieces and still matches", () => {
  const big = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 131) & 0xff;
  expect(kernel.crc32(big)).toBe(refCrc32(big));
});

test("hash batches reject int columns, non-bytes values and nulls by row", () => {
  expect(() => kernel.siphash13Batch(vectorFromArray([1, 2]) as never)).toThrow(
    /siphash13 cannot use values of Arrow type Float64/,
  );
  expect(() => kernel.crc32Batch([new Uint8Array(1), "x" as never])).toThrow(
    "value at row 1 is string, expected Uint8Array; every value must be bytes",
  );
  expect(() => kernel.siphash13Batch(vectorFromArray(["a", null, "c"], new Utf8()))).toThrow(
    "value at row 1 is null; values must not be null",
  );
  expect(() => kernel.crc32(new Uint8Array(1), -1)).toThrow(
    "crc32 init must be an unsigned 32-bit integer, got -1",
  );
});
