/**
 * ETags for the stores that compute their own (memory, file): the quoted first 128 bits of the
 * SHA-256 of the content, shaped like S3's quoted MD5 so callers can treat all ETags alike.
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function etagFromDigest(digest: Uint8Array): string {
  let hex = "";
  for (let i = 0; i < 16; i++) hex += HEX[digest[i]!];
  return `"${hex}"`;
}

/** Web-standard (runtime-agnostic) content ETag. */
export async function contentEtag(body: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>);
  return etagFromDigest(new Uint8Array(digest));
}
