/** The 100-byte SQLite database header (https://sqlite.org/fileformat.html#the_database_header). */
import { SqliteAdapterError } from "@shardy/errors";

export const SQLITE_MAGIC = "SQLite format 3\u0000";
export const MIN_PAGE_SIZE = 512;
export const MAX_PAGE_SIZE = 65536;

export interface DbHeader {
  pageSize: number;
  /** Bytes reserved at the end of each page (encryption, checksums); the sidecar needs 0. */
  reservedBytes: number;
  changeCounter: number;
  /** Page count from the header, or `undefined` when the header's count is not valid. */
  pageCount: number | undefined;
}

export function isPowerOfTwoPageSize(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_PAGE_SIZE && n <= MAX_PAGE_SIZE && (n & (n - 1)) === 0;
}

/** Parses the header; `what` names the file in errors. */
export function parseDbHeader(bytes: Uint8Array, what: string): DbHeader {
  if (bytes.length < 100) {
    throw new SqliteAdapterError(
      `${what}: ${bytes.length} bytes is too short for a SQLite header (100 bytes)`,
    );
  }
  for (let i = 0; i < 16; i++) {
    if (bytes[i] !== SQLITE_MAGIC.charCodeAt(i)) {
      throw new SqliteAdapterError(`${what}: not a SQLite database (magic "SQLite format 3\\0" missing)`);
    }
  }
  const raw = (bytes[16]! << 8) | bytes[17]!;
  const pageSize = raw === 1 ? 65536 : raw;
  if (!isPowerOfTwoPageSize(pageSize)) {
    throw new SqliteAdapterError(
      `${what}: header page size ${pageSize} is not a power of two in [512, 65536]`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const changeCounter = view.getUint32(24);
  const inHeaderCount = view.getUint32(28);
  const validFor = view.getUint32(92);
  // The in-header size is trusted only when written by a SQLite that maintains it (3.7.0+).
  const pageCount = inHeaderCount > 0 && validFor === changeCounter ? inHeaderCount : undefined;
  return { pageSize, reservedBytes: bytes[20]!, changeCounter, pageCount };
}
