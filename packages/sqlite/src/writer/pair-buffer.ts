/**
 * Buffered key/value pairs of one shard in a single growable byte arena (no per-row objects),
 * with a stable sort by encoded key. Stability matters: among equal keys the last put wins.
 */
import { compareBytes } from "../format/btree.ts";

/** Bookkeeping bytes per pair besides its key and value (three u32 columns). */
export const PAIR_OVERHEAD_BYTES = 12;

export class PairBuffer {
  #arena = new Uint8Array(1 << 20);
  #used = 0;
  #keyOff = new Uint32Array(1 << 14);
  #keyLen = new Uint32Array(1 << 14);
  #valLen = new Uint32Array(1 << 14);
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
    return this.#used + this.#count * PAIR_OVERHEAD_BYTES;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    const need = key.length + value.length;
    if (this.#used + need > this.#arena.length) this.#growArena(this.#used + need);
    if (this.#count === this.#keyOff.length) this.#growIndex();
    const off = this.#used;
    const arena = this.#arena;
    // A byte loop beats TypedArray.set's call overhead for short keys (u64be, u32be).
    if (key.length <= 16) for (let i = 0; i < key.length; i++) arena[off + i] = key[i]!;
    else arena.set(key, off);
    arena.set(value, off + key.length);
    this.#used += need;
    const i = this.#count++;
    this.#keyOff[i] = off;
    this.#keyLen[i] = key.length;
    this.#valLen[i] = value.length;
    if (this.#fixedKeyLen === -2) this.#fixedKeyLen = key.length;
    else if (this.#fixedKeyLen !== key.length) this.#fixedKeyLen = -1;
    if (need > this.#maxPairBytes) this.#maxPairBytes = need;
  }

  /**
   * Adds rows `[start, end)` of Arrow-binary-style columns (`offsets` has one entry per row plus
   * one; row `i` is `data[offsets[i] .. offsets[i + 1])`). Copies straight into the arena: no
   * per-row views. The caller has validated lengths.
   */
  addColumns(
    keyOffsets: ArrayLike<number>,
    keyData: Uint8Array,
    valueOffsets: ArrayLike<number>,
    valueData: Uint8Array,
    start: number,
    end: number,
  ): void {
    const rows = end - start;
    if (rows <= 0) return;
    const bytes = keyOffsets[end]! - keyOffsets[start]! + (valueOffsets[end]! - valueOffsets[start]!);
    if (this.#used + bytes > this.#arena.length) this.#growArena(this.#used + bytes);
    while (this.#count + rows > this.#keyOff.length) this.#growIndex();
    const arena = this.#arena;
    const keyOff = this.#keyOff;
    const keyLen = this.#keyLen;
    const valLen = this.#valLen;
    let fixed = this.#fixedKeyLen;
    let maxPair = this.#maxPairBytes;
    let used = this.#used;
    let count = this.#count;
    for (let r = start; r < end; r++) {
      const ks = keyOffsets[r]!;
      const kl = keyOffsets[r + 1]! - ks;
      const vs = valueOffsets[r]!;
      const vl = valueOffsets[r + 1]! - vs;
      if (kl <= 16) for (let i = 0; i < kl; i++) arena[used + i] = keyData[ks + i]!;
      else arena.set(keyData.subarray(ks, ks + kl), used);
      if (vl <= 16) for (let i = 0; i < vl; i++) arena[used + kl + i] = valueData[vs + i]!;
      else arena.set(valueData.subarray(vs, vs + vl), used + kl);
      keyOff[count] = used;
      keyLen[count] = kl;
      valLen[count] = vl;
      count++;
      used += kl + vl;
      if (fixed === -2) fixed = kl;
      else if (fixed !== kl) fixed = -1;
      if (kl + vl > maxPair) maxPair = kl + vl;
    }
    this.#used = used;
    this.#count = count;
    this.#fixedKeyLen = fixed;
    this.#maxPairBytes = maxPair;
  }

  key(i: number): Uint8Array {
    const off = this.#keyOff[i]!;
    return this.#arena.subarray(off, off + this.#keyLen[i]!);
  }

  value(i: number): Uint8Array {
    const off = this.#keyOff[i]! + this.#keyLen[i]!;
    return this.#arena.subarray(off, off + this.#valLen[i]!);
  }

  valueLength(i: number): number {
    return this.#valLen[i]!;
  }

  keyLength(i: number): number {
    return this.#keyLen[i]!;
  }

  /**
   * Insertion indices in ascending key order, equal keys in insertion order. Fixed-length keys
   * (u64be, u32be) get an LSD radix sort; others a comparison sort.
   */
  sortedOrder(): Uint32Array {
    const n = this.#count;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (n < 2) return order;
    if (this.#fixedKeyLen >= 0 && this.#fixedKeyLen <= 32) return this.#radixSort(order, this.#fixedKeyLen);
    const arena = this.#arena;
    const keyOff = this.#keyOff;
    const keyLen = this.#keyLen;
    return order.sort((a, b) => {
      const d = compareBytes(
        arena.subarray(keyOff[a]!, keyOff[a]! + keyLen[a]!),
        arena.subarray(keyOff[b]!, keyOff[b]! + keyLen[b]!),
      );
      return d !== 0 ? d : a - b;
    });
  }

  /**
   * Calls `emit` for each distinct key in `order` (a stable key order) with its last-put value;
   * returns how many puts were superseded. The per-row loop works on locals: no allocation
   * besides the two views handed to `emit`.
   */
  forEachLatest(order: Uint32Array, emit: (key: Uint8Array, value: Uint8Array) => void): number {
    const arena = this.#arena;
    const keyOff = this.#keyOff;
    const keyLen = this.#keyLen;
    const valLen = this.#valLen;
    const n = order.length;
    let duplicates = 0;
    for (let i = 0; i < n; i++) {
      const idx = order[i]!;
      const off = keyOff[idx]!;
      const len = keyLen[idx]!;
      if (i + 1 < n) {
        const next = order[i + 1]!;
        if (keyLen[next] === len) {
          const nOff = keyOff[next]!;
          let x = 0;
          while (x < len && arena[off + x] === arena[nOff + x]) x++;
          if (x === len) {
            duplicates++; // a later put of the same key follows in stable order
            continue;
          }
        }
      }
      emit(arena.subarray(off, off + len), arena.subarray(off + len, off + len + valLen[idx]!));
    }
    return duplicates;
  }

  /**
   * Stable LSD radix sort, one byte per pass, skipping bytes equal in every key. Keys are first
   * copied into one compact array so each pass reads a few MB instead of the whole arena.
   */
  #radixSort(order: Uint32Array, keyLength: number): Uint32Array {
    const n = order.length;
    const arena = this.#arena;
    const keyOff = this.#keyOff;
    const keys = new Uint8Array(n * keyLength);
    for (let i = 0; i < n; i++) {
      const off = keyOff[i]!;
      const at = i * keyLength;
      for (let b = 0; b < keyLength; b++) keys[at + b] = arena[off + b]!;
    }
    let src: Uint32Array = order;
    let dst: Uint32Array = new Uint32Array(n);
    const counts = new Uint32Array(256);
    for (let byte = keyLength - 1; byte >= 0; byte--) {
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[keys[i * keyLength + byte]!]!++;
      if (counts[keys[byte]!]! === n) continue; // one bucket: the pass changes nothing
      let sum = 0;
      for (let b = 0; b < 256; b++) {
        const c = counts[b]!;
        counts[b] = sum;
        sum += c;
      }
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
    this.#used = 0;
    this.#count = 0;
    this.#fixedKeyLen = -2;
    this.#maxPairBytes = 0;
  }

  #growArena(min: number): void {
    // 1.5x, not 2x: a shard's arena is its biggest allocation, and growth briefly holds old + new.
    let size = Math.ceil(this.#arena.length * 1.5);
    while (size < min) size = Math.ceil(size * 1.5);
    const next = new Uint8Array(size);
    next.set(this.#arena.subarray(0, this.#used));
    this.#arena = next;
  }

  #growIndex(): void {
    const grow = (a: Uint32Array) => {
      const next = new Uint32Array(a.length * 2);
      next.set(a);
      return next;
    };
    this.#keyOff = grow(this.#keyOff);
    this.#keyLen = grow(this.#keyLen);
    this.#valLen = grow(this.#valLen);
  }
}
