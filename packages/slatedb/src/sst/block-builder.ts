/**
 * Builds one SST data block in format v2 (SlateDB's default since 0.11): rows prefix-compressed
 * against the previous key, a restart point (full key) every 16 rows, then the restart offsets
 * (u16 BE) and their count (u16 BE).
 */
import { ByteWriter, varintLength } from "../bytes.ts";
import { DEFAULT_RESTART_INTERVAL, RowFlags } from "./format.ts";

/** Reusable copy of a key (callers may reuse their key buffers after `add`). */
export class KeyCopy {
  buf = new Uint8Array(64);
  length = 0;

  set(key: Uint8Array): void {
    const n = key.length;
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
    const buf = this.buf;
    if (n <= 16) {
      for (let i = 0; i < n; i++) buf[i] = key[i]!;
    } else {
      buf.set(key);
    }
    this.length = n;
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function sharedPrefix(a: Uint8Array, aLen: number, b: Uint8Array): number {
  const n = Math.min(aLen, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Bytes a row's sequence number, flags and optional timestamps take (same in v1 and v2). */
function rowMetaLength(expireTs: bigint | undefined, createTs: bigint | undefined): number {
  return 9 + (expireTs === undefined ? 0 : 8) + (createTs === undefined ? 0 : 8);
}

/** Writes `u64 seq | u8 flags | [i64 expire] | [i64 create]`, caching the encoded sequence number. */
class RowMetaWriter {
  private seq = -1n;
  private readonly seqBytes = new Uint8Array(8);

  write(
    d: ByteWriter,
    seq: bigint,
    flags: number,
    tombstone: boolean,
    expireTs: bigint | undefined,
    createTs: bigint | undefined,
  ): void {
    if (seq !== this.seq) {
      this.seq = seq;
      new DataView(this.seqBytes.buffer).setBigUint64(0, seq);
    }
    d.bytes(this.seqBytes);
    let f = flags & ~(RowFlags.HasExpireTs | RowFlags.HasCreateTs);
    if (tombstone) f |= RowFlags.Tombstone;
    if (expireTs !== undefined) f |= RowFlags.HasExpireTs;
    if (createTs !== undefined) f |= RowFlags.HasCreateTs;
    d.u8(f);
    if (expireTs !== undefined) d.i64(expireTs);
    if (createTs !== undefined) d.i64(createTs);
  }
}

/** A finished block: the row bytes, then the u16 offsets (restarts or rows) and their count. */
function writeBlock(out: ByteWriter, data: ByteWriter, offsets: readonly number[]): void {
  out.bytes(data.subarray());
  for (const o of offsets) out.u16(o);
  out.u16(offsets.length);
}

export class BlockBuilderV2 {
  private readonly data: ByteWriter;
  private restarts: number[] = [];
  private count = 0;
  private readonly last = new KeyCopy();
  private readonly meta = new RowMetaWriter();

  constructor(
    readonly blockSize: number,
    readonly restartInterval = DEFAULT_RESTART_INTERVAL,
  ) {
    this.data = new ByteWriter(blockSize + 256);
  }

  get isEmpty(): boolean {
    return this.count === 0;
  }

  get rowCount(): number {
    return this.count;
  }

  /** Encoded size of the block if finished now. */
  get size(): number {
    return this.data.length + 2 * this.restarts.length + 2;
  }

  /**
   * Appends a row if it fits (the first row always fits). Returns false, leaving the block
   * unchanged, when it does not: the caller finishes this block and starts the next with the row.
   * `value === null` writes a tombstone.
   */
  add(
    key: Uint8Array,
    value: Uint8Array | null,
    seq: bigint,
    flags = 0,
    expireTs?: bigint,
    createTs?: bigint,
  ): boolean {
    const restart = this.count % this.restartInterval === 0;
    const shared = restart ? 0 : sharedPrefix(this.last.buf, this.last.length, key);
    const unshared = key.length - shared;
    const valueLen = value === null ? 0 : value.length;
    if (this.count > 0) {
      const entry =
        varintLength(shared) +
        varintLength(unshared) +
        varintLength(valueLen) +
        unshared +
        valueLen +
        rowMetaLength(expireTs, createTs);
      if (this.size + entry + (restart ? 2 : 0) > this.blockSize) return false;
    }
    const d = this.data;
    if (restart) this.restarts.push(d.length);
    d.varint(shared);
    d.varint(unshared);
    d.varint(valueLen);
    d.bytesFrom(key, shared, key.length);
    if (value !== null && valueLen > 0) d.bytes(value);
    this.meta.write(d, seq, flags, value === null, expireTs, createTs);
    this.last.set(key);
    this.count++;
    return true;
  }

  /** Appends the finished block to `out` and resets the builder for the next block. */
  finishInto(out: ByteWriter): void {
    writeBlock(out, this.data, this.restarts);
    this.data.reset();
    this.restarts = [];
    this.count = 0;
  }
}

/**
 * Builds a data block in format v1 (SST format version 1, what SlateDB before 0.11 wrote): every
 * row's offset is stored, keys are prefix-compressed against the block's first key, and rows are
 * `u16 prefix | u16 suffix_len | suffix | u64 seq | u8 flags | [i64 expire] | [i64 create] |
 * (non-tombstone) u32 value_len | value`.
 */
export class BlockBuilderV1 {
  private readonly data: ByteWriter;
  private offsets: number[] = [];
  private readonly first = new KeyCopy();
  private readonly meta = new RowMetaWriter();

  constructor(readonly blockSize: number) {
    this.data = new ByteWriter(blockSize + 256);
  }

  get isEmpty(): boolean {
    return this.offsets.length === 0;
  }

  get rowCount(): number {
    return this.offsets.length;
  }

  get size(): number {
    return this.data.length + 2 * this.offsets.length + 2;
  }

  add(
    key: Uint8Array,
    value: Uint8Array | null,
    seq: bigint,
    flags = 0,
    expireTs?: bigint,
    createTs?: bigint,
  ): boolean {
    const empty = this.offsets.length === 0;
    const prefix = empty ? 0 : sharedPrefix(this.first.buf, this.first.length, key);
    const suffix = key.length - prefix;
    const valueLen = value === null ? 0 : value.length;
    if (!empty) {
      const entry = 4 + suffix + rowMetaLength(expireTs, createTs) + (value === null ? 0 : 4 + valueLen);
      // Each v1 row also costs a 2-byte offset.
      if (this.size + entry + 2 > this.blockSize) return false;
    }
    const d = this.data;
    this.offsets.push(d.length);
    d.u16(prefix);
    d.u16(suffix);
    d.bytesFrom(key, prefix, key.length);
    this.meta.write(d, seq, flags, value === null, expireTs, createTs);
    if (value !== null) {
      d.u32(valueLen);
      d.bytes(value);
    }
    if (empty) this.first.set(key);
    return true;
  }

  finishInto(out: ByteWriter): void {
    writeBlock(out, this.data, this.offsets);
    this.data.reset();
    this.offsets = [];
  }
}

/** What the SST builder needs from a block builder of either format. */
export type DataBlockBuilder = BlockBuilderV1 | BlockBuilderV2;
