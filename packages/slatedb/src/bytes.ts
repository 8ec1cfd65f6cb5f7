/** Byte helpers shared by the SST and manifest codecs. SlateDB orders keys bytewise. */

/** Bytewise comparison: negative, zero or positive like `Array.prototype.sort` expects. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Compares `a` with the first `bLen` bytes of `b` (a reusable key buffer). */
export function compareBytesPrefix(a: Uint8Array, b: Uint8Array, bLen: number): number {
  const n = Math.min(a.length, bLen);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - bLen;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Length of the common prefix of `a` and `b`. */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** True when `key` starts with `prefix`. */
export function hasPrefix(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/**
 * The smallest key greater than every key that starts with `prefix`, or `undefined` when there is
 * none (the prefix is empty or all 0xff).
 */
export function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const out = prefix.slice(0, end);
  out[end - 1]! += 1;
  return out;
}

/** Short printable form of a key for error messages: hex, cut after 32 bytes. */
export function describeKey(key: Uint8Array): string {
  const shown = key.subarray(0, 32);
  let hex = "";
  for (const b of shown) hex += b.toString(16).padStart(2, "0");
  return key.length > 32 ? `0x${hex}... (${key.length} bytes)` : `0x${hex}`;
}

/**
 * A growable byte buffer with big-endian writers (SlateDB's row and footer layouts are BE).
 * `subarray()` views stay valid only until the next write.
 */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initialCapacity = 4096) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.length, v);
    this.length += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v);
    this.length += 4;
  }

  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.length, v);
    this.length += 8;
  }

  /** u64 from a non-negative safe integer, without a BigInt allocation. */
  u64n(v: number): void {
    this.ensure(8);
    this.view.setUint32(this.length, Math.floor(v / 0x1_0000_0000));
    this.view.setUint32(this.length + 4, v >>> 0);
    this.length += 8;
  }

  i64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.length, v);
    this.length += 8;
  }

  /** LEB128 varint of a u32. */
  varint(v: number): void {
    this.ensure(5);
    let x = v >>> 0;
    while (x >= 0x80) {
      this.buf[this.length++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.length++] = x;
  }

  bytes(b: Uint8Array): void {
    this.bytesFrom(b, 0, b.length);
  }

  /** Appends `src[start..end)`; short runs are copied by hand (cheaper than `set` + `subarray`). */
  bytesFrom(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    const buf = this.buf;
    let at = this.length;
    if (n <= 16) {
      for (let i = start; i < end; i++) buf[at++] = src[i]!;
    } else {
      buf.set(start === 0 && end === src.length ? src : src.subarray(start, end), at);
    }
    this.length += n;
  }

  /** Hands over the written bytes without copying and starts a fresh buffer of the same capacity. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.length);
    this.buf = new Uint8Array(this.buf.length);
    this.view = new DataView(this.buf.buffer);
    this.length = 0;
    return out;
  }

  /** View of the written bytes (no copy). */
  subarray(start = 0, end = this.length): Uint8Array {
    return this.buf.subarray(start, end);
  }

  /** Copy of the written bytes. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}

export function varintLength(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x20_0000) return 3;
  if (v < 0x1000_0000) return 4;
  return 5;
}
