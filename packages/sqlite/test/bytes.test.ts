import { describe, expect, test } from "bun:test";
import { copyBytes, WordCopier } from "../src/writer/bytes.ts";
import { patternBytes } from "./helpers.ts";

describe("WordCopier", () => {
  test("copies the same bytes as copyBytes for every alignment, length and view offset", () => {
    const backing = patternBytes(4096, 3);
    const copier = new WordCopier();
    let cases = 0;
    for (const srcView of [0, 1, 4, 6]) {
      // Many sources in turn, as a k-way merge hands them over.
      const sources = [0, 1, 2].map((k) => backing.subarray(srcView + k * 8, 3000));
      for (const dstView of [0, 2, 4]) {
        for (const n of [0, 3, 4, 8, 64, 65, 128, 200]) {
          for (const from of [0, 1, 4, 12]) {
            for (const to of [0, 3, 8]) {
              const src = sources[(from + to + n) % sources.length]!;
              const want = new Uint8Array(600);
              const got = new Uint8Array(600);
              copyBytes(src, from, want.subarray(dstView), to, n);
              copier.copy(src, from, got.subarray(dstView), to, n);
              if (Buffer.compare(want, got) !== 0)
                throw new Error(`mismatch ${srcView}/${dstView}/${n}/${from}/${to}`);
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(4 * 3 * 8 * 4 * 3);
  });
});
