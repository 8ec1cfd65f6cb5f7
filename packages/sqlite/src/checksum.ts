/**
 * Per-shard checksums: `"xxh3_128:<32 hex>"` over the bytes of shard.db, recorded additively in
 * the manifest's `custom.shard_checksums` (`{"<db_id>": "<checksum>"}`); the reference ignores it.
 * XXH3-128 because it hashes at memory speed in wasm; `sha256:` is accepted when verifying.
 */
import { ConfigValidationError } from "@shardy/errors";
import { createSHA256, createXXHash128 } from "hash-wasm";

export const SHARD_CHECKSUMS_CUSTOM_KEY = "shard_checksums";
export const DEFAULT_CHECKSUM_ALGORITHM = "xxh3_128";
export type ChecksumAlgorithm = "xxh3_128" | "sha256";

export interface IncrementalChecksum {
  update(chunk: Uint8Array): void;
  /** `"<algorithm>:<hex>"`. */
  digest(): string;
}

export async function createChecksum(
  algorithm: ChecksumAlgorithm = DEFAULT_CHECKSUM_ALGORITHM,
): Promise<IncrementalChecksum> {
  const hasher = algorithm === "sha256" ? await createSHA256() : await createXXHash128();
  hasher.init();
  return {
    update: (chunk) => void hasher.update(chunk),
    digest: () => `${algorithm}:${hasher.digest("hex")}`,
  };
}

/** Splits `"algo:hex"`, rejecting algorithms we cannot verify. */
export function parseChecksum(value: string): { algorithm: ChecksumAlgorithm; hex: string } {
  const m = /^(xxh3_128|sha256):([0-9a-f]+)$/.exec(value);
  if (!m) {
    throw new ConfigValidationError(
      `shard checksum ${JSON.stringify(value)} is not "xxh3_128:<hex>" or "sha256:<hex>"`,
      { field: `custom.${SHARD_CHECKSUMS_CUSTOM_KEY}` },
    );
  }
  return { algorithm: m[1] as ChecksumAlgorithm, hex: m[2]! };
}

export async function checksumOf(bytes: Uint8Array, algorithm?: ChecksumAlgorithm): Promise<string> {
  const c = await createChecksum(algorithm);
  c.update(bytes);
  return c.digest();
}
