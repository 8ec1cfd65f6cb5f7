/**
 * ULIDs (SST names: 26 Crockford base32 characters, 48-bit ms time + 80 random bits) and UUIDs
 * (checkpoint ids), both held as the (high, low) u64 halves SlateDB's FlatBuffers store.
 */
import { ConfigValidationError } from "@shardy/errors";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const MASK64 = (1n << 64n) - 1n;

export interface U128 {
  high: bigint;
  low: bigint;
}

function randomBits(bytes: number): bigint {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** A new ULID for `timeMs` (default now). */
export function newUlid(timeMs: number = Date.now()): U128 {
  const v = (BigInt(Math.floor(timeMs)) << 80n) | randomBits(10);
  return { high: v >> 64n, low: v & MASK64 };
}

export function ulidToString(u: U128): string {
  let v = (u.high << 64n) | u.low;
  let s = "";
  for (let i = 0; i < 26; i++) {
    s = CROCKFORD[Number(v & 31n)]! + s;
    v >>= 5n;
  }
  return s;
}

export function ulidFromString(s: string): U128 {
  if (s.length !== 26) throw new ConfigValidationError(`ULID ${JSON.stringify(s)} must have 26 characters`);
  let v = 0n;
  for (const ch of s.toUpperCase()) {
    const d = CROCKFORD.indexOf(ch);
    if (d < 0)
      throw new ConfigValidationError(`ULID ${JSON.stringify(s)} has a non-Crockford character ${ch}`);
    v = (v << 5n) | BigInt(d);
  }
  if (v >> 128n !== 0n) throw new ConfigValidationError(`ULID ${JSON.stringify(s)} exceeds 128 bits`);
  return { high: v >> 64n, low: v & MASK64 };
}

/** A random (v4) UUID. */
export function newUuid(): U128 {
  return uuidFromString(crypto.randomUUID());
}

/** `Uuid::as_u64_pair()`: the big-endian halves of the 16 bytes. */
export function uuidFromString(s: string): U128 {
  const hex = s.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
    throw new ConfigValidationError(
      `checkpoint id ${JSON.stringify(s)} is not a UUID (expected 32 hex digits, dashes optional)`,
    );
  }
  return { high: BigInt(`0x${hex.slice(0, 16)}`), low: BigInt(`0x${hex.slice(16)}`) };
}

/** Hyphenated lower-case form, as SlateDB prints and parses checkpoint ids. */
export function uuidToString(u: U128): string {
  const h = u.high.toString(16).padStart(16, "0") + u.low.toString(16).padStart(16, "0");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
