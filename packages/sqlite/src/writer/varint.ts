/** SQLite's big-endian varints (https://sqlite.org/fileformat.html#varint), for values below 2^53. */

/** Bytes `putVarint` writes for `v`. */
export function varintLength(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  while (n < 8 && v >= 2 ** (7 * n)) n++;
  return v >= 2 ** 56 ? 9 : n;
}

/** Writes `v` at `at`; returns the offset after it. */
export function putVarint(b: Uint8Array, at: number, v: number): number {
  if (v < 0x80) {
    b[at] = v;
    return at + 1;
  }
  if (v < 0x4000) {
    b[at] = 0x80 | (v >>> 7);
    b[at + 1] = v & 0x7f;
    return at + 2;
  }
  const n = varintLength(v);
  if (n === 9) {
    // Eight 7-bit groups, then a full last byte.
    b[at + 8] = v % 256;
    let rest = Math.floor(v / 256);
    for (let i = 7; i >= 0; i--) {
      b[at + i] = 0x80 | (rest % 128);
      rest = Math.floor(rest / 128);
    }
    return at + 9;
  }
  let rest = v;
  for (let i = n - 1; i >= 0; i--) {
    b[at + i] = (rest % 128) | (i === n - 1 ? 0 : 0x80);
    rest = Math.floor(rest / 128);
  }
  return at + n;
}
