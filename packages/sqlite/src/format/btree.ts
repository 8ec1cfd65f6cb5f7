/**
 * Read-only parsing of SQLite b-tree pages: page headers, cells, payload spill onto overflow
 * pages, and the record format, enough to walk every b-tree and to descend the `kv` index.
 * https://sqlite.org/fileformat.html#b_tree_pages
 */
import { inlinePayloadThreshold } from "../page-size.ts";

export const PAGE_INTERIOR_INDEX = 2;
export const PAGE_INTERIOR_TABLE = 5;
export const PAGE_LEAF_INDEX = 10;
export const PAGE_LEAF_TABLE = 13;

export interface PageHeader {
  /** Offset of the b-tree page header: 100 on page 1 (after the database header), else 0. */
  base: number;
  type: number;
  interior: boolean;
  /** Index b-trees (including WITHOUT ROWID tables) carry keys in their cells; table b-trees carry rowids. */
  index: boolean;
  headerSize: number;
  cellCount: number;
  /** Start of the cell content area (0 in the file means 65536). */
  cellContentStart: number;
  rightChild: number;
}

export function isBtreePageType(type: number): boolean {
  return (
    type === PAGE_INTERIOR_INDEX ||
    type === PAGE_INTERIOR_TABLE ||
    type === PAGE_LEAF_INDEX ||
    type === PAGE_LEAF_TABLE
  );
}

export function be16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function be32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

export function parsePageHeader(page: Uint8Array, pgno: number): PageHeader | undefined {
  const base = pgno === 1 ? 100 : 0;
  const type = page[base]!;
  if (!isBtreePageType(type)) return undefined;
  const interior = type === PAGE_INTERIOR_INDEX || type === PAGE_INTERIOR_TABLE;
  const cca = be16(page, base + 5);
  return {
    base,
    type,
    interior,
    index: type === PAGE_INTERIOR_INDEX || type === PAGE_LEAF_INDEX,
    headerSize: interior ? 12 : 8,
    cellCount: be16(page, base + 3),
    cellContentStart: cca === 0 ? 65536 : cca,
    rightChild: interior ? be32(page, base + 8) : 0,
  };
}

/** Offset of cell `i` (from the cell pointer array). */
export function cellOffset(page: Uint8Array, header: PageHeader, i: number): number {
  return be16(page, header.base + header.headerSize + 2 * i);
}

/** Reads a SQLite varint at `at`: [value, byteLength]. Values above 2^53 lose precision (never payload sizes). */
export function readVarint(b: Uint8Array, at: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = b[at + i]!;
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) return [value, i + 1];
  }
  return [value * 256 + b[at + 8]!, 9];
}

export interface Cell {
  /** Left child page (interior cells only). */
  leftChild: number;
  /** Total payload bytes (0 for table-interior cells, which carry only a rowid). */
  payloadSize: number;
  /** Offset of the payload's first byte within the page. */
  payloadStart: number;
  /** Payload bytes stored on this page. */
  localSize: number;
  /** First overflow page, 0 when the payload fits on the page. */
  overflowPage: number;
}

/** Bytes of payload kept on the page for a payload of `p` bytes (the rest spills to overflow pages). */
export function localPayloadSize(p: number, usable: number, tableLeaf: boolean): number {
  const maxLocal = tableLeaf ? usable - 35 : inlinePayloadThreshold(usable);
  if (p <= maxLocal) return p;
  const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
  const k = minLocal + ((p - minLocal) % (usable - 4));
  return k <= maxLocal ? k : minLocal;
}

export function parseCell(page: Uint8Array, header: PageHeader, offset: number, usable: number): Cell {
  let at = offset;
  let leftChild = 0;
  if (header.interior) {
    leftChild = be32(page, at);
    at += 4;
  }
  if (header.type === PAGE_INTERIOR_TABLE) {
    return { leftChild, payloadSize: 0, payloadStart: at, localSize: 0, overflowPage: 0 };
  }
  const [payloadSize, n] = readVarint(page, at);
  at += n;
  if (header.type === PAGE_LEAF_TABLE) at += readVarint(page, at)[1]; // rowid
  const localSize = localPayloadSize(payloadSize, usable, header.type === PAGE_LEAF_TABLE);
  const overflowPage = localSize < payloadSize ? be32(page, at + localSize) : 0;
  return { leftChild, payloadSize, payloadStart: at, localSize, overflowPage };
}

/** Content bytes one overflow page holds (after its 4-byte next-page pointer). */
export function overflowCapacity(usable: number): number {
  return usable - 4;
}

/** The record header's serial types and where the body starts. Needs only the local part. */
export function recordSerialTypes(payload: Uint8Array): { types: number[]; bodyStart: number } {
  const [headerSize, n] = readVarint(payload, 0);
  const types: number[] = [];
  let at = n;
  while (at < headerSize) {
    const [t, m] = readVarint(payload, at);
    types.push(t);
    at += m;
  }
  return { types, bodyStart: headerSize };
}

/** Byte length of a value of serial type `t`. */
export function serialTypeSize(t: number): number {
  if (t >= 12) return (t - (t & 1 ? 13 : 12)) >> 1;
  return [0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0][t] ?? 0;
}

/** Big-endian two's-complement integer of serial types 1..6, 8 and 9 (schema root pages fit a number). */
export function decodeIntField(b: Uint8Array, at: number, t: number): number {
  if (t === 8) return 0;
  if (t === 9) return 1;
  const size = serialTypeSize(t);
  let u = 0;
  for (let i = 0; i < size; i++) u = u * 256 + b[at + i]!;
  return b[at]! & 0x80 ? u - 2 ** (8 * size) : u;
}

/** memcmp then length: SQLite's BINARY order for blobs, and the order of encoded keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return compareBytesAt(a, 0, a.length, b, 0, b.length);
}

/** `compareBytes` of `a[aAt .. aAt + aLength)` and `b[bAt .. bAt + bLength)`, without views. */
export function compareBytesAt(
  a: Uint8Array,
  aAt: number,
  aLength: number,
  b: Uint8Array,
  bAt: number,
  bLength: number,
): number {
  const n = Math.min(aLength, bLength);
  for (let i = 0; i < n; i++) {
    const d = a[aAt + i]! - b[bAt + i]!;
    if (d !== 0) return d;
  }
  return aLength - bLength;
}
