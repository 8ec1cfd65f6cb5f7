/** SQLite page-size choice (reference-format §6, `sqlite_page_size.py`). */
import { ConfigValidationError } from "@shardy/errors";

export const SUPPORTED_PAGE_SIZES = [4096, 8192, 16384, 32768, 65536] as const;
export type PageSizeOption = (typeof SUPPORTED_PAGE_SIZES)[number] | "auto";
/** The key budget the reference assumes when picking a page size. */
export const DEFAULT_MAX_KEY_BYTES = 64;

/** Largest payload an index b-tree cell keeps on a page of `pageSize` bytes before spilling. */
export function inlinePayloadThreshold(pageSize: number): number {
  return Math.floor(((pageSize - 12) * 64) / 255) - 23;
}

/** Smallest supported page size whose inline threshold holds `p95 + maxKey + 12`, else 65536. */
export function recommendPageSize(p95ValueBytes: number, maxKeyBytes = DEFAULT_MAX_KEY_BYTES): number {
  const need = p95ValueBytes + maxKeyBytes + 12;
  for (const size of SUPPORTED_PAGE_SIZES) if (inlinePayloadThreshold(size) >= need) return size;
  return 65536;
}

/** Nearest-rank p95 as the reference computes it: the value at ascending index `ceil(0.95 n) - 1`. */
export function p95Index(n: number): number {
  return Math.max(0, Math.ceil(0.95 * n) - 1);
}

export function validatePageSize(value: unknown): PageSizeOption {
  if (value === "auto" || SUPPORTED_PAGE_SIZES.includes(value as 4096)) return value as PageSizeOption;
  throw new ConfigValidationError(
    `page_size ${JSON.stringify(value)} is not supported; use one of ${SUPPORTED_PAGE_SIZES.join(", ")} or "auto"`,
    { field: "adapter_factory.page_size" },
  );
}
