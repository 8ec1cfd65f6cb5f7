import { describe, expect, test } from "bun:test";
import { ConfigValidationError } from "@shardy/errors";
import { type Clock, createWriteLimiters, type ThrottledEvent, TokenBucket } from "../src/index.ts";

/** Virtual time: `sleep` advances the clock instantly, and records what was asked. */
function fakeClock(): Clock & { t: number; sleeps: number[] } {
  const clock = {
    t: 0,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      signal?.throwIfAborted();
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

describe("TokenBucket", () => {
  test("starts full: a request within the capacity does not wait", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ rate: 100, clock });
    await bucket.acquire(100);
    expect(clock.sleeps).toEqual([]);
    expect(bucket.available).toBe(0);
  });

  test("a request larger than the bucket proceeds in chunks instead of hanging (reference weakness 1)", async () => {
    const clock = fakeClock();
    const events: ThrottledEvent[] = [];
    const bucket = new TokenBucket({ rate: 10, clock, onThrottled: (e) => events.push(e) });
    // The reference's acquire(50) with rate 10 never returns; here it takes 4 refills of 1 s.
    await bucket.acquire(50);
    expect(clock.sleeps).toEqual([1000, 1000, 1000, 1000]);
    expect(clock.t).toBe(4000);
    expect(events).toEqual([{ event: "rate_limiter.throttled", limiter_type: "ops", wait_seconds: 4 }]);
  });

  test("refills with elapsed time, capped at the capacity", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ rate: 10, clock });
    await bucket.acquire(10);
    clock.t += 500;
    expect(bucket.available).toBe(5);
    clock.t += 60_000;
    expect(bucket.available).toBe(10);
  });

  test("tryAcquire never waits and reports the deficit", () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ rate: 4, clock });
    expect(bucket.tryAcquire(3)).toEqual({ acquired: true, deficitSeconds: 0 });
    expect(bucket.tryAcquire(3)).toEqual({ acquired: false, deficitSeconds: 0.5 });
    expect(bucket.tryAcquire(9).acquired).toBe(false);
  });

  test("waiters are served in arrival order and an abort rejects only its own wait", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ rate: 1, clock });
    await bucket.acquire(1);
    const order: string[] = [];
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    const a = bucket.acquire(1).then(() => order.push("a"));
    const b = bucket.acquire(1, controller.signal).then(
      () => order.push("b"),
      () => order.push("b aborted"),
    );
    const c = bucket.acquire(1).then(() => order.push("c"));
    await Promise.all([a, b, c]);
    expect(order).toEqual(["a", "b aborted", "c"]);
  });

  test("rates must be positive", () => {
    expect(() => new TokenBucket({ rate: 0 })).toThrow(ConfigValidationError);
    expect(() => new TokenBucket({ rate: Number.NaN, limiterType: "bytes" })).toThrow(
      /max_write_bytes_per_second|positive/,
    );
  });
});

describe("createWriteLimiters", () => {
  test("builds the configured buckets and splits the rate between sharing writers", () => {
    const none = createWriteLimiters({ max_writes_per_second: null, max_write_bytes_per_second: null });
    expect(none.ops).toBeUndefined();
    expect(none.bytes).toBeUndefined();
    const both = createWriteLimiters(
      { max_writes_per_second: 1000, max_write_bytes_per_second: 4096 },
      { share: 4 },
    );
    expect(both.ops!.rate).toBe(250);
    expect(both.bytes!.rate).toBe(1024);
    expect(both.bytes!.limiterType).toBe("bytes");
  });
});
