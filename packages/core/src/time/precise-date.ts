/**
 * Microsecond timestamps. Python writes `datetime` values with microseconds
 * (`2026-04-20T15:23:01.123456Z`), a JS `Date` holds milliseconds. `PreciseDate` is a `Date`
 * (so every `Date` API keeps working) that also remembers the sub-millisecond microseconds, so a
 * timestamp read from a manifest is written back unchanged. Treat it as immutable: the `Date`
 * setters do not update the extra microseconds.
 */

export class PreciseDate extends Date {
  /** Microseconds below the millisecond, 0..999. */
  readonly subMillisecondMicros: number;

  constructor(epochMicros: bigint) {
    const ms = floorDiv(epochMicros, 1000n);
    super(Number(ms));
    this.subMillisecondMicros = Number(epochMicros - ms * 1000n);
  }

  /** Microseconds since 1970-01-01T00:00:00Z. */
  get epochMicros(): bigint {
    return BigInt(this.getTime()) * 1000n + BigInt(this.subMillisecondMicros);
  }
}

/** Microseconds since the epoch for any `Date` (a plain `Date` has 0 sub-millisecond micros). */
export function toEpochMicros(date: Date): bigint {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError("Invalid Date has no timestamp");
  return date instanceof PreciseDate ? date.epochMicros : BigInt(ms) * 1000n;
}

export function fromEpochMicros(epochMicros: bigint): PreciseDate {
  return new PreciseDate(epochMicros);
}

/**
 * The current UTC time with microseconds where the runtime's clock offers them (like Python's
 * `datetime.now(UTC)`); falls back to milliseconds.
 */
export function utcNow(): PreciseDate {
  // Wall-clock milliseconds from Date (performance.now drifts from the wall clock over long runs);
  // the sub-millisecond part from the high-resolution timer only to tell close events apart.
  const ms = Date.now();
  const perf = globalThis.performance;
  const micros = perf ? Math.floor((perf.now() % 1) * 1000) : 0;
  return new PreciseDate(BigInt(ms) * 1000n + BigInt(micros));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
