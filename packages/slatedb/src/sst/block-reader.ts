/**
 * Decodes SST data blocks of format v1 (offset per row, keys prefix-compressed against the
 * block's first key) and v2 (restart points, keys prefix-compressed against the previous key).
 */
import { compareBytes } from "../bytes.ts";
import { KNOWN_ROW_FLAGS, RowFlags, SST_FORMAT_V1, SST_FORMAT_V2 } from "./format.ts";

export type RowKind = "value" | "tombstone" | "merge";

export interface Row {
  key: Uint8Array;
  /** Empty for tombstones. */
  value: Uint8Array;
  kind: RowKind;
  seq: bigint;
  expireTs?: bigint;
  createTs?: bigint;
}

export class BlockFormatError extends Error {}

/** Scratch buffer for keys decoded while seeking (single-threaded, never escapes a call). */
let scratchKey = new Uint8Array(256);

function compareKeyBuf(buf: Uint8Array, len: number, target: Uint8Array): number {
  const n = Math.min(len, target.length);
  for (let i = 0; i < n; i++) {
    const c = buf[i]! - target[i]!;
    if (c !== 0) return c;
  }
  return len - target.length;
}

/** A decoded block: row area plus the offsets table (restart points for v2, every row for v1). */
export class Block {
  /** A view over `data`, shared by every cursor on the block. */
  readonly view: DataView;

  private constructor(
    readonly formatVersion: number,
    readonly data: Uint8Array,
    readonly offsets: Uint16Array,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  /** `bytes` is the block as stored, after CRC check and decompression, without the CRC. */
  static decode(bytes: Uint8Array, formatVersion: number): Block {
    if (formatVersion !== SST_FORMAT_V1 && formatVersion !== SST_FORMAT_V2) {
      throw new BlockFormatError(`SST format version ${formatVersion} is not supported (1 or 2)`);
    }
    if (bytes.length < 2) throw new BlockFormatError(`block of ${bytes.length} bytes has no offset count`);
    const n = (bytes[bytes.length - 2]! << 8) | bytes[bytes.length - 1]!;
    const dataEnd = bytes.length - 2 - 2 * n;
    if (dataEnd < 0) throw new BlockFormatError(`block of ${bytes.length} bytes cannot hold ${n} offsets`);
    const offsets = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const o = (bytes[dataEnd + 2 * i]! << 8) | bytes[dataEnd + 2 * i + 1]!;
      if (o >= dataEnd)
        throw new BlockFormatError(`block offset ${o} is past the row area (${dataEnd} bytes)`);
      offsets[i] = o;
    }
    return new Block(formatVersion, bytes.subarray(0, dataEnd), offsets);
  }

  cursor(): BlockCursor {
    return new BlockCursor(this);
  }

  /** Every row, in order. */
  rows(): Row[] {
    const c = this.cursor();
    const out: Row[] = [];
    for (let r = c.next(); r !== undefined; r = c.next()) out.push(r);
    return out;
  }
}

/** Walks a block's rows in order; `seek` positions it at the first row with key >= target. */
export class BlockCursor {
  private pos = 0;
  private prevKey: Uint8Array = new Uint8Array(0);
  private firstKey: Uint8Array | undefined;
  private readonly view: DataView;

  constructor(private readonly block: Block) {
    this.view = block.view;
  }

  private fail(why: string): never {
    throw new BlockFormatError(`corrupt v${this.block.formatVersion} block row at ${this.pos}: ${why}`);
  }

  private varint(): number {
    const d = this.block.data;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= d.length) this.fail("varint runs past the row area");
      const b = d[this.pos++]!;
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 28) this.fail("varint longer than 5 bytes");
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.block.data.length) this.fail(`needs ${n} more bytes`);
  }

  private flags(): number {
    const f = this.block.data[this.pos++]!;
    if ((f & ~KNOWN_ROW_FLAGS) !== 0) this.fail(`unknown row flags 0x${f.toString(16)}`);
    if ((f & RowFlags.Tombstone) !== 0 && (f & RowFlags.MergeOperand) !== 0)
      this.fail("tombstone and merge flags");
    return f;
  }

  private timestamps(f: number, row: Row): void {
    if ((f & RowFlags.HasExpireTs) !== 0) {
      this.need(8);
      row.expireTs = this.view.getBigInt64(this.pos);
      this.pos += 8;
    }
    if ((f & RowFlags.HasCreateTs) !== 0) {
      this.need(8);
      row.createTs = this.view.getBigInt64(this.pos);
      this.pos += 8;
    }
  }

  private static kind(f: number): RowKind {
    if ((f & RowFlags.Tombstone) !== 0) return "tombstone";
    if ((f & RowFlags.MergeOperand) !== 0) return "merge";
    return "value";
  }

  /** The next row, or `undefined` at the end of the block. */
  next(): Row | undefined {
    const d = this.block.data;
    if (this.pos >= d.length) return undefined;
    return this.block.formatVersion === SST_FORMAT_V2 ? this.nextV2(d) : this.nextV1(d);
  }

  private nextV2(d: Uint8Array): Row {
    const shared = this.varint();
    const unshared = this.varint();
    const valueLen = this.varint();
    if (shared > this.prevKey.length)
      this.fail(`shares ${shared} bytes with a ${this.prevKey.length}-byte key`);
    this.need(unshared + valueLen + 9);
    let key: Uint8Array;
    if (shared === 0) {
      key = d.subarray(this.pos, this.pos + unshared);
    } else {
      key = new Uint8Array(shared + unshared);
      key.set(this.prevKey.subarray(0, shared));
      key.set(d.subarray(this.pos, this.pos + unshared), shared);
    }
    this.pos += unshared;
    const value = d.subarray(this.pos, this.pos + valueLen);
    this.pos += valueLen;
    const seq = this.view.getBigUint64(this.pos);
    this.pos += 8;
    const f = this.flags();
    const row: Row = { key, value, kind: BlockCursor.kind(f), seq };
    this.timestamps(f, row);
    if (row.kind === "tombstone") row.value = new Uint8Array(0);
    this.prevKey = key;
    return row;
  }

  private nextV1(d: Uint8Array): Row {
    this.need(4);
    const prefix = this.view.getUint16(this.pos);
    const suffixLen = this.view.getUint16(this.pos + 2);
    this.pos += 4;
    this.need(suffixLen + 9);
    const suffix = d.subarray(this.pos, this.pos + suffixLen);
    this.pos += suffixLen;
    let key: Uint8Array;
    if (this.firstKey === undefined) {
      if (prefix !== 0) this.fail(`first row of a block has key prefix ${prefix}`);
      key = suffix;
      this.firstKey = key;
    } else {
      if (prefix > this.firstKey.length) this.fail(`prefix ${prefix} is longer than the block's first key`);
      key = new Uint8Array(prefix + suffixLen);
      key.set(this.firstKey.subarray(0, prefix));
      key.set(suffix, prefix);
    }
    const seq = this.view.getBigUint64(this.pos);
    this.pos += 8;
    const f = this.flags();
    const row: Row = { key, value: new Uint8Array(0), kind: BlockCursor.kind(f), seq };
    this.timestamps(f, row);
    if (row.kind !== "tombstone") {
      this.need(4);
      const len = this.view.getUint32(this.pos);
      this.pos += 4;
      this.need(len);
      row.value = d.subarray(this.pos, this.pos + len);
      this.pos += len;
    }
    this.prevKey = key;
    return row;
  }

  /** Key of the row at `offset` when it is stored whole (a v2 restart point, or v1 with prefix 0). */
  private keyAt(offset: number): Uint8Array {
    const save = this.pos;
    this.pos = offset;
    const r = this.next();
    this.pos = save;
    if (r === undefined) this.fail("offset points at the end of the block");
    return r.key;
  }

  /** Positions the cursor so that `next()` returns the first row with key >= `target`. */
  seek(target: Uint8Array): void {
    const offs = this.block.offsets;
    this.pos = 0;
    this.prevKey = new Uint8Array(0);
    this.firstKey = undefined;
    if (offs.length === 0) return;
    if (this.block.formatVersion === SST_FORMAT_V1) {
      // v1 keys depend on the first key; decode it, then binary search all rows.
      this.next();
      this.pos = 0;
      let lo = 0;
      let hi = offs.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareBytes(this.keyAt(offs[mid]!), target) < 0) lo = mid + 1;
        else hi = mid;
      }
      this.pos = lo < offs.length ? offs[lo]! : this.block.data.length;
      return;
    }
    // v2: the last restart point whose key is < target, then scan forward comparing keys in a
    // reusable buffer, so skipped rows allocate nothing.
    const d = this.block.data;
    let lo = 0;
    let hi = offs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compareRestartKey(offs[mid]!, target) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.pos = lo === 0 ? 0 : offs[lo - 1]!;
    let keyBuf = scratchKey;
    let keyLen = 0;
    while (this.pos < d.length) {
      const start = this.pos;
      const shared = this.varint();
      const unshared = this.varint();
      const valueLen = this.varint();
      if (shared > keyLen) this.fail(`shares ${shared} bytes with a ${keyLen}-byte key`);
      this.need(unshared + valueLen + 9);
      if (shared + unshared > keyBuf.length) {
        const next = new Uint8Array(Math.max(shared + unshared, 2 * keyBuf.length));
        next.set(keyBuf.subarray(0, keyLen));
        keyBuf = next;
        scratchKey = next;
      }
      for (let i = 0; i < unshared; i++) keyBuf[shared + i] = d[this.pos + i]!;
      keyLen = shared + unshared;
      if (compareKeyBuf(keyBuf, keyLen, target) >= 0) {
        // Re-decode this row with `next()`; it needs the previous key for its shared prefix.
        this.pos = start;
        this.prevKey = keyBuf.slice(0, shared);
        return;
      }
      this.pos += unshared + valueLen + 8;
      const f = d[this.pos++]!;
      if ((f & RowFlags.HasExpireTs) !== 0) this.pos += 8;
      if ((f & RowFlags.HasCreateTs) !== 0) this.pos += 8;
    }
  }

  /** Compares the full key stored at restart point `offset` (shared = 0) with `target`. */
  private compareRestartKey(offset: number, target: Uint8Array): number {
    const save = this.pos;
    this.pos = offset;
    const shared = this.varint();
    const unshared = this.varint();
    this.varint();
    if (shared !== 0) this.fail(`restart point at ${offset} shares ${shared} bytes`);
    this.need(unshared);
    const d = this.block.data;
    const n = Math.min(unshared, target.length);
    let c = 0;
    for (let i = 0; i < n && c === 0; i++) c = d[this.pos + i]! - target[i]!;
    if (c === 0) c = unshared - target.length;
    this.pos = save;
    return c;
  }
}
