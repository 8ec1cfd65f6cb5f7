/**
 * Buffered key/value pairs of one shard in two growable byte arenas, keys and values apart (no
 * per-row objects), with a stable sort by encoded key. Stability matters: among equal keys the
 * last put wins. Keeping keys and values apart lets whole Arrow-style columns land with one
 * copy each, and keeps the keys compact for the sort.
 */
import { compareBytesAt } from "../format/btree.ts";

/**
 * Receives one pair: the key at `keys[keyAt..]`, the value at `values[valueAt..]` (possibly the
 * same array). The bytes stay valid only during the call.
 */
export type PairSink = (
  keys: Uint8Array,
  keyAt: number,
  keyLength: number,
  values: Uint8Array,
  valueAt: number,
  valueLength: number,
) => void;

/** Keys of up to 8 bytes as two big-endian words each, in sorted order. */
interface PackedKeys {
  hi: Uint32Array;
  lo: Uint32Array;
  /** Bytes per key. */
  length: number;
}

/** A stable key order of a buffer's puts (`PairBuffer.sortedOrder`). */
export interface SortOrder {
  /** Insertion indices in key order. */
  readonly indices: Uint32Array;
  /** The keys themselves in that order, when they were sorted packed. */
  readonly packed: PackedKeys | null;
}

/** Turns per-byte counts into each bucket's first position (an exclusive prefix sum). */
function toBucketStarts(counts: Uint32Array): void {
  let sum = 0;
  for (let b = 0; b < counts.length; b++) {
    const c = counts[b]!;
    counts[b] = sum;
    sum += c;
  }
}

/** Bookkeeping bytes per pair besides its key and value (two u32 offsets). */
export const PAIR_OVERHEAD_BYTES = 8;

/** One growable arena with the start offset of every entry (entry `i` ends where `i + 1` starts). */
class Arena {
  bytes: Uint8Array = new Uint8Array(1 << 16);
  used = 0;
  /** `offsets[i]` is where entry `i` starts; `offsets[count]` = `used`. */
  offsets = new Uint32Array(1 << 12);

  /** Makes room for `bytes` more bytes and `rows` more entries after the first `count`. */
  reserve(count: number, rows: number, bytes: number): void {
    if (this.used + bytes > this.bytes.length) this.bytes = grown(this.bytes, this.used, this.used + bytes);
    if (count + rows + 1 > this.offsets.length) {
      const next = new Uint32Array(Math.max(this.offsets.length * 2, count + rows + 1));
      next.set(this.offsets.subarray(0, count + 1));
      this.offsets = next;
    }
  }

  /** Appends rows `[start, end)` of an Arrow-binary-style column after entry `count`. */
  appendColumn(
    count: number,
    offsets: ArrayLike<number>,
    data: Uint8Array,
    start: number,
    end: number,
  ): void {
    const from = offsets[start]!;
    const bytes = offsets[end]! - from;
    this.reserve(count, end - start, bytes);
    const base = this.used - from;
    const own = this.offsets;
    for (let r = start; r < end; r++) own[count + r - start] = base + offsets[r]!;
    this.bytes.set(data.subarray(from, from + bytes), this.used);
    this.used += bytes;
    own[count + end - start] = this.used;
  }

  append(count: number, entry: Uint8Array): void {
    this.reserve(count, 1, entry.length);
    this.offsets[count] = this.used;
    const n = entry.length;
    // A byte loop beats TypedArray.set's call overhead for short keys (u64be, u32be).
    if (n <= 16) for (let i = 0; i < n; i++) this.bytes[this.used + i] = entry[i]!;
    else this.bytes.set(entry, this.used);
    this.used += n;
    this.offsets[count + 1] = this.used;
  }

  reset(): void {
    this.used = 0;
    this.offsets[0] = 0;
  }
}

/** A copy of `a[0..used)` in a larger array: 1.5x, not 2x (growth briefly holds old + new). */
function grown(a: Uint8Array, used: number, min: number): Uint8Array {
  let size = Math.ceil(a.length * 1.5);
  while (size < min) size = Math.ceil(size * 1.5);
  const next = new Uint8Array(size);
  next.set(a.subarray(0, used));
  return next;
}

export class PairBuffer {
  readonly #keys = new Arena();
  readonly #values = new Arena();
  #count = 0;
  /** Length shared by every key so far, or -1 once lengths differ (radix sort needs one length). */
  #fixedKeyLen = -2;
  /** Largest key + value length added since the last reset. */
  #maxPairBytes = 0;

  get maxPairBytes(): number {
    return this.#maxPairBytes;
  }

  get count(): number {
    return this.#count;
  }

  /** Bytes held: keys, values and bookkeeping. */
  get bytes(): number {
    return this.#keys.used + this.#values.used + this.#count * PAIR_OVERHEAD_BYTES;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    this.#keys.append(this.#count, key);
    this.#values.append(this.#count, value);
    this.#count++;
    this.#noteKeyLength(key.length);
    if (key.length + value.length > this.#maxPairBytes) this.#maxPairBytes = key.length + value.length;
  }

  /**
   * Adds rows `[start, end)` of Arrow-binary-style columns (`offsets` has one entry per row plus
   * one; row `i` is `data[offsets[i] .. offsets[i + 1])`): one bulk copy per column, no per-row
   * views. The caller has validated lengths.
   */
  addColumns(
    keyOffsets: ArrayLike<number>,
    keyData: Uint8Array,
    valueOffsets: ArrayLike<number>,
    valueData: Uint8Array,
    start: number,
    end: number,
  ): void {
    if (end <= start) return;
    this.#keys.appendColumn(this.#count, keyOffsets, keyData, start, end);
    this.#values.appendColumn(this.#count, valueOffsets, valueData, start, end);
    let maxPair = this.#maxPairBytes;
    let fixed = this.#fixedKeyLen;
    for (let r = start; r < end; r++) {
      const kl = keyOffsets[r + 1]! - keyOffsets[r]!;
      const pair = kl + valueOffsets[r + 1]! - valueOffsets[r]!;
      if (pair > maxPair) maxPair = pair;
      if (fixed === -2) fixed = kl;
      else if (fixed !== kl) fixed = -1;
    }
    this.#maxPairBytes = maxPair;
    this.#fixedKeyLen = fixed;
    this.#count += end - start;
  }

  /**
   * The puts in ascending key order, equal keys in insertion order. Keys of one length up to 8
   * bytes (u64be, u32be) are packed into two words and radix-sorted with them, so neither the sort
   * nor the emission reads keys at random; other fixed lengths get an LSD radix sort over the
   * arena, variable lengths a comparison sort.
   */
  sortedOrder(): SortOrder {
    const n = this.#count;
    const fixed = this.#fixedKeyLen;
    if (n >= 2 && fixed >= 0 && fixed <= 8) return this.#packedSort(n, fixed);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (n < 2) return { indices: order, packed: null };
    if (fixed >= 0 && fixed <= 32) return { indices: this.#radixSort(order, fixed), packed: null };
    const keys = this.#keys.bytes;
    const off = this.#keys.offsets;
    order.sort(
      (a, b) =>
        compareBytesAt(keys, off[a]!, off[a + 1]! - off[a]!, keys, off[b]!, off[b + 1]! - off[b]!) || a - b,
    );
    return { indices: order, packed: null };
  }

  /**
   * Calls `emit` for each distinct key in `order` with its last-put value; returns how many puts
   * were superseded. Hands out offsets into the arenas, not views: no allocation per row.
   */
  forEachLatest(order: SortOrder, emit: PairSink): number {
    return order.packed
      ? this.#forEachLatestPacked(order.indices, order.packed, emit)
      : this.#forEachLatestIndexed(order.indices, emit);
  }

  #forEachLatestIndexed(order: Uint32Array, emit: PairSink): number {
    const keys = this.#keys.bytes;
    const keyOff = this.#keys.offsets;
    const values = this.#values.bytes;
    const valOff = this.#values.offsets;
    const n = order.length;
    let duplicates = 0;
    for (let i = 0; i < n; i++) {
      const idx = order[i]!;
      const off = keyOff[idx]!;
      const len = keyOff[idx + 1]! - off;
      if (i + 1 < n) {
        const next = order[i + 1]!;
        const nOff = keyOff[next]!;
        if (keyOff[next + 1]! - nOff === len) {
          let x = 0;
          while (x < len && keys[off + x] === keys[nOff + x]) x++;
          if (x === len) {
            duplicates++; // a later put of the same key follows in stable order
            continue;
          }
        }
      }
      const vOff = valOff[idx]!;
      emit(keys, off, len, values, vOff, valOff[idx + 1]! - vOff);
    }
    return duplicates;
  }

  /** Emission after `#packedSort`: keys come from the sorted words, only values are read at random. */
  #forEachLatestPacked(order: Uint32Array, packed: PackedKeys, emit: PairSink): number {
    const { hi, lo, length } = packed;
    const values = this.#values.bytes;
    const valOff = this.#values.offsets;
    const key = new Uint8Array(8);
    const n = order.length;
    let duplicates = 0;
    for (let i = 0; i < n; i++) {
      const h = hi[i]!;
      const l = lo[i]!;
      if (i + 1 < n && hi[i + 1] === h && lo[i + 1] === l) {
        duplicates++; // a later put of the same key follows in stable order
        continue;
      }
      // Big-endian key bytes: they were packed from the top of the 8-byte word.
      key[0] = h >>> 24;
      key[1] = h >>> 16;
      key[2] = h >>> 8;
      key[3] = h;
      key[4] = l >>> 24;
      key[5] = l >>> 16;
      key[6] = l >>> 8;
      key[7] = l;
      const idx = order[i]!;
      const vOff = valOff[idx]!;
      emit(key, 0, length, values, vOff, valOff[idx + 1]! - vOff);
    }
    return duplicates;
  }

  /**
   * Stable LSD radix sort of (key words, index) triples, one byte per pass, skipping bytes equal
   * in every key. Keys of `keyLength` <= 8 bytes sit at `i * keyLength` in the compact arena and
   * are packed left-aligned, so word order is key order.
   */
  #packedSort(n: number, keyLength: number): SortOrder {
    const keys = this.#keys.bytes;
    let hi = new Uint32Array(n);
    let lo = new Uint32Array(n);
    let idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const at = i * keyLength;
      let h = 0;
      let l = 0;
      for (let b = 0; b < keyLength; b++) {
        if (b < 4) h |= keys[at + b]! << (24 - 8 * b);
        else l |= keys[at + b]! << (56 - 8 * b);
      }
      hi[i] = h >>> 0;
      lo[i] = l >>> 0;
      idx[i] = i;
    }
    let hi2 = new Uint32Array(n);
    let lo2 = new Uint32Array(n);
    let idx2 = new Uint32Array(n);
    const counts = new Uint32Array(256);
    // Least significant byte first: lo's 4 bytes, then hi's.
    for (let pass = 0; pass < 8; pass++) {
      const fromLo = pass < 4;
      const shift = 8 * (pass & 3);
      const words = fromLo ? lo : hi;
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(words[i]! >>> shift) & 255]!++;
      if (counts[(words[0]! >>> shift) & 255] === n) continue; // one bucket: the pass changes nothing
      toBucketStarts(counts);
      for (let i = 0; i < n; i++) {
        const to = counts[(words[i]! >>> shift) & 255]!++;
        hi2[to] = hi[i]!;
        lo2[to] = lo[i]!;
        idx2[to] = idx[i]!;
      }
      [hi, hi2] = [hi2, hi];
      [lo, lo2] = [lo2, lo];
      [idx, idx2] = [idx2, idx];
    }
    return { indices: idx, packed: { hi, lo, length: keyLength } };
  }

  /**
   * Stable LSD radix sort, one byte per pass, skipping bytes equal in every key. With one key
   * length the key arena is already compact: key `i` sits at `i * keyLength`.
   */
  #radixSort(order: Uint32Array, keyLength: number): Uint32Array {
    const n = order.length;
    const keys = this.#keys.bytes;
    let src: Uint32Array = order;
    let dst: Uint32Array = new Uint32Array(n);
    const counts = new Uint32Array(256);
    for (let byte = keyLength - 1; byte >= 0; byte--) {
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[keys[i * keyLength + byte]!]!++;
      if (counts[keys[byte]!]! === n) continue; // one bucket: the pass changes nothing
      toBucketStarts(counts);
      for (let i = 0; i < n; i++) {
        const idx = src[i]!;
        dst[counts[keys[idx * keyLength + byte]!]!++] = idx;
      }
      const t = src;
      src = dst;
      dst = t;
    }
    return src;
  }

  reset(): void {
    this.#keys.reset();
    this.#values.reset();
    this.#count = 0;
    this.#fixedKeyLen = -2;
    this.#maxPairBytes = 0;
  }

  #noteKeyLength(length: number): void {
    if (this.#fixedKeyLen === -2) this.#fixedKeyLen = length;
    else if (this.#fixedKeyLen !== length) this.#fixedKeyLen = -1;
  }
}
