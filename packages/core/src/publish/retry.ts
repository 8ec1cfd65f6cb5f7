/**
 * Bounded exponential backoff for transient store failures during publish. Attempts and delays are
 * finite, so a dead store ends in a typed error rather than a hang; the sleep is injectable so
 * tests run instantly and deterministically.
 */
import { PreconditionFailedError, ShardyError } from "@shardy/errors";

export interface RetryPolicy {
  /** Total tries including the first (>= 1). */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** Waits `ms`; rejects when `signal` aborts. Defaults to a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 200,
  maxDelayMs: 4000,
  multiplier: 2,
};

export function resolveRetryPolicy(policy: Partial<RetryPolicy> | undefined): RetryPolicy {
  const merged = { ...DEFAULT_RETRY_POLICY, ...policy };
  if (!Number.isInteger(merged.maxAttempts) || merged.maxAttempts < 1) {
    throw new RangeError(`retry.maxAttempts must be an integer >= 1, got ${merged.maxAttempts}`);
  }
  return merged;
}

/** Delay before retry number `retry` (1-based). */
export function backoffDelayMs(policy: RetryPolicy, retry: number): number {
  const raw = policy.initialDelayMs * policy.multiplier ** (retry - 1);
  return Math.min(policy.maxDelayMs, Math.max(0, raw));
}

export function sleepFor(policy: RetryPolicy, ms: number, signal?: AbortSignal): Promise<void> {
  if (policy.sleep) return policy.sleep(ms, signal);
  return abortableSleep(ms, signal);
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Whether a failed store call may succeed if repeated. Precondition failures are answers, not
 * faults; shardy errors say so themselves; anything else (a network `TypeError`, a reset socket)
 * is assumed transient, and the attempt bound keeps a real bug from looping.
 */
export function isTransientStoreError(err: unknown): boolean {
  if (err instanceof PreconditionFailedError) return false;
  if (err instanceof ShardyError) return err.retryable;
  if (err instanceof Error && err.name === "AbortError") return false;
  return true;
}
