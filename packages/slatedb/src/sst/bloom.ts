/**
 * SlateDB's bloom filter: SipHash-1-3 of the whole key, enhanced double hashing, bits LSB-first.
 * Encoded as `u16 BE num_probes || bit array`; the SST's filter block is this alone (legacy
 * format, readable by every SlateDB from 0.11) or one named entry of a composite block (0.13+).
 */
import { FilterFormat } from "./format.ts";

export const DEFAULT_BITS_PER_KEY = 10;
/** The name SlateDB's `BloomFilterPolicy` uses in composite filter blocks. */
export const BLOOM_POLICY_NAME = "_bf";

/** `k = (bits_per_key as f32 * 0.69) as u16`: 6 for 10 bits per key. */
export function probesForBitsPerKey(bitsPerKey: number): number {
  return Math.trunc(Math.fround(bitsPerKey * 0.69));
}

/**
 * Builds the encoded filter from `count` hashes given as (low, high) u32 pairs in `hashes`.
 * Size: `ceil(count * bitsPerKey / 8)` bytes.
 */
export function buildBloom(
  hashes: Uint32Array,
  count: number,
  bitsPerKey = DEFAULT_BITS_PER_KEY,
): Uint8Array {
  const numProbes = probesForBitsPerKey(bitsPerKey);
  const filterBytes = Math.ceil((count * bitsPerKey) / 8);
  const out = new Uint8Array(2 + filterBytes);
  out[0] = numProbes >>> 8;
  out[1] = numProbes & 0xff;
  const bits = out.subarray(2);
  const m = filterBytes * 8;
  if (m === 0) return out;
  for (let i = 0; i < count; i++) {
    let h = hashes[2 * i]! % m;
    let d = hashes[2 * i + 1]! % m;
    for (let p = 0; p < numProbes; p++) {
      d = (d + p) % m;
      bits[h >>> 3]! |= 1 << (h & 7);
      h = (h + d) % m;
    }
  }
  return out;
}

export class BloomFilter {
  constructor(
    readonly numProbes: number,
    readonly bits: Uint8Array,
  ) {}

  static decode(encoded: Uint8Array): BloomFilter {
    if (encoded.length < 2) throw new Error(`bloom filter of ${encoded.length} bytes has no probe count`);
    return new BloomFilter((encoded[0]! << 8) | encoded[1]!, encoded.subarray(2));
  }

  /** False means the key is certainly absent. `lo`/`hi` are the halves of its SipHash-1-3. */
  mightContain(lo: number, hi: number): boolean {
    const m = this.bits.length * 8;
    if (m === 0) return false;
    let h = lo % m;
    let d = hi % m;
    for (let p = 0; p < this.numProbes; p++) {
      d = (d + p) % m;
      if ((this.bits[h >>> 3]! & (1 << (h & 7))) === 0) return false;
      h = (h + d) % m;
    }
    return true;
  }
}

/**
 * The bloom filter inside a decoded filter block, or `undefined` when the block holds none that
 * this reader knows (then every key may match).
 */
export function bloomFromFilterBlock(block: Uint8Array, filterFormat: number): BloomFilter | undefined {
  if (filterFormat === FilterFormat.Legacy) return BloomFilter.decode(block);
  if (filterFormat !== FilterFormat.Composite) {
    throw new Error(`unknown filter_format ${filterFormat} (this reader knows 0 = legacy, 1 = composite)`);
  }
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const fail = (why: string) => new Error(`composite filter block: ${why}`);
  if (block.length < 2) throw fail("shorter than its 2-byte filter count");
  const n = view.getUint16(0);
  let at = 2;
  let found: BloomFilter | undefined;
  for (let i = 0; i < n; i++) {
    if (at + 2 > block.length) throw fail(`filter ${i} name length is past the end`);
    const nameLen = view.getUint16(at);
    at += 2;
    if (at + nameLen + 8 > block.length) throw fail(`filter ${i} header is past the end`);
    const name = new TextDecoder().decode(block.subarray(at, at + nameLen));
    at += nameLen;
    const len = Number(view.getBigUint64(at));
    at += 8;
    if (at + len > block.length) throw fail(`filter ${i} (${name}) data of ${len} bytes is past the end`);
    if (name === BLOOM_POLICY_NAME && found === undefined)
      found = BloomFilter.decode(block.subarray(at, at + len));
    at += len;
  }
  return found;
}
