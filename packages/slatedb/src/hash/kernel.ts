/** `SstHashing` over the shared WASM kernel (`@shardy/kernel`). */
import { getKernel, type Kernel } from "@shardy/kernel";
import { Binary, makeData } from "apache-arrow";
import type { SstHashing } from "./hashing.ts";

export function kernelHashing(kernel: Kernel): SstHashing {
  return {
    siphash13Column(data, offsets, count, out, outIndex) {
      // Handed over as one Arrow binary column: the kernel copies values and offsets in bulk.
      const column = makeData({
        type: new Binary(),
        length: count,
        nullCount: 0,
        valueOffsets: new Int32Array(offsets.buffer, offsets.byteOffset, count + 1),
        data: data.subarray(0, offsets[count]!),
      });
      const hashes = kernel.siphash13Batch(column);
      // Each u64 lands as (low, high) u32 words: WebAssembly hosts are little-endian.
      out.set(new Uint32Array(hashes.buffer, hashes.byteOffset, 2 * count), 2 * outIndex);
    },
    siphash13Key(key, out, at) {
      const h = kernel.siphash13(key);
      out[at] = Number(h & 0xffff_ffffn);
      out[at + 1] = Number(h >> 32n);
    },
    crc32: (bytes, crc = 0) => kernel.crc32(bytes, crc),
  };
}

let shared: Promise<SstHashing> | undefined;

/** Hashing over the process-wide kernel (loaded on first use). */
export function defaultHashing(): Promise<SstHashing> {
  if (shared === undefined) {
    shared = getKernel().then(kernelHashing);
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}
