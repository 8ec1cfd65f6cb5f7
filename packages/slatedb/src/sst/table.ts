/**
 * Read side of one SST: its filter and index (fetched together in one ranged read, then cached)
 * and its data blocks (one ranged read per block or per run of adjacent blocks).
 */
import { DbAdapterError } from "@shardy/errors";
import { compareBytes } from "../bytes.ts";
import { FbTable } from "../flatbuf.ts";
import type { SstHashing } from "../hash/hashing.ts";
import { Block } from "./block-reader.ts";
import { type BloomFilter, bloomFromFilterBlock } from "./bloom.ts";
import { decompress } from "./compression.ts";
import {
  CHECKSUM_BYTES,
  FOOTER_BYTES,
  readSsTableInfo,
  SST_FORMAT_V1,
  SST_FORMAT_V2,
  type SsTableInfo,
} from "./format.ts";
import { decodeIndex, type SstIndex } from "./index-block.ts";

/** Ranged reads of one object, `end` exclusive. */
export type RangeRead = (start: number, end: number) => Promise<Uint8Array>;

/** Checks a section's trailing BE CRC-32 and returns the bytes before it. */
export function verifySection(bytes: Uint8Array, hashing: SstHashing, what: string): Uint8Array {
  if (bytes.length < CHECKSUM_BYTES) {
    throw new DbAdapterError(`${what}: ${bytes.length} bytes cannot hold its 4-byte CRC (truncated object?)`);
  }
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  const at = bytes.length - CHECKSUM_BYTES;
  const stored = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  const actual = hashing.crc32(body);
  if (stored !== actual) {
    throw new DbAdapterError(
      `${what}: CRC-32 mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)}); the object is corrupt or truncated`,
    );
  }
  return body;
}

export class SstTable {
  private constructor(
    readonly name: string,
    readonly info: SsTableInfo,
    readonly formatVersion: number,
    readonly index: SstIndex,
    readonly bloom: BloomFilter | undefined,
    private readonly read: RangeRead,
    private readonly hashing: SstHashing,
  ) {}

  /** Loads filter and index with one ranged read. `name` is used in error messages. */
  static async open(
    name: string,
    info: SsTableInfo,
    formatVersion: number,
    read: RangeRead,
    hashing: SstHashing,
  ): Promise<SstTable> {
    if (formatVersion !== SST_FORMAT_V1 && formatVersion !== SST_FORMAT_V2) {
      throw new DbAdapterError(`${name}: SST format version ${formatVersion} is not supported (1 or 2)`);
    }
    const indexOffset = Number(info.indexOffset);
    const indexEnd = indexOffset + Number(info.indexLen);
    const filterOffset = Number(info.filterOffset);
    const filterLen = Number(info.filterLen);
    const hasFilter = filterLen > 0;
    const start = hasFilter ? Math.min(filterOffset, indexOffset) : indexOffset;
    const end = hasFilter ? Math.max(indexEnd, filterOffset + filterLen) : indexEnd;
    const bytes = await read(start, end);
    if (bytes.length !== end - start) {
      throw new DbAdapterError(
        `${name}: expected ${end - start} bytes of filter and index at [${start}, ${end}), got ${bytes.length} (truncated SST?)`,
      );
    }
    const section = (offset: number, len: number, what: string) => {
      const raw = verifySection(
        bytes.subarray(offset - start, offset - start + len),
        hashing,
        `${name} ${what}`,
      );
      try {
        return decompress(info.compressionFormat, raw);
      } catch (e) {
        throw new DbAdapterError(`${name} ${what}: cannot decompress: ${(e as Error).message}`, { cause: e });
      }
    };
    let index: SstIndex;
    let bloom: BloomFilter | undefined;
    try {
      index = decodeIndex(section(indexOffset, Number(info.indexLen), "index block"));
      if (hasFilter)
        bloom = bloomFromFilterBlock(section(filterOffset, filterLen, "filter block"), info.filterFormat);
    } catch (e) {
      if (e instanceof DbAdapterError) throw e;
      throw new DbAdapterError(`${name}: ${(e as Error).message}`, { cause: e });
    }
    if (index.offsets.length === 0) throw new DbAdapterError(`${name}: the index lists no data blocks`);
    return new SstTable(name, info, formatVersion, index, bloom, read, hashing);
  }

  get blockCount(): number {
    return this.index.offsets.length;
  }

  /** End of the data blocks (see the profile notes on `filter_offset`). */
  private get dataEnd(): number {
    const fo = Number(this.info.filterOffset);
    const io = Number(this.info.indexOffset);
    if (Number(this.info.filterLen) > 0) return fo;
    return fo > 0 && fo <= io ? fo : io;
  }

  /** Byte range `[start, end)` of blocks `[from, to)`. */
  blockRange(from: number, to: number): [number, number] {
    const start = this.index.offsets[from]!;
    const end = to < this.index.offsets.length ? this.index.offsets[to]! : this.dataEnd;
    return [start, end];
  }

  /**
   * The first block that can hold `key` (SlateDB's `first_partition_including_key`:
   * `partition_point(first_key < key) - 1`). Versions of one key may continue into later blocks.
   */
  blockFor(key: Uint8Array): number {
    const p = this.partitionPoint(key, false);
    return p === 0 ? 0 : p - 1;
  }

  /**
   * Blocks `[from, to)` to read for a point lookup of `key`, in one ranged read: from the first
   * block that can hold it (versions of one key may end the block before the one whose separator
   * equals it) through the last block whose separator is <= key. Usually one or two blocks.
   */
  pointBlocks(key: Uint8Array): [number, number] {
    const first = this.blockFor(key);
    const last = Math.max(first, this.partitionPoint(key, true) - 1);
    return [first, last + 1];
  }

  /** Number of separators `< key` (or `<= key` when `inclusive`). */
  private partitionPoint(key: Uint8Array, inclusive: boolean): number {
    const keys = this.index.keys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(keys[mid]!, key);
      if (c < 0 || (inclusive && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** False when the bloom filter rules the key out. */
  mightContain(lo: number, hi: number): boolean {
    return this.bloom === undefined || this.bloom.mightContain(lo, hi);
  }

  /** Reads and decodes blocks `[from, to)` with one ranged read. */
  async readBlocks(from: number, to: number): Promise<Block[]> {
    const [start, end] = this.blockRange(from, to);
    const bytes = await this.read(start, end);
    if (bytes.length !== end - start) {
      throw new DbAdapterError(
        `${this.name}: expected ${end - start} bytes of blocks ${from}..${to} at [${start}, ${end}), got ${bytes.length} (truncated SST?)`,
      );
    }
    const out: Block[] = [];
    for (let i = from; i < to; i++) {
      const [s, e] = this.blockRange(i, i + 1);
      const what = `${this.name} block ${i} at [${s}, ${e})`;
      const raw = verifySection(bytes.subarray(s - start, e - start), this.hashing, what);
      try {
        out.push(Block.decode(decompress(this.info.compressionFormat, raw), this.formatVersion));
      } catch (e) {
        throw new DbAdapterError(`${what}: ${(e as Error).message}`, { cause: e });
      }
    }
    return out;
  }
}

/**
 * Reads an SST's own info from its footer (the manifest holds a copy; WAL SSTs and integrity
 * checks need this one). `size` is the object size.
 */
export async function readSstFooter(
  name: string,
  size: number,
  read: RangeRead,
  hashing: SstHashing,
): Promise<{ info: SsTableInfo; formatVersion: number }> {
  if (size <= FOOTER_BYTES) throw new DbAdapterError(`${name}: ${size} bytes is too short for an SST`);
  const footer = await read(size - FOOTER_BYTES, size);
  const view = new DataView(footer.buffer, footer.byteOffset, footer.byteLength);
  const metaOffset = Number(view.getBigUint64(0));
  const formatVersion = view.getUint16(8);
  if (formatVersion !== SST_FORMAT_V1 && formatVersion !== SST_FORMAT_V2) {
    throw new DbAdapterError(
      `${name}: footer says SST format version ${formatVersion}; supported are 1 and 2`,
    );
  }
  if (metaOffset >= size - FOOTER_BYTES) {
    throw new DbAdapterError(
      `${name}: footer metadata offset ${metaOffset} is past the object (${size} bytes)`,
    );
  }
  const raw = await read(metaOffset, size - FOOTER_BYTES);
  const body = verifySection(raw, hashing, `${name} SsTableInfo`);
  try {
    return { info: readSsTableInfo(FbTable.root(body, "SsTableInfo")), formatVersion };
  } catch (e) {
    throw new DbAdapterError(`${name}: ${(e as Error).message}`, { cause: e });
  }
}
