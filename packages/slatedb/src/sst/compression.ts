/**
 * Block codecs, matching SlateDB's `CompressionFormat` (one codec per SST, applied to data,
 * filter, index and stats blocks before the CRC): snappy raw, zlib stream, LZ4 block with an LE
 * u32 uncompressed-size prefix (`lz4_flex::compress_prepend_size`), zstd frame.
 */
import { unzlibSync, zlibSync } from "fflate";
import { decompress as zstdDecompress } from "fzstd";
import * as lz4 from "lz4js";
import * as snappy from "snappyjs";
import { COMPRESSION_NAMES, CompressionFormat, type CompressionName } from "./format.ts";

export function compressionFormatOf(name: CompressionName): CompressionFormat {
  const found = (Object.entries(COMPRESSION_NAMES) as [string, CompressionName][]).find(
    ([, n]) => n === name,
  );
  if (found === undefined) throw new Error(`unknown compression ${JSON.stringify(name)}`);
  return Number(found[0]) as CompressionFormat;
}

export function decompress(format: number, bytes: Uint8Array): Uint8Array {
  switch (format) {
    case CompressionFormat.None:
      return bytes;
    case CompressionFormat.Snappy:
      return snappy.uncompress(bytes);
    case CompressionFormat.Zlib:
      return unzlibSync(bytes);
    case CompressionFormat.Lz4:
      return lz4Decompress(bytes);
    case CompressionFormat.Zstd:
      return zstdDecompress(bytes);
    default:
      throw new Error(
        `unknown compression_format ${format} (known: 0 none, 1 snappy, 2 zlib, 3 lz4, 4 zstd)`,
      );
  }
}

/** Compresses with one of the codecs this package can write (zstd is read-only here). */
export function compress(format: number, bytes: Uint8Array): Uint8Array {
  switch (format) {
    case CompressionFormat.None:
      return bytes;
    case CompressionFormat.Snappy:
      return snappy.compress(bytes);
    case CompressionFormat.Zlib:
      return zlibSync(bytes, { level: 6 });
    case CompressionFormat.Lz4:
      return lz4Compress(bytes);
    default:
      throw new Error(
        `compression_format ${format} cannot be written by this package (write none, snappy, zlib or lz4)`,
      );
  }
}

function lz4Decompress(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 4) throw new Error(`LZ4 block of ${bytes.length} bytes has no size prefix`);
  const size = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
  const out = new Uint8Array(size);
  const n = lz4.decompressBlock(bytes, out, 4, bytes.length - 4, 0);
  if (n !== size) throw new Error(`LZ4 block decoded to ${n} bytes, its prefix says ${size}`);
  return out;
}

function lz4Compress(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + lz4.compressBound(bytes.length) + 16);
  new DataView(out.buffer).setUint32(0, bytes.length, true);
  let n = lz4.compressBlock(bytes, out.subarray(4), 0, bytes.length, new Uint32Array(1 << 16));
  if (n === 0) n = lz4Literals(bytes, out.subarray(4));
  return out.slice(0, 4 + n);
}

/** A valid LZ4 block holding `src` as one literal run (for input the matcher found nothing in). */
function lz4Literals(src: Uint8Array, dst: Uint8Array): number {
  let at = 0;
  const n = src.length;
  if (n >= 15) {
    dst[at++] = 0xf0;
    let rest = n - 15;
    while (rest >= 255) {
      dst[at++] = 255;
      rest -= 255;
    }
    dst[at++] = rest;
  } else {
    dst[at++] = n << 4;
  }
  dst.set(src, at);
  return at + n;
}
