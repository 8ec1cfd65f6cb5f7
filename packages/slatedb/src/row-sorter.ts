/**
 * Sorts an unordered row stream for the snapshot writer, which needs strictly increasing keys:
 * rows collect in memory up to a budget, then spill to sorted run files that are merged at the
 * end. Repeated keys keep the last value written (as a SlateDB put would) and are counted.
 */
import { ByteWriter, compareBytes } from "./bytes.ts";
import type { LocalFs } from "./local-fs.ts";

type Row = [Uint8Array, Uint8Array];

export class RowSorter {
  private arena = new ByteWriter(1 << 20);
  /** Per buffered row: key offset, key length, value offset, value length. */
  private meta = new Uint32Array(4 * 1024);
  private count = 0;
  private readonly runs: string[] = [];
  /** Keys dropped because a later put replaced them. */
  duplicates = 0;

  constructor(
    private readonly fs: LocalFs,
    private readonly spillDir: string,
    private readonly budgetBytes: number,
  ) {}

  /** Buffers a copy of the row; true when the buffer is over budget and `spill()` is due. */
  add(key: Uint8Array, value: Uint8Array): boolean {
    if (4 * (this.count + 1) > this.meta.length) {
      const next = new Uint32Array(this.meta.length * 2);
      next.set(this.meta);
      this.meta = next;
    }
    const m = 4 * this.count;
    this.meta[m] = this.arena.length;
    this.meta[m + 1] = key.length;
    this.arena.bytes(key);
    this.meta[m + 2] = this.arena.length;
    this.meta[m + 3] = value.length;
    this.arena.bytes(value);
    this.count++;
    return this.arena.length + 16 * this.count >= this.budgetBytes;
  }

  /** Buffered rows sorted by key, last write winning. */
  private sortedBuffer(): Row[] {
    const a = this.arena.subarray();
    const meta = this.meta;
    const key = (i: number) => a.subarray(meta[4 * i]!, meta[4 * i]! + meta[4 * i + 1]!);
    const order = Array.from({ length: this.count }, (_, i) => i);
    order.sort((x, y) => compareBytes(key(x), key(y)) || y - x);
    const out: Row[] = [];
    let prev: Uint8Array | undefined;
    for (const i of order) {
      const k = key(i);
      if (prev !== undefined && compareBytes(prev, k) === 0) {
        this.duplicates++;
        continue;
      }
      prev = k;
      out.push([k, a.subarray(meta[4 * i + 2]!, meta[4 * i + 2]! + meta[4 * i + 3]!)]);
    }
    return out;
  }

  /** Writes the buffered rows as one sorted run file and empties the buffer. */
  async spill(): Promise<void> {
    if (this.count === 0) return;
    const rows = this.sortedBuffer();
    const path = `${this.spillDir}/run-${String(this.runs.length).padStart(6, "0")}.rows`;
    await this.fs.mkdirp(this.spillDir);
    const file = await this.fs.create(path);
    const w = new ByteWriter(1 << 20);
    for (const [k, v] of rows) {
      w.u32(k.length);
      w.bytes(k);
      w.u32(v.length);
      w.bytes(v);
      if (w.length >= 1 << 20) {
        await file.write(w.toBytes());
        w.reset();
      }
    }
    if (w.length > 0) await file.write(w.toBytes());
    await file.close();
    this.runs.push(path);
    this.arena = new ByteWriter(1 << 20);
    this.count = 0;
  }

  /** All rows in key order, de-duplicated; batches of about `batchRows`. */
  async *sorted(batchRows = 4096): AsyncGenerator<Row[]> {
    if (this.runs.length === 0) {
      const rows = this.sortedBuffer();
      for (let i = 0; i < rows.length; i += batchRows) yield rows.slice(i, i + batchRows);
      return;
    }
    await this.spill();
    const readers = this.runs.map((p) => new RunReader(this.fs.read(p)));
    const heads = await Promise.all(readers.map((r) => r.next()));
    let batch: Row[] = [];
    let prev: Uint8Array | undefined;
    for (;;) {
      // The smallest key; on ties the newest run (highest index) wins.
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h === undefined) continue;
        if (best < 0 || compareBytes(h[0], heads[best]![0]) <= 0) best = i;
      }
      if (best < 0) break;
      const row = heads[best]!;
      if (prev !== undefined && compareBytes(prev, row[0]) === 0) {
        this.duplicates++;
      } else {
        batch.push(row);
        prev = row[0];
        if (batch.length >= batchRows) {
          yield batch;
          batch = [];
        }
      }
      // Advance every run positioned on this key (older duplicates are dropped above).
      heads[best] = await readers[best]!.next();
    }
    if (batch.length > 0) yield batch;
  }

  async cleanup(): Promise<void> {
    await this.fs.remove(this.spillDir);
  }
}

/** Parses `u32 key_len | key | u32 value_len | value` records from a chunk stream. */
class RunReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private buf = new Uint8Array(0);
  private at = 0;
  private done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length - this.at < n) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        continue;
      }
      const rest = this.buf.subarray(this.at);
      const next = new Uint8Array(rest.length + r.value.length);
      next.set(rest);
      next.set(r.value, rest.length);
      this.buf = next;
      this.at = 0;
    }
    return true;
  }

  private u32(): number {
    const b = this.buf;
    const v =
      ((b[this.at]! << 24) | (b[this.at + 1]! << 16) | (b[this.at + 2]! << 8) | b[this.at + 3]!) >>> 0;
    this.at += 4;
    return v;
  }

  async next(): Promise<Row | undefined> {
    if (!(await this.fill(4))) return undefined;
    const kl = this.u32();
    if (!(await this.fill(kl + 4))) throw new Error("spilled run file is truncated");
    const key = this.buf.slice(this.at, this.at + kl);
    this.at += kl;
    const vl = this.u32();
    if (!(await this.fill(vl))) throw new Error("spilled run file is truncated");
    const value = this.buf.slice(this.at, this.at + vl);
    this.at += vl;
    return [key, value];
  }
}
