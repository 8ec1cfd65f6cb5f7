import { beforeAll, expect, test } from "bun:test";
import { xxh3 as nodeRsXxh3 } from "@node-rs/xxhash";
import { Int64, Utf8, type Vector, vectorFromArray } from "apache-arrow";
import fc from "fast-check";
import { createXXHash3, type IHasher } from "hash-wasm";
import { getKernel, type Kernel } from "../src/index.ts";

// Two independent XXH3-64 implementations (hash-wasm's C build, @node-rs/xxhash's Rust crate)
// are the references; the kernel must agree with both on random inputs of every length class.
let kernel: Kernel;
let hashWasm: IHasher;

beforeAll(async () => {
  kernel = await getKernel();
  hashWasm = await createXXHash3(0, 0);
});

function refXxh3(bytes: Uint8Array): bigint {
  hashWasm.init();
  hashWasm.update(bytes);
  const viaHashWasm = BigInt(`0x${hashWasm.digest("hex")}`);
  const viaNodeRs = nodeRsXxh3.xxh64(bytes, 0n);
  if (viaHashWasm !== viaNodeRs)
    throw new Error(`reference implementations disagree on ${bytes.length} bytes`);
  return viaHashWasm;
}

function int64Bytes(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v, true);
  return b;
}

test("random byte keys of length 0..5000 hash like the references", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 5000, size: "max" }), (bytes) => {
      expect(kernel.xxh3(bytes)).toBe(refXxh3(bytes));
    }),
    { numRuns: 400 },
  );
});

test("short byte keys (every length 0..260, the small and mid-size classes) hash like the references", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 260 }), fc.integer(), (len, seed) => {
      const bytes = new Uint8Array(len);
      let x = seed | 1;
      for (let i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[i] = x & 0xff;
      }
      expect(kernel.xxh3(bytes)).toBe(refXxh3(bytes));
    }),
    { numRuns: 1000 },
  );
});

/** Strings of any code points (ASCII-heavy, with 2-, 3- and 4-byte UTF-8 and lone surrogates). */
const unicodeString = fc
  .array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 0x10ffff })), {
    maxLength: 200,
  })
  .map((cps) => String.fromCodePoint(...cps));

test("random string keys hash as their UTF-8 bytes, single and batched", () => {
  fc.assert(
    fc.property(fc.array(unicodeString, { maxLength: 40 }), (strings) => {
      const want = strings.map((s) => refXxh3(new TextEncoder().encode(s)));
      const got = kernel.xxh3Batch(vectorFromArray(strings, new Utf8()));
      expect(Array.from(got)).toEqual(want);
      strings.forEach((s, i) => {
        expect(kernel.xxh3(s)).toBe(want[i] as bigint);
      });
    }),
    { numRuns: 100 },
  );
});

test("random int64 batches with nulls and slices: digests of valid rows, first null reported", () => {
  fc.assert(
    fc.property(
      fc.array(fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { freq: 8 }), {
        minLength: 1,
        maxLength: 300,
      }),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: 5000 }),
      (values, a, b, numDbs) => {
        const start = a % values.length;
        const end = start + (b % (values.length - start + 1));
        const whole: Vector = vectorFromArray(values, new Int64());
        const slice = whole.slice(start, end);
        const window = values.slice(start, end);
        const firstNull = window.indexOf(null);
        if (firstNull >= 0) {
          expect(() => kernel.routeBatch(slice, numDbs)).toThrow(`key at row ${firstNull} is null`);
          return;
        }
        const digests = window.map((v) => refXxh3(int64Bytes(v as bigint)));
        expect(Array.from(kernel.xxh3Batch(slice))).toEqual(digests);
        expect(Array.from(kernel.routeBatch(slice, numDbs))).toEqual(
          digests.map((d) => Number(d % BigInt(numDbs))),
        );
      },
    ),
    { numRuns: 300 },
  );
});
