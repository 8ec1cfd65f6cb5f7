/**
 * zstd for the sidecar. Compression (writer side) uses the runtime's node:zlib zstd, present in
 * Bun, Deno and Node >= 22.15, with the content checksum on. Decompression uses fzstd (pure JS),
 * so readers work in edge workers and browsers too.
 */
import { SidecarUnavailableError } from "@shardy/errors";
import { decompress } from "fzstd";

interface ZlibZstd {
  zstdCompressSync?: (data: Uint8Array, options: { params: Record<number, number> }) => Uint8Array;
  constants: Record<string, number | undefined>;
}

function zlibZstd(): ZlibZstd | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const zlib = proc?.getBuiltinModule?.("node:zlib") as ZlibZstd | undefined;
  return zlib?.zstdCompressSync && zlib.constants.ZSTD_c_checksumFlag !== undefined ? zlib : undefined;
}

/** True when this runtime can write sidecars. */
export function canCompressZstd(): boolean {
  return zlibZstd() !== undefined;
}

/** One zstd frame of `data` at `level`, content checksum on. */
export function zstdCompress(data: Uint8Array, level = 3): Uint8Array {
  const zlib = zlibZstd();
  if (!zlib) {
    throw new SidecarUnavailableError(
      "zstd compression is not available in this runtime (node:zlib zstd needs Bun, Deno or Node >= 22.15); the shard is written without a sidecar",
    );
  }
  const out = zlib.zstdCompressSync!(data, {
    params: { [zlib.constants.ZSTD_c_compressionLevel!]: level, [zlib.constants.ZSTD_c_checksumFlag!]: 1 },
  });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export function zstdDecompress(frame: Uint8Array): Uint8Array {
  return decompress(frame);
}
