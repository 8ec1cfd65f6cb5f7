/**
 * JSON for program output (CLI records, HTTP bodies). Like `JSON.stringify` (non-ASCII kept as
 * is, the reference CLI's `ensure_ascii=False`), plus: bigints as exact integer literals (u64 keys
 * exceed 2^53), Dates as ISO-8601 UTC, byte arrays as base64; `undefined` members are left out.
 * Web-standard only, so edge workers can use it.
 */

type WithToBase64 = Uint8Array & { toBase64?: () => string };

export function bytesToBase64(bytes: Uint8Array): string {
  // Native where the runtime has it (Uint8Array.prototype.toBase64, TC39 stage 3).
  const native = (bytes as WithToBase64).toBase64;
  if (typeof native === "function") return native.call(bytes);
  let binary = "";
  // Chunked so large values do not overflow the argument list of fromCharCode.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function toJson(value: unknown, indent = 0): string {
  return write(value, indent, "");
}

function write(value: unknown, indent: number, pad: string): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "null";
  if (typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (value instanceof Uint8Array) return JSON.stringify(bytesToBase64(value));
  const inner = indent > 0 ? pad + " ".repeat(indent) : "";
  const nl = indent > 0 ? "\n" : "";
  const sep = indent > 0 ? ": " : ":";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items = value.map((v) => inner + write(v, indent, inner));
    return `[${nl}${items.join(`,${nl}`)}${nl}${pad}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "{}";
  const items = entries.map(([k, v]) => `${inner}${JSON.stringify(k)}${sep}${write(v, indent, inner)}`);
  return `{${nl}${items.join(`,${nl}`)}${nl}${pad}}`;
}
