/**
 * Streams one SST: data blocks (v2), then the legacy bloom filter, the index, the `SsTableInfo`
 * and the 10-byte footer. Output leaves in chunks through `onChunk` as soon as a chunk fills, so
 * memory stays bounded by the chunk size, the current block and 8 bytes of hash per row.
 */
import { Builder } from "flatbuffers";
import { ByteWriter } from "../bytes.ts";
import type { SstHashing } from "../hash/hashing.ts";
import { BlockBuilderV1, BlockBuilderV2, type DataBlockBuilder, KeyCopy } from "./block-builder.ts";
import { buildBloom, DEFAULT_BITS_PER_KEY } from "./bloom.ts";
import { compress } from "./compression.ts";
import {
  addSsTableInfo,
  CompressionFormat,
  DEFAULT_BLOCK_SIZE,
  FilterFormat,
  SST_FORMAT_V1,
  SST_FORMAT_V2,
  type SsTableInfo,
  SstType,
} from "./format.ts";
import { IndexBuilder, indexSeparator } from "./index-block.ts";

export interface SstBuilderOptions {
  hashing: SstHashing;
  /** Target data block size, 1..65536 bytes (SlateDB's `SstBlockSize`). Default 4096. */
  blockSize?: number;
  /** Bloom filter bits per key; 0 writes no filter. Default 10 (6 probes). */
  bitsPerKey?: number;
  /** Write the filter only when the SST has at least this many rows. Default 1. */
  minFilterKeys?: number;
  /** Block codec. Default none, which every SlateDB build reads. */
  compression?: CompressionFormat;
  /** Size of the chunks handed to `onChunk`. Default 1 MiB. */
  chunkBytes?: number;
  /** Block format: 2 (default, SlateDB 0.11+) or 1 (readable by older builds too). */
  formatVersion?: 1 | 2;
}

export interface FinishedSst {
  info: SsTableInfo;
  /** Total bytes of the SST object. */
  size: number;
  rowCount: number;
  blockCount: number;
}

export class SstBuilder {
  private readonly hashing: SstHashing;
  private readonly blockSize: number;
  private readonly bitsPerKey: number;
  private readonly minFilterKeys: number;
  private readonly compression: CompressionFormat;
  private readonly chunkBytes: number;

  private readonly block: DataBlockBuilder;
  readonly formatVersion: 1 | 2;
  private readonly index = new IndexBuilder();
  private readonly chunk: ByteWriter;
  /** Bytes already handed to `onChunk`. */
  private emitted = 0;
  private rows = 0;

  private readonly first = new KeyCopy();
  private readonly last = new KeyCopy();
  /** Keys of the current block, Arrow-style, hashed in one batch when the block ends. */
  private readonly blockKeys = new ByteWriter(8192);
  private blockKeyOffsets = new Uint32Array(257);
  private blockKeyCount = 0;
  private hashes = new Uint32Array(2 * 4096);

  constructor(
    options: SstBuilderOptions,
    private readonly onChunk: (bytes: Uint8Array) => void,
  ) {
    this.hashing = options.hashing;
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1 || this.blockSize > 65_536) {
      throw new RangeError(`blockSize ${this.blockSize} is out of range: use 1..65536 bytes (default 4096)`);
    }
    this.bitsPerKey = options.bitsPerKey ?? DEFAULT_BITS_PER_KEY;
    this.minFilterKeys = options.minFilterKeys ?? 1;
    this.compression = options.compression ?? CompressionFormat.None;
    this.chunkBytes = options.chunkBytes ?? 1 << 20;
    this.formatVersion = options.formatVersion ?? SST_FORMAT_V2;
    if (this.formatVersion !== SST_FORMAT_V1 && this.formatVersion !== SST_FORMAT_V2) {
      throw new RangeError(`formatVersion ${String(this.formatVersion)} must be 1 or 2`);
    }
    this.block =
      this.formatVersion === SST_FORMAT_V1
        ? new BlockBuilderV1(this.blockSize)
        : new BlockBuilderV2(this.blockSize);
    this.chunk = new ByteWriter(this.chunkBytes + this.blockSize + 64);
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Bytes of finished data blocks so far (what rotation compares against its target). */
  get dataBytes(): number {
    return this.emitted + this.chunk.length;
  }

  /** Adds a row; keys must be non-empty and strictly increasing (the caller checks). */
  add(key: Uint8Array, value: Uint8Array | null, seq: bigint, expireTs?: bigint, createTs?: bigint): void {
    if (!this.block.add(key, value, seq, 0, expireTs, createTs)) {
      this.finishBlock();
      this.block.add(key, value, seq, 0, expireTs, createTs);
    }
    if (this.block.rowCount === 1) {
      this.index.startBlock(this.rows === 0 ? new Uint8Array(0) : indexSeparator(this.last.view(), key));
    }
    if (this.rows === 0) this.first.set(key);
    this.last.set(key);
    this.rows++;
    if (this.bitsPerKey > 0) this.addKeyForHash(key);
  }

  private addKeyForHash(key: Uint8Array): void {
    if (this.blockKeyCount + 2 > this.blockKeyOffsets.length) {
      const next = new Uint32Array(this.blockKeyOffsets.length * 2);
      next.set(this.blockKeyOffsets);
      this.blockKeyOffsets = next;
    }
    this.blockKeys.bytes(key);
    this.blockKeyCount++;
    this.blockKeyOffsets[this.blockKeyCount] = this.blockKeys.length;
  }

  private hashBlockKeys(): void {
    const n = this.blockKeyCount;
    if (n === 0) return;
    const hashed = this.rows - n;
    if (2 * this.rows > this.hashes.length) {
      let cap = this.hashes.length * 2;
      while (cap < 2 * this.rows) cap *= 2;
      const next = new Uint32Array(cap);
      next.set(this.hashes.subarray(0, 2 * hashed));
      this.hashes = next;
    }
    this.hashing.siphash13Column(this.blockKeys.subarray(), this.blockKeyOffsets, n, this.hashes, hashed);
    this.blockKeys.reset();
    this.blockKeyCount = 0;
  }

  /** Encodes `raw` as a section (compressed, then CRC) at the end of the chunk. */
  private appendSection(write: (w: ByteWriter) => void): number {
    const c = this.chunk;
    const start = c.length;
    write(c);
    if (this.compression !== CompressionFormat.None) {
      const raw = c.subarray(start).slice();
      c.length = start;
      c.bytes(compress(this.compression, raw));
    }
    c.u32(this.hashing.crc32(c.subarray(start)));
    return c.length - start;
  }

  private finishBlock(): void {
    if (this.block.isEmpty) return;
    const offset = this.dataBytes;
    this.appendSection((w) => this.block.finishInto(w));
    this.index.endBlock(offset);
    this.hashBlockKeys();
    if (this.chunk.length >= this.chunkBytes) this.flushChunk();
  }

  private flushChunk(): void {
    if (this.chunk.length === 0) return;
    this.emitted += this.chunk.length;
    this.onChunk(this.chunk.take());
  }

  /** Writes the filter, index, info and footer; hands out the last chunks. */
  finish(): FinishedSst {
    if (this.rows === 0) throw new Error("an SST needs at least one row");
    this.finishBlock();
    // The end of the data blocks; official readers before 0.16 use it as the end of the last
    // block even when there is no filter, so it is set either way.
    const filterOffset = this.dataBytes;
    let filterLen = 0;
    if (this.bitsPerKey > 0 && this.rows >= this.minFilterKeys) {
      const bloom = buildBloom(this.hashes, this.rows, this.bitsPerKey);
      filterLen = this.appendSection((w) => w.bytes(bloom));
    }
    const indexOffset = this.dataBytes;
    const indexBytes = this.index.finish();
    const indexLen = this.appendSection((w) => w.bytes(indexBytes));
    const info: SsTableInfo = {
      firstEntry: this.first.view().slice(),
      lastEntry: this.last.view().slice(),
      indexOffset: BigInt(indexOffset),
      indexLen: BigInt(indexLen),
      filterOffset: BigInt(filterOffset),
      filterLen: BigInt(filterLen),
      compressionFormat: this.compression,
      sstType: SstType.Compacted,
      statsOffset: 0n,
      statsLen: 0n,
      filterFormat: FilterFormat.Legacy,
    };
    const metaOffset = this.dataBytes;
    const infoBytes = encodeSsTableInfo(info);
    this.chunk.bytes(infoBytes);
    this.chunk.u32(this.hashing.crc32(infoBytes));
    this.chunk.u64n(metaOffset);
    this.chunk.u16(this.formatVersion);
    const size = this.dataBytes;
    this.flushChunk();
    return { info, size, rowCount: this.rows, blockCount: this.index.blockCount };
  }
}

export function encodeSsTableInfo(info: SsTableInfo): Uint8Array {
  const b = new Builder(256);
  b.finish(addSsTableInfo(b, info));
  return b.asUint8Array().slice();
}
