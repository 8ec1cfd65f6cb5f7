/**
 * Token bucket for write rate limits (reference `_rate_limiter.py`): capacity = rate, starts full,
 * refills continuously. Unlike the reference (weakness 1: `acquire(n)` with `n > rate` never
 * returns), a request larger than the bucket proceeds in chunks of at most the capacity, so it
 * takes about `n / rate` seconds and always finishes. Waits can be aborted with an `AbortSignal`.
 */
import { abortableSleep } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";

export type LimiterType = "ops" | "bytes";

/** `rate_limiter.throttled`: a caller had to wait. */
export interface ThrottledEvent {
  event: "rate_limiter.throttled";
  limiter_type: LimiterType;
  wait_seconds: number;
}

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: abortableSleep,
};

export interface TokenBucketOptions {
  /** Tokens per second; also the capacity. */
  rate: number;
  limiterType?: LimiterType;
  clock?: Clock;
  onThrottled?: (event: ThrottledEvent) => void;
}

export class TokenBucket {
  readonly rate: number;
  readonly capacity: number;
  readonly limiterType: LimiterType;
  readonly #clock: Clock;
  readonly #onThrottled: ((event: ThrottledEvent) => void) | undefined;
  #tokens: number;
  #last: number;
  // Concurrent acquirers are served in arrival order, so chunks of one request are not interleaved
  // with another's and nobody starves.
  #queue: Promise<void> = Promise.resolve();

  constructor(options: TokenBucketOptions) {
    const { rate } = options;
    if (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0) {
      throw new ConfigValidationError(
        `rate limit must be a positive number per second, got ${String(rate)}; leave it unset for no limit`,
        { field: options.limiterType === "bytes" ? "max_write_bytes_per_second" : "max_writes_per_second" },
      );
    }
    this.rate = rate;
    this.capacity = rate;
    this.limiterType = options.limiterType ?? "ops";
    this.#clock = options.clock ?? systemClock;
    this.#onThrottled = options.onThrottled;
    this.#tokens = this.capacity;
    this.#last = this.#clock.now();
  }

  /** Tokens available right now (after refill). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /**
   * Takes `n` tokens without waiting if they are there. Returns whether it did, and how long the
   * caller would have to wait otherwise (`deficitSeconds`, 0 when acquired). A request above the
   * capacity is never acquired here; `acquire` serves it in chunks.
   */
  tryAcquire(n: number): { acquired: boolean; deficitSeconds: number } {
    checkCount(n);
    this.#refill();
    if (n <= this.#tokens) {
      this.#tokens -= n;
      return { acquired: true, deficitSeconds: 0 };
    }
    return { acquired: false, deficitSeconds: (n - this.#tokens) / this.rate };
  }

  /**
   * Waits until `n` tokens have been taken. Requests above the capacity are split into chunks of
   * at most the capacity, each waiting for its own refill, so they finish in about `n / rate` s.
   */
  acquire(n: number, signal?: AbortSignal): Promise<void> {
    checkCount(n);
    const run = this.#queue.then(() => this.#acquireNow(n, signal));
    // A failed (aborted) acquire must not block the ones queued after it.
    this.#queue = run.catch(() => {});
    return run;
  }

  async #acquireNow(n: number, signal: AbortSignal | undefined): Promise<void> {
    let remaining = n;
    let waited = 0;
    while (remaining > 0) {
      signal?.throwIfAborted();
      const chunk = Math.min(remaining, this.capacity);
      this.#refill();
      if (this.#tokens < chunk) {
        const waitMs = ((chunk - this.#tokens) / this.rate) * 1000;
        waited += waitMs;
        await this.#clock.sleep(waitMs, signal);
        this.#refill();
        // A clock that advanced less than asked (or float rounding) must not make us spin forever:
        // after sleeping for the whole deficit the chunk is due.
        if (this.#tokens < chunk) this.#tokens = chunk;
      }
      this.#tokens -= chunk;
      remaining -= chunk;
    }
    if (waited > 0) {
      this.#onThrottled?.({
        event: "rate_limiter.throttled",
        limiter_type: this.limiterType,
        wait_seconds: waited / 1000,
      });
    }
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#last) / 1000;
    this.#last = now;
    this.#tokens = Math.min(this.capacity, this.#tokens + elapsed * this.rate);
  }
}

function checkCount(n: number): void {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    throw new RangeError(`token count must be a finite number >= 0, got ${String(n)}`);
  }
}

/** The ops and bytes buckets of one writer (either may be absent). */
export interface WriteLimiters {
  ops?: TokenBucket;
  bytes?: TokenBucket;
}

/**
 * Buckets for `rate_limits` config. `share` divides the rates (one writer process of several
 * sharing one budget, e.g. `share = workers`).
 */
export function createWriteLimiters(
  limits: { max_writes_per_second: number | null; max_write_bytes_per_second: number | null },
  options: { share?: number; clock?: Clock; onThrottled?: (event: ThrottledEvent) => void } = {},
): WriteLimiters {
  const share = Math.max(1, options.share ?? 1);
  const limiters: WriteLimiters = {};
  if (limits.max_writes_per_second != null) {
    limiters.ops = new TokenBucket({
      rate: limits.max_writes_per_second / share,
      limiterType: "ops",
      clock: options.clock,
      onThrottled: options.onThrottled,
    });
  }
  if (limits.max_write_bytes_per_second != null) {
    limiters.bytes = new TokenBucket({
      rate: limits.max_write_bytes_per_second / share,
      limiterType: "bytes",
      clock: options.clock,
      onThrottled: options.onThrottled,
    });
  }
  return limiters;
}
