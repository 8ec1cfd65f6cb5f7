/**
 * SipHash-1-3 with the zero key over raw bytes, the hash SlateDB's bloom filter uses
 * (`siphasher::sip::SipHasher13::new().hash(key)`). Pure TypeScript on 32-bit limbs, so no BigInt
 * is allocated per key; the fallback when the WASM kernel is not available.
 */

// State v0..v3 as [hi, lo] limb pairs; a Uint32Array keeps every limb unsigned and wraps adds.
const S = new Uint32Array(8);
const V0H = 0;
const V0L = 1;
const V1H = 2;
const V1L = 3;
const V2H = 4;
const V2L = 5;
const V3H = 6;
const V3L = 7;

/** a += b on the 64-bit values at limb indexes (ah, al) and (bh, bl). */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = S[al]! + S[bl]!;
  S[al] = lo;
  S[ah] = S[ah]! + S[bh]! + (lo > 0xffffffff ? 1 : 0);
}

/** Rotates the 64-bit value at (h, l) left by `n` bits, 0 < n < 32. */
function rotl(h: number, l: number, n: number): void {
  const hi = S[h]!;
  const lo = S[l]!;
  S[h] = (hi << n) | (lo >>> (32 - n));
  S[l] = (lo << n) | (hi >>> (32 - n));
}

function xorInto(ah: number, al: number, bh: number, bl: number): void {
  S[ah] = S[ah]! ^ S[bh]!;
  S[al] = S[al]! ^ S[bl]!;
}

function swapHalves(h: number, l: number): void {
  const t = S[h]!;
  S[h] = S[l]!;
  S[l] = t;
}

function sipRound(): void {
  add(V0H, V0L, V1H, V1L);
  rotl(V1H, V1L, 13);
  xorInto(V1H, V1L, V0H, V0L);
  swapHalves(V0H, V0L);
  add(V2H, V2L, V3H, V3L);
  rotl(V3H, V3L, 16);
  xorInto(V3H, V3L, V2H, V2L);
  add(V0H, V0L, V3H, V3L);
  rotl(V3H, V3L, 21);
  xorInto(V3H, V3L, V0H, V0L);
  add(V2H, V2L, V1H, V1L);
  rotl(V1H, V1L, 17);
  xorInto(V1H, V1L, V2H, V2L);
  swapHalves(V2H, V2L);
}

function compress(mh: number, ml: number): void {
  S[V3H] = S[V3H]! ^ mh;
  S[V3L] = S[V3L]! ^ ml;
  sipRound();
  S[V0H] = S[V0H]! ^ mh;
  S[V0L] = S[V0L]! ^ ml;
}

function hashInto(m: Uint8Array, out: Uint32Array, at: number): void {
  // k0 = k1 = 0, so the initial state is the constant "somepseudorandomlygeneratedbytes".
  S[V0H] = 0x736f6d65;
  S[V0L] = 0x70736575;
  S[V1H] = 0x646f7261;
  S[V1L] = 0x6e646f6d;
  S[V2H] = 0x6c796765;
  S[V2L] = 0x6e657261;
  S[V3H] = 0x74656462;
  S[V3L] = 0x79746573;
  const len = m.length;
  const whole = len - (len & 7);
  for (let i = 0; i < whole; i += 8) {
    const lo = m[i]! | (m[i + 1]! << 8) | (m[i + 2]! << 16) | (m[i + 3]! << 24);
    const hi = m[i + 4]! | (m[i + 5]! << 8) | (m[i + 6]! << 16) | (m[i + 7]! << 24);
    compress(hi >>> 0, lo >>> 0);
  }
  // Last word: the 0..7 remaining bytes, little-endian, with the length's low byte on top.
  let lo = 0;
  let hi = (len & 0xff) << 24;
  for (let j = 0; j < len - whole; j++) {
    const b = m[whole + j]!;
    if (j < 4) lo |= b << (8 * j);
    else hi |= b << (8 * (j - 4));
  }
  compress(hi >>> 0, lo >>> 0);
  S[V2L] = S[V2L]! ^ 0xff;
  sipRound();
  sipRound();
  sipRound();
  out[at] = S[V0L]! ^ S[V1L]! ^ S[V2L]! ^ S[V3L]!;
  out[at + 1] = S[V0H]! ^ S[V1H]! ^ S[V2H]! ^ S[V3H]!;
}

/** Writes the hash of `keys[i]` to `out[2i]` (low 32 bits) and `out[2i+1]` (high 32 bits). */
export function siphash13Into(keys: readonly Uint8Array[], out: Uint32Array, outIndex = 0): void {
  for (let i = 0; i < keys.length; i++) hashInto(keys[i]!, out, 2 * (outIndex + i));
}

/** The 64-bit hash of one key as a bigint. */
export function siphash13(key: Uint8Array): bigint {
  const out = new Uint32Array(2);
  hashInto(key, out, 0);
  return (BigInt(out[1]!) << 32n) | BigInt(out[0]!);
}
