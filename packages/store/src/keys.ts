/**
 * Key rules shared by every driver: validation, S3's listing order, delimiter folding,
 * segment-safe prefixes and range clamping.
 */
import { ConfigValidationError } from "@shardy/errors";
import type { ByteRange, ListResult, ObjectMeta } from "./types.ts";

/** Rejects keys no store can hold: empty, or longer than S3's 1024-byte limit. */
export function assertValidKey(key: string): void {
  if (typeof key !== "string" || key.length === 0) {
    throw new ConfigValidationError(`object key must be a non-empty string, got ${JSON.stringify(key)}`, {
      field: "key",
    });
  }
  if (new TextEncoder().encode(key).length > 1024) {
    throw new ConfigValidationError(
      `object key is longer than 1024 UTF-8 bytes (S3's limit): ${JSON.stringify(key.slice(0, 64))}...; use a shorter key`,
      { field: "key" },
    );
  }
}

/**
 * Orders keys by UTF-8 bytes, as S3 lists them. Comparing code points gives the same order;
 * plain `<` on JS strings compares UTF-16 units and disagrees for characters above U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca - cb;
    if (ca > 0xffff) i++; // skip the low surrogate of an equal pair
  }
  return a.length - b.length;
}

/**
 * Normalises a `deletePrefix` argument to a segment (`a/b/` -> `a/b`). Empty prefixes are
 * refused: deleting the whole store must never be one typo away.
 */
export function normalizeSegmentPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, "");
  if (trimmed.length === 0) {
    throw new ConfigValidationError(
      `deletePrefix needs a non-empty prefix, got ${JSON.stringify(prefix)}; name the directory to delete`,
      { field: "prefix" },
    );
  }
  return trimmed;
}

/** True if `key` is `segment` itself or lies below it (`a/b` matches `a/b`, `a/b/c`, not `a/bc`). */
export function isUnderSegment(key: string, segment: string): boolean {
  return key === segment || key.startsWith(`${segment}/`);
}

/** Folds a sorted object list S3-style: keys with `delimiter` after `prefix` become common prefixes. */
export function foldListing(
  objects: ObjectMeta[],
  prefix: string,
  delimiter: string | undefined,
): ListResult {
  if (!delimiter) return { objects, commonPrefixes: [] };
  const kept: ObjectMeta[] = [];
  const prefixes = new Set<string>();
  for (const meta of objects) {
    const at = meta.key.indexOf(delimiter, prefix.length);
    if (at < 0) kept.push(meta);
    else prefixes.add(meta.key.slice(0, at + delimiter.length));
  }
  return { objects: kept, commonPrefixes: [...prefixes].sort(compareKeys) };
}

/** Clamps `range` to an object of `size` bytes; returns `[start, end)` with `start <= end`. */
export function clampRange(range: ByteRange, size: number): [number, number] {
  assertValidRange(range);
  const start = Math.min(range.start, size);
  const end = Math.max(start, Math.min(range.end, size));
  return [start, end];
}

export function assertValidRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < 0) {
    throw new ConfigValidationError(
      `byte range must be non-negative integers, got start=${start} end=${end}; pass { start, end } with end exclusive`,
      { field: "range" },
    );
  }
}
