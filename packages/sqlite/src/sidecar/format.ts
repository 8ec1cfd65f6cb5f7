/**
 * The page-cache sidecar `shard.sidecar`, format v8 (reference-format §6.1), byte for byte.
 *
 *   "SQPC" | u8 version=8 | u64 body_size | u32 page_size | u8 tag_len | tag | zstd(body)
 *   body: u32 n | n x u32 pagenos | (n+1) x u32 offsets | u32 C | C x u32 chain_heads
 *         | (C+1) x u32 chain_offsets | M x u32 chain_pages | pages blob (gap-stripped)
 *
 * Little-endian throughout (SQLite's own page bytes stay as they are).
 */
import { SidecarUnavailableError } from "@shardy/errors";
import { isPowerOfTwoPageSize } from "../format/header.ts";
import { restorePageGap, stripPageGap } from "./gap.ts";
import { zstdCompress, zstdDecompress } from "./zstd.ts";

export const SIDECAR_MAGIC = "SQPC";
export const SIDECAR_FORMAT_VERSION = 8;
export const SIDECAR_FILENAME = "shard.sidecar";
const MAX_TAG_BYTES = 255;

export interface SidecarContent {
  pageSize: number;
  /** Pages kept whole in memory by readers: interior pages and the schema, ascending page numbers. */
  pages: Map<number, Uint8Array>;
  /** Overflow chains keyed by head page (ascending), each head first. */
  chains: Map<number, number[]>;
}

export interface DecodedSidecar extends SidecarContent {
  /** ETag of the shard.db the sidecar was made for; "" when unbound. */
  dbTag: string;
  bodySize: number;
}

/** Serialises the uncompressed body. Pages are gap-stripped here. */
export function encodeSidecarBody(content: SidecarContent): Uint8Array {
  const pagenos = [...content.pages.keys()].sort((a, b) => a - b);
  const stored = pagenos.map((p) => stripPageGap(content.pages.get(p)!, p));
  const heads = [...content.chains.keys()].sort((a, b) => a - b);
  const chainPages = heads.flatMap((h) => content.chains.get(h)!);
  const blobSize = stored.reduce((s, p) => s + p.length, 0);
  const words =
    1 + pagenos.length + (pagenos.length + 1) + 1 + heads.length + (heads.length + 1) + chainPages.length;
  const out = new Uint8Array(4 * words + blobSize);
  const view = new DataView(out.buffer);
  let at = 0;
  const u32 = (v: number) => {
    view.setUint32(at, v, true);
    at += 4;
  };
  u32(pagenos.length);
  for (const p of pagenos) u32(p);
  let offset = 0;
  u32(0);
  for (const s of stored) {
    offset += s.length;
    u32(offset);
  }
  u32(heads.length);
  for (const h of heads) u32(h);
  let chainOffset = 0;
  u32(0);
  for (const h of heads) {
    chainOffset += content.chains.get(h)!.length;
    u32(chainOffset);
  }
  for (const p of chainPages) u32(p);
  for (const s of stored) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}

/** Wraps a compressed body in the v8 prefix bound to `dbTag` (dropped when longer than 255 bytes). */
export function frameSidecar(
  compressedBody: Uint8Array,
  bodySize: number,
  pageSize: number,
  dbTag: string,
): Uint8Array {
  let tag = new TextEncoder().encode(dbTag);
  if (tag.length > MAX_TAG_BYTES) tag = new Uint8Array(0);
  const out = new Uint8Array(18 + tag.length + compressedBody.length);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(SIDECAR_MAGIC), 0);
  out[4] = SIDECAR_FORMAT_VERSION;
  view.setBigUint64(5, BigInt(bodySize), true);
  view.setUint32(13, pageSize, true);
  out[17] = tag.length;
  out.set(tag, 18);
  out.set(compressedBody, 18 + tag.length);
  return out;
}

/** Body + zstd (level 3, checksum) + prefix, in one call. */
export function encodeSidecar(content: SidecarContent, dbTag: string): Uint8Array {
  const body = encodeSidecarBody(content);
  return frameSidecar(zstdCompress(body, 3), body.length, content.pageSize, dbTag);
}

function fail(why: string): never {
  throw new SidecarUnavailableError(`shard.sidecar is invalid: ${why}`);
}

export function decodeSidecar(bytes: Uint8Array): DecodedSidecar {
  if (bytes.length < 18) fail(`${bytes.length} bytes is shorter than the 18-byte prefix`);
  if (new TextDecoder().decode(bytes.subarray(0, 4)) !== SIDECAR_MAGIC) fail('magic is not "SQPC"');
  if (bytes[4] !== SIDECAR_FORMAT_VERSION)
    fail(`format_version ${bytes[4]} is not ${SIDECAR_FORMAT_VERSION}`);
  const prefix = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declaredBodySize = Number(prefix.getBigUint64(5, true));
  const pageSize = prefix.getUint32(13, true);
  if (!isPowerOfTwoPageSize(pageSize)) fail(`page_size ${pageSize} is not a power of two in [512, 65536]`);
  const tagLen = bytes[17]!;
  if (bytes.length < 18 + tagLen) fail("truncated in the ETag");
  const dbTag = new TextDecoder().decode(bytes.subarray(18, 18 + tagLen));
  let body: Uint8Array;
  try {
    body = zstdDecompress(bytes.subarray(18 + tagLen));
  } catch (err) {
    fail(`zstd frame does not decode (${(err as Error).message})`);
  }
  if (declaredBodySize !== 0 && declaredBodySize !== body.length) {
    fail(`body_size says ${declaredBodySize} bytes, the frame holds ${body.length}`);
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  const u32 = (): number => {
    if (at + 4 > body.length) fail("body is truncated");
    const v = view.getUint32(at, true);
    at += 4;
    return v;
  };
  const n = u32();
  const pagenos: number[] = [];
  for (let i = 0; i < n; i++) pagenos.push(u32());
  const offsets: number[] = [];
  for (let i = 0; i <= n; i++) offsets.push(u32());
  const c = u32();
  const heads: number[] = [];
  for (let i = 0; i < c; i++) heads.push(u32());
  const chainOffsets: number[] = [];
  for (let i = 0; i <= c; i++) chainOffsets.push(u32());
  const m = chainOffsets[c] ?? 0;
  const chainPages: number[] = [];
  for (let i = 0; i < m; i++) chainPages.push(u32());
  const blob = body.subarray(at);
  for (let i = 1; i < n; i++)
    if (pagenos[i]! <= pagenos[i - 1]!) fail("page numbers are not strictly ascending");
  for (let i = 1; i < c; i++) if (heads[i]! <= heads[i - 1]!) fail("chain heads are not strictly ascending");
  if (offsets[0] !== 0 || offsets[n] !== blob.length) fail("page offsets do not span the pages blob");
  if (chainOffsets[0] !== 0) fail("chain offsets do not start at 0");
  const pages = new Map<number, Uint8Array>();
  for (let i = 0; i < n; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    if (end < start || end - start > pageSize) fail(`page ${pagenos[i]} has a bad stored length`);
    pages.set(pagenos[i]!, restorePageGap(blob.slice(start, end), pagenos[i]!, pageSize));
  }
  const chains = new Map<number, number[]>();
  for (let i = 0; i < c; i++) {
    const start = chainOffsets[i]!;
    const end = chainOffsets[i + 1]!;
    if (end <= start) fail("chain offsets are not strictly increasing");
    chains.set(heads[i]!, chainPages.slice(start, end));
  }
  return { pageSize, pages, chains, dbTag, bodySize: body.length };
}
