/** Constants and the `SsTableInfo` metadata of SlateDB's SST format (`schemas/sst.fbs`). */
import type { Builder } from "flatbuffers";
import type { FbTable } from "../flatbuf.ts";

/** Footer: u64 BE metadata offset, then u16 BE SST format version. */
export const FOOTER_BYTES = 10;
/** Every section (block, filter, index, stats, info) ends with a BE CRC-32 of its stored bytes. */
export const CHECKSUM_BYTES = 4;
/** Row/block format 1: every entry's offset, keys prefix-compressed against the block's first key. */
export const SST_FORMAT_V1 = 1;
/** Row/block format 2: restart points every 16 entries, keys prefix-compressed against the previous key. */
export const SST_FORMAT_V2 = 2;
export const DEFAULT_BLOCK_SIZE = 4096;
export const DEFAULT_RESTART_INTERVAL = 16;
/** SlateDB's row and batch limits. */
export const MAX_KEY_BYTES = 65_535;
export const MAX_VALUE_BYTES = 0xffff_ffff;

export const CompressionFormat = { None: 0, Snappy: 1, Zlib: 2, Lz4: 3, Zstd: 4 } as const;
export type CompressionFormat = (typeof CompressionFormat)[keyof typeof CompressionFormat];
export type CompressionName = "none" | "snappy" | "zlib" | "lz4" | "zstd";
export const COMPRESSION_NAMES: Record<CompressionFormat, CompressionName> = {
  0: "none",
  1: "snappy",
  2: "zlib",
  3: "lz4",
  4: "zstd",
};

export const SstType = { Compacted: 0, Wal: 1 } as const;
export const FilterFormat = { Legacy: 0, Composite: 1 } as const;

export const RowFlags = {
  Tombstone: 0x01,
  HasExpireTs: 0x02,
  HasCreateTs: 0x04,
  MergeOperand: 0x08,
} as const;
export const KNOWN_ROW_FLAGS = 0x0f;

/** The SST's metadata, stored in the SST (before the footer) and copied into the manifest. */
export interface SsTableInfo {
  firstEntry: Uint8Array | undefined;
  lastEntry: Uint8Array | undefined;
  indexOffset: bigint;
  indexLen: bigint;
  filterOffset: bigint;
  filterLen: bigint;
  compressionFormat: number;
  sstType: number;
  statsOffset: bigint;
  statsLen: bigint;
  filterFormat: number;
}

/** Field slots of `SsTableInfo`. */
const F = {
  firstEntry: 0,
  indexOffset: 1,
  indexLen: 2,
  filterOffset: 3,
  filterLen: 4,
  compressionFormat: 5,
  sstType: 6,
  lastEntry: 7,
  statsOffset: 8,
  statsLen: 9,
  filterFormat: 10,
} as const;

/**
 * Adds an `SsTableInfo` table to `b`. Fields are added largest first, as Rust's generated
 * `create` does, so the bytes match the official writer's for the same values.
 */
export function addSsTableInfo(b: Builder, info: SsTableInfo): number {
  const first = info.firstEntry === undefined ? 0 : b.createByteVector(info.firstEntry);
  const last = info.lastEntry === undefined ? 0 : b.createByteVector(info.lastEntry);
  b.startObject(11);
  b.addFieldInt64(F.statsLen, info.statsLen, 0n);
  b.addFieldInt64(F.statsOffset, info.statsOffset, 0n);
  b.addFieldInt64(F.filterLen, info.filterLen, 0n);
  b.addFieldInt64(F.filterOffset, info.filterOffset, 0n);
  b.addFieldInt64(F.indexLen, info.indexLen, 0n);
  b.addFieldInt64(F.indexOffset, info.indexOffset, 0n);
  if (last !== 0) b.addFieldOffset(F.lastEntry, last, 0);
  if (first !== 0) b.addFieldOffset(F.firstEntry, first, 0);
  b.addFieldInt8(F.filterFormat, info.filterFormat, 0);
  b.addFieldInt8(F.sstType, info.sstType, 0);
  b.addFieldInt8(F.compressionFormat, info.compressionFormat, 0);
  return b.endObject();
}

export function readSsTableInfo(t: FbTable): SsTableInfo {
  const first = t.bytes(F.firstEntry);
  const last = t.bytes(F.lastEntry);
  return {
    firstEntry: first?.slice(),
    lastEntry: last?.slice(),
    indexOffset: t.u64(F.indexOffset),
    indexLen: t.u64(F.indexLen),
    filterOffset: t.u64(F.filterOffset),
    filterLen: t.u64(F.filterLen),
    compressionFormat: t.u8(F.compressionFormat),
    sstType: t.u8(F.sstType),
    statsOffset: t.u64(F.statsOffset),
    statsLen: t.u64(F.statsLen),
    filterFormat: t.u8(F.filterFormat),
  };
}
