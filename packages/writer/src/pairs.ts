/**
 * Encoded key/value pairs of one write batch, columnar: Arrow-binary-style offsets into shared
 * byte buffers. Slicing shares the buffers, so splitting a record batch into `batch_size` writes
 * copies nothing.
 */

/** Variable-length byte values: value `i` is `data[offsets[i] .. offsets[i + 1])`. */
export interface BinaryValues {
  /** `length + 1` absolute offsets into `data`. */
  readonly offsets: Int32Array;
  readonly data: Uint8Array;
}

export class PairBatch {
  constructor(
    readonly length: number,
    readonly keys: BinaryValues,
    readonly values: BinaryValues,
  ) {}

  key(i: number): Uint8Array {
    const o = this.keys.offsets;
    return this.keys.data.subarray(o[i]!, o[i + 1]!);
  }

  value(i: number): Uint8Array {
    const o = this.values.offsets;
    return this.values.data.subarray(o[i]!, o[i + 1]!);
  }

  /** Bytes of keys plus values (what the bytes rate limit counts). */
  get byteLength(): number {
    const k = this.keys.offsets;
    const v = this.values.offsets;
    return k[this.length]! - k[0]! + (v[this.length]! - v[0]!);
  }

  /** Rows `[start, end)`, sharing the buffers. */
  slice(start: number, end: number): PairBatch {
    const s = Math.max(0, Math.min(start, this.length));
    const e = Math.max(s, Math.min(end, this.length));
    return new PairBatch(
      e - s,
      { offsets: this.keys.offsets.subarray(s, e + 1), data: this.keys.data },
      { offsets: this.values.offsets.subarray(s, e + 1), data: this.values.data },
    );
  }

  /**
   * The same rows in buffers of their own. A slice kept waiting for more rows would otherwise
   * keep alive the whole input batch (all shards' rows) its views point into.
   */
  compact(): PairBatch {
    return new PairBatch(
      this.length,
      compactValues(this.keys, this.length),
      compactValues(this.values, this.length),
    );
  }

  *[Symbol.iterator](): IterableIterator<[Uint8Array, Uint8Array]> {
    for (let i = 0; i < this.length; i++) yield [this.key(i), this.value(i)];
  }
}

/** Packs separate byte arrays into `BinaryValues` (one copy). */
export function packBinary(items: readonly Uint8Array[]): BinaryValues {
  let total = 0;
  for (const item of items) total += item.length;
  const data = new Uint8Array(total);
  const offsets = new Int32Array(items.length + 1);
  let pos = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    data.set(item, pos);
    pos += item.length;
    offsets[i + 1] = pos;
  }
  return { offsets, data };
}

function compactValues(values: BinaryValues, length: number): BinaryValues {
  const first = values.offsets[0]!;
  const last = values.offsets[length]!;
  const offsets = new Int32Array(length + 1);
  for (let i = 0; i <= length; i++) offsets[i] = values.offsets[i]! - first;
  return { offsets, data: values.data.slice(first, last) };
}
