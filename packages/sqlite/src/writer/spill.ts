/**
 * Sorted runs on local disk, for shards larger than the writer's memory budget: each run is a
 * sorted, de-duplicated sequence of `u32 keyLen | u32 valueLen | key | value` (little-endian),
 * merged at the end so SQLite still receives every row in key order.
 */
import { compareBytesAt } from "../format/btree.ts";
import type { LocalFs } from "../util/local-fs.ts";
import { copyBytes, WordCopier } from "./bytes.ts";
import type { PairBuffer, PairSink } from "./pair-buffer.ts";

const CHUNK = 4 << 20;

function putU32le(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v >>> 24;
}

/** Writes the buffer as one sorted run; returns the number of superseded puts dropped. */
export function writeRun(fs: LocalFs, path: string, buffer: PairBuffer): number {
  const fd = fs.openSync(path, "w");
  let out = new Uint8Array(CHUNK);
  let used = 0;
  const flush = () => {
    let done = 0;
    while (done < used) done += fs.writeSync(fd, out, done, used - done);
    used = 0;
  };
  const copier = new WordCopier();
  try {
    const duplicates = buffer.forEachLatest(buffer.sortedOrder(), (keys, keyAt, kl, values, valueAt, vl) => {
      const need = 8 + kl + vl;
      if (used + need > out.length) {
        flush();
        if (need > out.length) out = new Uint8Array(need);
      }
      putU32le(out, used, kl);
      putU32le(out, used + 4, vl);
      copyBytes(keys, keyAt, out, used + 8, kl);
      copier.copy(values, valueAt, out, used + 8 + kl, vl);
      used += need;
    });
    flush();
    return duplicates;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * One sorted, de-duplicated sequence of pairs read in key order: the current pair's key is
 * `buf[at..at + keyLength)` and its value follows it, valid until the next `next()`.
 */
export interface SortedRun {
  readonly buf: Uint8Array;
  readonly at: number;
  readonly keyLength: number;
  readonly valueLength: number;
  /** Age of the run: among equal keys the highest index wins (its puts came later). */
  readonly runIndex: number;
  /** Moves to the next pair; false at the end. */
  next(): boolean;
  close(): void;
}

/** Sequential buffered reader of one spilled run file. */
export class RunReader implements SortedRun {
  buf = new Uint8Array(CHUNK);
  #start = 0;
  #end = 0;
  #filePos = 0;
  #eof = false;
  at = 0;
  keyLength = 0;
  valueLength = 0;

  constructor(
    private readonly fs: LocalFs,
    private readonly fd: number,
    readonly runIndex: number,
  ) {}

  static open(fs: LocalFs, path: string, runIndex: number): RunReader {
    return new RunReader(fs, fs.openSync(path, "r"), runIndex);
  }

  next(): boolean {
    if (!this.#ensure(8)) return false;
    // Two little-endian u32 lengths, read bytewise: no DataView allocated per row.
    const b = this.buf;
    const h = this.#start;
    const kl = (b[h]! | (b[h + 1]! << 8) | (b[h + 2]! << 16) | (b[h + 3]! << 24)) >>> 0;
    const vl = (b[h + 4]! | (b[h + 5]! << 8) | (b[h + 6]! << 16) | (b[h + 7]! << 24)) >>> 0;
    if (!this.#ensure(8 + kl + vl)) throw new Error("spill run is truncated");
    this.at = this.#start + 8;
    this.keyLength = kl;
    this.valueLength = vl;
    this.#start = this.at + kl + vl;
    return true;
  }

  close(): void {
    this.fs.closeSync(this.fd);
  }

  /** Makes `n` bytes available from `#start`; false at a clean end of file. */
  #ensure(n: number): boolean {
    while (this.#end - this.#start < n) {
      if (this.#eof) {
        if (this.#end === this.#start) return false;
        throw new Error("spill run is truncated");
      }
      const remaining = this.#end - this.#start;
      if (this.buf.length < n) {
        const bigger = new Uint8Array(Math.max(n, this.buf.length * 2));
        bigger.set(this.buf.subarray(this.#start, this.#end));
        this.buf = bigger;
      } else {
        this.buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = remaining;
      const got = this.fs.readSync(this.fd, this.buf, this.#end, this.buf.length - this.#end, this.#filePos);
      if (got === 0) this.#eof = true;
      this.#filePos += got;
      this.#end += got;
    }
    return true;
  }
}

/** SQLite's BINARY order of the current keys of two readers. */
function compareKeys(a: SortedRun, b: SortedRun): number {
  return compareBytesAt(a.buf, a.at, a.keyLength, b.buf, b.at, b.keyLength);
}

/** Whether the current key of `r` equals `key[0..length)`. */
function keyEquals(r: SortedRun, key: Uint8Array, length: number): boolean {
  if (r.keyLength !== length) return false;
  const b = r.buf;
  for (let i = 0, x = r.at; i < length; i++) if (b[x + i] !== key[i]) return false;
  return true;
}

/**
 * K-way merge of sorted runs in key order. Among equal keys the run written last wins (its puts
 * came later); returns how many superseded values were dropped.
 */
export function mergeRuns(readers: SortedRun[], emit: PairSink): number {
  // Binary min-heap ordered by (key ascending, run index descending).
  const heap: SortedRun[] = [];
  const less = (a: SortedRun, b: SortedRun) => {
    const d = compareKeys(a, b);
    return d < 0 || (d === 0 && a.runIndex > b.runIndex);
  };
  const push = (r: SortedRun) => {
    heap.push(r);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      const t = heap[i]!;
      heap[i] = heap[p]!;
      heap[p] = t;
      i = p;
    }
  };
  /** Restores the heap after its top changed (the top reader moved on to its next key). */
  const siftTop = () => {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  const popTop = () => {
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    siftTop();
  };
  for (const r of readers) if (r.next()) push(r);
  let duplicates = 0;
  let key = new Uint8Array(64);
  while (heap.length > 0) {
    const top = heap[0]!;
    const kl = top.keyLength;
    emit(top.buf, top.at, kl, top.buf, top.at + kl, top.valueLength);
    // The key outlives the reader's next() (it screens out older duplicates): keep a copy.
    if (kl > key.length) key = new Uint8Array(kl * 2);
    copyBytes(top.buf, top.at, key, 0, kl);
    // A reader with more rows stays on top and sifts down: one pass instead of a pop and a push.
    if (top.next()) siftTop();
    else popTop();
    while (heap.length > 0 && keyEquals(heap[0]!, key, kl)) {
      const dup = heap[0]!;
      duplicates++;
      if (dup.next()) siftTop();
      else popTop();
    }
  }
  return duplicates;
}
