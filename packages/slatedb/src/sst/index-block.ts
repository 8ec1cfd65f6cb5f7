/**
 * The SST index block: FlatBuffer `SsTableIndex { block_meta: [BlockMeta { offset, first_key }] }`.
 * `first_key` is a separator (see `indexSeparator`), the empty key for block 0.
 */
import { Builder } from "flatbuffers";
import { FbTable } from "../flatbuf.ts";

/**
 * The shortest prefix of `first` that is greater than `prevLast` (SlateDB's `compute_index_key`):
 * every key of the previous block is below it and every key of this block at or above it.
 */
export function indexSeparator(prevLast: Uint8Array, first: Uint8Array): Uint8Array {
  const n = prevLast.length;
  for (let i = 0; i < n; i++) {
    if (prevLast[i] !== first[i]) return first.slice(0, i + 1);
  }
  if (n === first.length) return first.slice();
  return first.slice(0, n + 1);
}

/**
 * Builds the index incrementally, in the order SlateDB's builder does (key vector when a block
 * starts, `BlockMeta` when it ends), so only the FlatBuffer under construction stays in memory.
 */
export class IndexBuilder {
  private readonly b = new Builder(1024);
  private readonly metas: number[] = [];
  private pendingKey = -1;

  get blockCount(): number {
    return this.metas.length;
  }

  /** Call when a block receives its first row. */
  startBlock(separator: Uint8Array): void {
    this.pendingKey = this.b.createByteVector(separator);
  }

  /** Call when the block is complete; `offset` is its start within the SST. */
  endBlock(offset: number): void {
    if (this.pendingKey < 0) throw new Error("IndexBuilder.endBlock without startBlock");
    this.b.startObject(2);
    this.b.addFieldInt64(0, BigInt(offset), 0n);
    this.b.addFieldOffset(1, this.pendingKey, 0);
    this.metas.push(this.b.endObject());
    this.pendingKey = -1;
  }

  finish(): Uint8Array {
    const b = this.b;
    b.startVector(4, this.metas.length, 4);
    for (let i = this.metas.length - 1; i >= 0; i--) b.addOffset(this.metas[i]!);
    const vec = b.endVector();
    b.startObject(1);
    b.addFieldOffset(0, vec, 0);
    const root = b.endObject();
    b.finish(root);
    return b.asUint8Array().slice();
  }
}

/** A decoded index: block `i` starts at `offsets[i]`; `keys[i]` is its separator. */
export interface SstIndex {
  offsets: number[];
  keys: Uint8Array[];
}

export function decodeIndex(bytes: Uint8Array): SstIndex {
  const root = FbTable.root(bytes, "SsTableIndex");
  const metas = root.requiredTables(0, "SsTableIndex.block_meta");
  const offsets: number[] = new Array(metas.length);
  const keys: Uint8Array[] = new Array(metas.length);
  for (let i = 0; i < metas.length; i++) {
    const m = metas[i]!;
    offsets[i] = Number(m.u64(0));
    const k = m.bytes(1);
    if (k === undefined) throw new Error(`SsTableIndex.block_meta[${i}].first_key is required but missing`);
    keys[i] = k;
  }
  return { offsets, keys };
}
