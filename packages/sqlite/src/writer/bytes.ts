/** Byte copies between arrays at offsets, without a view per call for the short ones. */

/** Copies `n` bytes from `src[from..]` to `dst[to..]`. */
export function copyBytes(src: Uint8Array, from: number, dst: Uint8Array, to: number, n: number): void {
  // A plain loop beats subarray + set (a view allocated per call) for keys and small values.
  if (n <= 128) {
    for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
  } else {
    dst.set(src.subarray(from, from + n), to);
  }
}

/** Most source arrays a `WordCopier` keeps word views of (a k-way merge reads from k buffers). */
const MAX_SOURCES = 32;

/**
 * `copyBytes` that moves 4-byte words when both ends are word aligned (fixed-size values
 * usually are), a quarter of the loop iterations. Keeps word views of the arrays it saw.
 */
export class WordCopier {
  readonly #sources: Uint8Array[] = [];
  readonly #sourceWords: Int32Array[] = [];
  #dst: Uint8Array | undefined;
  #dstWords: Int32Array = new Int32Array(0);

  copy(src: Uint8Array, from: number, dst: Uint8Array, to: number, n: number): void {
    if (n > 128 || ((src.byteOffset + from) | (dst.byteOffset + to) | n) & 3) {
      copyBytes(src, from, dst, to, n);
      return;
    }
    let i = 0;
    const sources = this.#sources;
    while (i < sources.length && sources[i] !== src) i++;
    if (i === sources.length) {
      if (i === MAX_SOURCES) {
        sources.length = 0;
        this.#sourceWords.length = 0;
        i = 0;
      }
      sources.push(src);
      this.#sourceWords.push(wordsOf(src));
    }
    if (dst !== this.#dst) {
      this.#dst = dst;
      this.#dstWords = wordsOf(dst);
    }
    const s = this.#sourceWords[i]!;
    const d = this.#dstWords;
    // Word indices are relative to the views, which start at the aligned-down byte offset.
    const sa = ((src.byteOffset + from) >>> 2) - (src.byteOffset >>> 2);
    const db = ((dst.byteOffset + to) >>> 2) - (dst.byteOffset >>> 2);
    for (let w = 0, words = n >>> 2; w < words; w++) d[db + w] = s[sa + w]!;
  }
}

/** A word view covering `b` from its aligned-down start. */
function wordsOf(b: Uint8Array): Int32Array {
  const start = b.byteOffset & ~3;
  return new Int32Array(b.buffer, start, (b.byteOffset + b.byteLength - start) >>> 2);
}
