/**
 * The two datetime spellings of the reference format, and a lenient ISO-8601 reader:
 * - pydantic v2 (`model_dump(mode="json")`): `2026-04-20T15:23:01.123456Z`, and
 *   `2026-01-02T03:04:05Z` when the microsecond is 0 (manifest `created_at`, `_CURRENT`).
 * - `strftime("%Y-%m-%dT%H:%M:%S.%fZ")`: always 6 fractional digits (manifest and run-record keys).
 */
import { PreciseDate, toEpochMicros } from "./precise-date.ts";

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  micros: number;
}

function utcFields(date: Date): Fields {
  const us = toEpochMicros(date);
  const ms = Number(us >= 0n ? us / 1000n : (us - 999n) / 1000n);
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) throw new RangeError(`year ${year} is outside 1..9999: ${d.toISOString()}`);
  return {
    year,
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    micros: Number(us - BigInt(ms) * 1000n) + d.getUTCMilliseconds() * 1000,
  };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function base(f: Fields): string {
  return `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}T${pad(f.hour, 2)}:${pad(f.minute, 2)}:${pad(f.second, 2)}`;
}

/** pydantic's JSON form of an aware UTC datetime: fraction only when microseconds are non-zero. */
export function formatPydanticDatetime(date: Date): string {
  const f = utcFields(date);
  return f.micros === 0 ? `${base(f)}Z` : `${base(f)}.${pad(f.micros, 6)}Z`;
}

/** `strftime("%Y-%m-%dT%H:%M:%S.%fZ")` in UTC: the timestamp in manifest and run-record keys. */
export function formatKeyTimestamp(date: Date): string {
  const f = utcFields(date);
  return `${base(f)}.${pad(f.micros, 6)}Z`;
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/**
 * Any ISO-8601 datetime pydantic accepts in practice: date only, minutes, seconds, any fraction
 * (truncated to microseconds), `Z` or `±HH[:MM]` offsets; a naive value is taken as UTC.
 * Throws `RangeError` naming the text when it is not a valid datetime.
 */
export function parseIsoDatetime(text: string): PreciseDate {
  const m = ISO_RE.exec(text);
  if (!m) throw new RangeError(`not an ISO-8601 datetime: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac, , offSign, offH, offM] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const offsetMinutes = offSign ? (offSign === "-" ? -1 : 1) * (Number(offH) * 60 + Number(offM ?? 0)) : 0;
  const valid =
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    (offH === undefined || Number(offH) <= 23) &&
    (offM === undefined || Number(offM) <= 59);
  if (!valid) throw new RangeError(`datetime field out of range: ${JSON.stringify(text)}`);
  const micros = frac ? Number(frac.slice(0, 6).padEnd(6, "0")) : 0;
  const probe = new Date(0);
  probe.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years 1..99 literal
  probe.setUTCHours(hour, minute - offsetMinutes, second, 0);
  return new PreciseDate(BigInt(probe.getTime()) * 1000n + BigInt(micros));
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const KEY_TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * Reads a key timestamp (`strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")`, UTC): exactly six fractional
 * digits and a `Z`. Throws `RangeError` naming the text otherwise.
 */
export function parseKeyTimestamp(text: string): PreciseDate {
  if (!KEY_TIMESTAMP_RE.test(text)) {
    throw new RangeError(
      `not a key timestamp (expected YYYY-MM-DDTHH:MM:SS.ffffffZ): ${JSON.stringify(text)}`,
    );
  }
  return parseIsoDatetime(text);
}
