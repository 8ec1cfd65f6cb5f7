/** What the two conditional puts of a publish (manifest, then `_CURRENT`) share. */

/** How a conditional put ended: the object's etag, and whether a lost response was recovered. */
export interface ConditionalPutResult {
  etag: string;
  /** True when a put's response was lost and the re-read showed it had been applied. */
  recoveredLostResponse: boolean;
  /** Puts sent, including retries. */
  puts: number;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
