/**
 * Reading and moving `_CURRENT`. Moving is a compare-and-swap against the pointer the caller saw
 * (ETag `If-Match`, or `If-None-Match: *` when there was none), so two builds racing on one prefix
 * cannot silently overwrite each other (reference weakness 5). A put whose response was lost is
 * recognised by re-reading the pointer and comparing bytes: it is reported as success, never
 * written twice and never mistaken for a lost race.
 */
import {
  ConfigValidationError,
  ManifestParseError,
  PreconditionFailedError,
  PublishCurrentError,
} from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import { CURRENT_CONTENT_TYPE, type CurrentPointer } from "../manifest/types.ts";
import { type ConditionalPutResult, sameBytes } from "./conditional-put.ts";
import { currentPointerKeyFor, parseCurrentBytes } from "./formats.ts";
import { describeError } from "./logger.ts";
import {
  backoffDelayMs,
  isTransientStoreError,
  type RetryPolicy,
  resolveRetryPolicy,
  sleepFor,
} from "./retry.ts";

/** `_CURRENT` as it is now: its ETag (for CAS), raw bytes and parsed pointer. */
export interface CurrentState {
  key: string;
  etag: string;
  bytes: Uint8Array;
  /** `null` when the object exists but does not parse; `parseError` says why. */
  pointer: CurrentPointer | null;
  parseError?: ManifestParseError;
}

export interface CurrentLocation {
  store: ObjectStore;
  /** Store-relative snapshot prefix (`some/prefix`); `""` for the store root. */
  prefix: string;
  /** Pointer object name under the prefix; `_CURRENT` by default. */
  currentPointerKey?: string;
}

export type PublishMode = "cas" | "last-writer-wins";

/**
 * Reads `_CURRENT` (retrying transient failures). Returns `null` when there is no pointer. A
 * pointer that does not parse is returned with `pointer: null` so a publish can still replace it.
 */
export async function readCurrentState(
  location: CurrentLocation,
  options: { retry?: Partial<RetryPolicy>; signal?: AbortSignal } = {},
): Promise<CurrentState | null> {
  const key = currentPointerKeyFor(location.prefix, location.currentPointerKey);
  const policy = resolveRetryPolicy(options.retry);
  const got = await withTransientRetry(policy, options.signal, () =>
    location.store.get(key, { signal: options.signal }),
  );
  if (got === undefined) return null;
  try {
    return { key, etag: got.etag, bytes: got.body, pointer: parseCurrentBytes(got.body) };
  } catch (err) {
    const parseError =
      err instanceof ManifestParseError
        ? err
        : new ManifestParseError(`_CURRENT at ${key} does not parse: ${describeError(err)}`, { cause: err });
    return { key, etag: got.etag, bytes: got.body, pointer: null, parseError };
  }
}

/** Runs `op`, retrying transient errors with backoff; the last error is rethrown. */
export async function withTransientRetry<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  op: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt >= policy.maxAttempts || !isTransientStoreError(err) || signal?.aborted) throw err;
      await sleepFor(policy, backoffDelayMs(policy, attempt), signal);
    }
  }
}

export interface MovePointerOptions extends CurrentLocation {
  /** Serialized pointer to write. */
  pointerBytes: Uint8Array;
  /** The manifest the pointer names (carried by `PublishCurrentError`). */
  manifestRef: string;
  /** The pointer state the move is based on; `null` means "there was no `_CURRENT`". */
  expected: CurrentState | null;
  mode: PublishMode;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
}

export type MovePointerResult = ConditionalPutResult;

function describePointer(state: CurrentState | null): string {
  if (state === null) return "no _CURRENT";
  if (state.pointer === null) return `an unparseable _CURRENT (etag ${state.etag})`;
  return `${state.pointer.manifestRef} (run ${state.pointer.runId}, etag ${state.etag})`;
}

/** Moves `_CURRENT` to `pointerBytes`, CAS or last-writer-wins; see the module comment. */
export async function movePointer(options: MovePointerOptions): Promise<MovePointerResult> {
  const { store, pointerBytes, manifestRef, expected, mode, signal } = options;
  const key = currentPointerKeyFor(options.prefix, options.currentPointerKey);
  const policy = resolveRetryPolicy(options.retry);
  if (mode === "cas" && !store.capabilities.conditionalPut) {
    throw new ConfigValidationError(
      `store ${store.baseUrl} cannot do conditional puts, so _CURRENT cannot be moved with compare-and-swap; ` +
        `use a store with conditional writes or pass mode: "last-writer-wins"`,
      { field: "mode" },
    );
  }

  const lostRace = (now: CurrentState | null): PublishCurrentError =>
    new PublishCurrentError(
      `Lost the race for ${key}: it moved from ${describePointer(expected)} to ${describePointer(now)} ` +
        `while this build ran. The manifest ${manifestRef} is uploaded but not current; ` +
        `re-read _CURRENT and retry the pointer, or roll forward to it`,
      { manifestRef },
    );

  // Re-reads the pointer after an ambiguous failure; `undefined` when that read failed too.
  const reread = async (): Promise<CurrentState | null | undefined> => {
    try {
      return await readCurrentState(options, { retry: { ...policy, maxAttempts: 1 }, signal });
    } catch {
      return undefined;
    }
  };

  let lastError: unknown;
  let puts = 0;
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    if (attempt > 1) await sleepFor(policy, backoffDelayMs(policy, attempt - 1), signal);
    const conditions =
      mode === "last-writer-wins"
        ? {}
        : expected === null
          ? { ifNoneMatch: "*" as const }
          : { ifMatch: expected.etag };
    try {
      puts++;
      const put = await store.put(key, pointerBytes, {
        contentType: CURRENT_CONTENT_TYPE,
        signal,
        ...conditions,
      });
      return { etag: put.etag, recoveredLostResponse: false, puts };
    } catch (err) {
      lastError = err;
      if (signal?.aborted) throw err;
      const preconditionFailed = err instanceof PreconditionFailedError;
      if (!preconditionFailed && !isTransientStoreError(err)) {
        throw new PublishCurrentError(
          `Writing ${key} failed (${describeError(err)}); the manifest ${manifestRef} is uploaded but not ` +
            `current. Fix the store error, then retry the pointer or roll forward to the manifest`,
          { manifestRef, cause: err },
        );
      }
      const now = await reread();
      if (now !== undefined && now !== null && sameBytes(now.bytes, pointerBytes)) {
        // Our earlier put landed; only its response was lost.
        return { etag: now.etag, recoveredLostResponse: true, puts };
      }
      if (mode === "cas" && now !== undefined) {
        const unchanged = expected === null ? now === null : now !== null && now.etag === expected.etag;
        if (!unchanged) throw lostRace(now);
      }
      if (preconditionFailed && now === undefined) {
      }
    }
  }
  throw new PublishCurrentError(
    `Gave up moving ${key} after ${policy.maxAttempts} attempts (last error: ${describeError(lastError)}); ` +
      `the manifest ${manifestRef} is uploaded but not current. Retry the pointer or roll forward to it`,
    { manifestRef, cause: lastError },
  );
}
