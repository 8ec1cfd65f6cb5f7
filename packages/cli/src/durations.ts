import { UsageError } from "./errors.ts";

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `30m`, `24h`, `7d`, `2w` (or a bare number of seconds) -> milliseconds. */
export function parseDuration(text: string, option: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/i.exec(text);
  if (!m) {
    throw new UsageError(`${option} ${JSON.stringify(text)} is not a duration; use e.g. 90s, 30m, 24h or 7d`);
  }
  return Number(m[1]) * UNITS[(m[2] || "s").toLowerCase()]!;
}

export function parseNonNegativeInt(text: string, option: string): number {
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${option} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}
