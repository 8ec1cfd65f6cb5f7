import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  formatKeyTimestamp,
  formatPydanticDatetime,
  fromEpochMicros,
  PreciseDate,
  parseIsoDatetime,
  parseKeyTimestamp,
  toEpochMicros,
  utcNow,
} from "../src/index.ts";
import { runPythonCode } from "./helpers/python.ts";

describe("datetime formats", () => {
  test("pydantic form keeps microseconds and omits a zero fraction", () => {
    expect(formatPydanticDatetime(parseIsoDatetime("2026-04-20T15:23:01.123456Z"))).toBe(
      "2026-04-20T15:23:01.123456Z",
    );
    expect(formatPydanticDatetime(parseIsoDatetime("2026-01-02T03:04:05Z"))).toBe("2026-01-02T03:04:05Z");
    expect(formatPydanticDatetime(parseIsoDatetime("2026-01-02T03:04:05.12Z"))).toBe(
      "2026-01-02T03:04:05.120000Z",
    );
    expect(formatPydanticDatetime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 7)))).toBe(
      "2026-01-02T03:04:05.007000Z",
    );
  });

  test("key form always has six digits", () => {
    expect(formatKeyTimestamp(parseIsoDatetime("2026-01-02T03:04:05Z"))).toBe("2026-01-02T03:04:05.000000Z");
    expect(formatKeyTimestamp(parseIsoDatetime("2026-04-20T15:23:01.123456Z"))).toBe(
      "2026-04-20T15:23:01.123456Z",
    );
  });

  test("ISO parsing: offsets, naive = UTC, date only, space separator, long fractions truncate", () => {
    const micros = (s: string) => toEpochMicros(parseIsoDatetime(s));
    const base = micros("2026-04-20T15:23:01.123456Z");
    expect(micros("2026-04-20T17:23:01.123456+02:00")).toBe(base);
    expect(micros("2026-04-20T10:53:01.123456-0430")).toBe(base);
    expect(micros("2026-04-20 15:23:01.123456")).toBe(base);
    expect(micros("2026-04-20T15:23:01.123456789Z")).toBe(base);
    expect(micros("2026-04-20T15:23:01.123456+00")).toBe(base);
    expect(micros("2026-04-20")).toBe(micros("2026-04-20T00:00:00Z"));
    expect(micros("0001-01-01T00:00:00Z")).toBe(-62135596800000000n);
  });

  test("invalid datetimes are rejected with the text in the message", () => {
    for (const bad of [
      "2026-13-01T00:00:00Z",
      "2026-02-30",
      "2026-04-20T24:00:00Z",
      "yesterday",
      "2026-04-20T10:00:00+25:00",
      "",
    ]) {
      expect(() => parseIsoDatetime(bad)).toThrow(JSON.stringify(bad));
    }
    expect(() => parseKeyTimestamp("2026-04-20T15:23:01Z")).toThrow("key timestamp");
    expect(parseKeyTimestamp("2026-04-20T15:23:01.000001Z").subMillisecondMicros).toBe(1);
  });

  test("PreciseDate is a Date that remembers microseconds; utcNow is near Date.now", () => {
    const d = fromEpochMicros(1_700_000_000_123_456n);
    expect(d).toBeInstanceOf(Date);
    expect(d.getTime()).toBe(1_700_000_000_123);
    expect(d.epochMicros).toBe(1_700_000_000_123_456n);
    expect(new PreciseDate(-1n).epochMicros).toBe(-1n);
    const now = utcNow();
    expect(Math.abs(now.getTime() - Date.now())).toBeLessThan(60_000);
  });

  test("matches Python (pydantic-style isoformat and strftime) for generated instants", () => {
    const seed = Number(process.env.SHARDY_TEST_SEED ?? Date.now() % 2 ** 31);
    const instants = fc.sample(
      fc.oneof(
        fc.bigInt({ min: -62135596800000000n, max: 253402300799999999n }),
        fc.bigInt({ min: 0n, max: 4102444800n }).map((s) => s * 1_000_000n), // whole seconds
      ),
      { numRuns: 200, seed },
    );
    const out = runPythonCode(
      `import sys
from datetime import datetime, timedelta, timezone
E = datetime(1970, 1, 1, tzinfo=timezone.utc)
for line in sys.stdin:
    d = E + timedelta(microseconds=int(line))
    iso = d.isoformat().replace("+00:00", "Z")
    print(iso, d.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))`,
      instants.join("\n"),
    )
      .trim()
      .split("\n");
    instants.forEach((us, i) => {
      const [iso, key] = (out[i] ?? "").split(" ");
      const d = fromEpochMicros(us);
      expect(formatPydanticDatetime(d), `seed ${seed} ${us}`).toBe(iso!);
      // Python %Y does not zero-pad years < 1000 on glibc; keys are only written for real "now" times.
      if (d.getUTCFullYear() >= 1000) expect(formatKeyTimestamp(d), `seed ${seed} ${us}`).toBe(key!);
      expect(toEpochMicros(parseIsoDatetime(iso!))).toBe(us);
    });
  });
});
