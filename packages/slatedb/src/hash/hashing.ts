/**
 * The two hashes the SST format needs, behind one small interface so the WASM kernel
 * (`@shardy/kernel`) and the pure-TypeScript fallback are interchangeable.
 */
import { crc32 as jsCrc32 } from "./crc32.ts";
import { siphash13Into } from "./siphash13.ts";

export interface SstHashing {
  /**
   * SipHash-1-3 (zero key) of the `count` values of an Arrow-style binary column: value `i` is
   * `data[offsets[i] .. offsets[i+1])`. Writes the low and high 32 bits of hash `i` to
   * `out[2 * (outIndex + i)]` and `out[2 * (outIndex + i) + 1]`.
   */
  siphash13Column(
    data: Uint8Array,
    offsets: Uint32Array,
    count: number,
    out: Uint32Array,
    outIndex: number,
  ): void;
  /** SipHash-1-3 of one key into `out[at]` (low 32 bits) and `out[at + 1]` (high 32 bits). */
  siphash13Key(key: Uint8Array, out: Uint32Array, at: number): void;
  /** CRC-32 (IEEE) of `bytes`, continuing from `crc` (0 to start). */
  crc32(bytes: Uint8Array, crc?: number): number;
}

/** Pure TypeScript hashing: no WASM needed, used when no kernel is supplied. */
export const jsHashing: SstHashing = {
  siphash13Column(data, offsets, count, out, outIndex) {
    const keys: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) keys[i] = data.subarray(offsets[i]!, offsets[i + 1]!);
    siphash13Into(keys, out, outIndex);
  },
  siphash13Key(key, out, at) {
    siphash13Into([key], out, at / 2);
  },
  crc32: jsCrc32,
};
