/**
 * A `KvBtreeBuilder` fed row by row while keys keep strictly ascending, tracking what the shard
 * result needs (row count, first and last key, largest pair). `accept` refuses the first row that
 * would break the order, so the caller can switch to sorting.
 */
import { compareBytesAt } from "../format/btree.ts";
import type { KvBtreeBuilder } from "./btree-builder.ts";
import { copyBytes } from "./bytes.ts";

export interface SortedStreamResult {
  rows: number;
  duplicates: number;
  minKey?: Uint8Array;
  maxKey?: Uint8Array;
}

export class SortedStream {
  readonly #builder: KvBtreeBuilder;
  #rows = 0;
  #minKey: Uint8Array | undefined;
  /** The last key taken, in a reused buffer. */
  #last = new Uint8Array(64);
  #lastLength = 0;
  #maxPairBytes = 0;
  #bytes = 0;

  constructor(builder: KvBtreeBuilder) {
    this.#builder = builder;
  }

  get pageSize(): number {
    return this.#builder.pageSize;
  }

  get rows(): number {
    return this.#rows;
  }

  /** Key and value bytes taken. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Largest key + value length taken. */
  get maxPairBytes(): number {
    return this.#maxPairBytes;
  }

  /** Adds the row if its key is above the last one; false (nothing added) otherwise. */
  accept(
    keys: Uint8Array,
    keyAt: number,
    kl: number,
    values: Uint8Array,
    valueAt: number,
    vl: number,
  ): boolean {
    if (this.#rows > 0 && !this.#above(keys, keyAt, kl)) return false;
    this.#builder.addPair(keys, keyAt, kl, values, valueAt, vl);
    if (this.#rows === 0) this.#minKey = keys.slice(keyAt, keyAt + kl);
    if (kl > this.#last.length) this.#last = new Uint8Array(kl * 2);
    copyBytes(keys, keyAt, this.#last, 0, kl);
    this.#lastLength = kl;
    if (kl + vl > this.#maxPairBytes) this.#maxPairBytes = kl + vl;
    this.#bytes += kl + vl;
    this.#rows++;
    return true;
  }

  /**
   * Adds rows `[start, end)` of Arrow-binary-style columns while they stay in order; returns the
   * first row not taken (`end` when all were).
   */
  acceptColumns(
    keyOffsets: ArrayLike<number>,
    keyData: Uint8Array,
    valueOffsets: ArrayLike<number>,
    valueData: Uint8Array,
    start: number,
    end: number,
  ): number {
    for (let r = start; r < end; r++) {
      const ka = keyOffsets[r]!;
      const va = valueOffsets[r]!;
      if (!this.accept(keyData, ka, keyOffsets[r + 1]! - ka, valueData, va, valueOffsets[r + 1]! - va))
        return r;
    }
    return end;
  }

  /** Writes the remaining pages; the file is a complete shard.db. */
  finish(): SortedStreamResult {
    this.#builder.finish();
    const maxKey = this.#rows > 0 ? this.#last.slice(0, this.#lastLength) : undefined;
    return { rows: this.#rows, duplicates: 0, minKey: this.#minKey, maxKey };
  }

  /** Closes the file after a failure (the caller removes it). */
  close(): void {
    this.#builder.close();
  }

  /** Whether `keys[keyAt..+kl)` sorts after the last key. */
  #above(keys: Uint8Array, keyAt: number, kl: number): boolean {
    return compareBytesAt(keys, keyAt, kl, this.#last, 0, this.#lastLength) > 0;
  }
}
