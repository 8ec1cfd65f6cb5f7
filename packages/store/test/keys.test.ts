import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { compareKeys, isUnderSegment } from "../src/index.ts";

describe("compareKeys", () => {
  test("orders like S3: by UTF-8 bytes, not UTF-16 units", () => {
    // U+FFFD sorts after U+1F600 in UTF-16 (0xFFFD > 0xD83D) but before it in UTF-8.
    expect(compareKeys("\ufffd", "😀")).toBeLessThan(0);
    expect(compareKeys("a", "a/")).toBeLessThan(0);
    expect(compareKeys("a-1", "a/")).toBeLessThan(0);
    expect(compareKeys("same", "same")).toBe(0);
  });

  test("agrees with byte comparison on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        const bytes = Math.sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
        expect(Math.sign(compareKeys(a, b))).toBe(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("isUnderSegment", () => {
  test("matches the segment and below, never string-prefix siblings", () => {
    expect(isUnderSegment("shards/run_id=run-1", "shards/run_id=run-1")).toBe(true);
    expect(isUnderSegment("shards/run_id=run-1/db=00000/x", "shards/run_id=run-1")).toBe(true);
    expect(isUnderSegment("shards/run_id=run-10/db=00000/x", "shards/run_id=run-1")).toBe(false);
    expect(isUnderSegment("shards/run_id=run-1-b", "shards/run_id=run-1")).toBe(false);
  });
});
