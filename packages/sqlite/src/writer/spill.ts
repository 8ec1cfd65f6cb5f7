/**
 * Sorted runs on local disk, for shards larger than the writer's memory budget: each run is a
 * sorted, de-duplicated sequence of `u32 keyLen | u32 valueLen | key | value` (little-endian),
 * merged at the end so SQLite still receives every row in key order.
 */
import { compareBytes } from "../format/btree.ts";
import type { LocalFs } from "../util/local-fs.ts";
import type { PairBuffer } from "./pair-buffer.ts";

const CHUNK = 4 << 20;

/**
 * Calls `emit` for each distinct key of `buffer` in key order with its last-put value; returns
 * how many puts were superseded.
 */
export function forEachLatest(
  buffer: PairBuffer,
  order: Uint32Array,
  emit: (key: Uint8Array, value: Uint8Array) => void,
): number {
  return buffer.forEachLatest(order, emit);
}

/** Writes the buffer as one sorted run; returns the number of superseded puts dropped. */
export function writeRun(fs: LocalFs, path: string, buffer: PairBuffer): number {
  const fd = fs.openSync(path, "w");
  let out = new Uint8Array(CHUNK);
  let view = new DataView(out.buffer);
  let used = 0;
  const flush = () => {
    let done = 0;
    while (done < used) done += fs.writeSync(fd, out, done, used - done);
    used = 0;
  };
  try {
    const duplicates = forEachLatest(buffer, buffer.sortedOrder(), (key, value) => {
      const need = 8 + key.length + value.length;
      if (used + need > out.length) {
        flush();
        if (need > out.length) {
          out = new Uint8Array(need);
          view = new DataView(out.buffer);
        }
      }
      view.setUint32(used, key.length, true);
      view.setUint32(used + 4, value.length, true);
      out.set(key, used + 8);
      out.set(value, used + 8 + key.length);
      used += need;
    });
    flush();
    return duplicates;
  } finally {
    fs.closeSync(fd);
  }
}

/** Sequential buffered reader of one run. `key`/`value` stay valid until the next `next()`. */
export class RunReader {
  #buf = new Uint8Array(CHUNK);
  #start = 0;
  #end = 0;
  #filePos = 0;
  #eof = false;
  key: Uint8Array = new Uint8Array(0);
  value: Uint8Array = new Uint8Array(0);

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
    const b = this.#buf;
    const h = this.#start;
    const kl = (b[h]! | (b[h + 1]! << 8) | (b[h + 2]! << 16) | (b[h + 3]! << 24)) >>> 0;
    const vl = (b[h + 4]! | (b[h + 5]! << 8) | (b[h + 6]! << 16) | (b[h + 7]! << 24)) >>> 0;
    if (!this.#ensure(8 + kl + vl)) throw new Error("spill run is truncated");
    const at = this.#start + 8;
    this.key = this.#buf.subarray(at, at + kl);
    this.value = this.#buf.subarray(at + kl, at + kl + vl);
    this.#start = at + kl + vl;
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
      if (this.#buf.length < n) {
        const bigger = new Uint8Array(Math.max(n, this.#buf.length * 2));
        bigger.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = bigger;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = remaining;
      const got = this.fs.readSync(
        this.fd,
        this.#buf,
        this.#end,
        this.#buf.length - this.#end,
        this.#filePos,
      );
      if (got === 0) this.#eof = true;
      this.#filePos += got;
      this.#end += got;
    }
    return true;
  }
}

/**
 * K-way merge of sorted runs in key order. Among equal keys the run written last wins (its puts
 * came later); returns how many superseded values were dropped. `emit` gets copies it may keep.
 */
export function mergeRuns(readers: RunReader[], emit: (key: Uint8Array, value: Uint8Array) => void): number {
  // Binary min-heap ordered by (key ascending, run index descending).
  const heap: RunReader[] = [];
  const less = (a: RunReader, b: RunReader) => {
    const d = compareBytes(a.key, b.key);
    return d < 0 || (d === 0 && a.runIndex > b.runIndex);
  };
  const push = (r: RunReader) => {
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
  const popTop = () => {
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  for (const r of readers) if (r.next()) push(r);
  let duplicates = 0;
  while (heap.length > 0) {
    const top = heap[0]!;
    // Copies: the readers reuse their buffers, and the caller may hold rows (e.g. in a batch).
    const key = top.key.slice();
    emit(key, top.value.slice());
    popTop();
    if (top.next()) push(top);
    while (heap.length > 0 && compareBytes(heap[0]!.key, key) === 0) {
      const dup = heap[0]!;
      duplicates++;
      popTop();
      if (dup.next()) push(dup);
    }
  }
  return duplicates;
}
