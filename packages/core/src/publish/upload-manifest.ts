/**
 * Phase one of the publish: the manifest object, written create-only (`If-None-Match: *`) at a key
 * unique to this run and instant. A put whose response was lost is recognised by reading the key
 * back and comparing bytes, so retries never clobber and never fail a manifest that did land.
 */
import { PreconditionFailedError, PublishManifestError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import { MANIFEST_CONTENT_TYPE } from "../manifest/types.ts";
import { type ConditionalPutResult, sameBytes } from "./conditional-put.ts";
import { describeError } from "./logger.ts";
import { backoffDelayMs, isTransientStoreError, type RetryPolicy, sleepFor } from "./retry.ts";

export type UploadManifestResult = ConditionalPutResult;

export async function uploadManifest(
  store: ObjectStore,
  key: string,
  bytes: Uint8Array,
  policy: RetryPolicy,
  signal?: AbortSignal,
): Promise<UploadManifestResult> {
  const createOnly = store.capabilities.conditionalPut;
  let lastError: unknown;
  let puts = 0;
  let collision = false;

  // After an ambiguous failure: did our bytes land? `undefined` when that cannot be told yet.
  const landed = async (): Promise<{ etag: string } | "other" | undefined> => {
    try {
      const got = await store.get(key, { signal });
      if (got === undefined) return undefined;
      return sameBytes(got.body, bytes) ? { etag: got.etag } : "other";
    } catch {
      return undefined;
    }
  };

  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    if (attempt > 1) {
      await sleepFor(policy, backoffDelayMs(policy, attempt - 1), signal);
      if (!createOnly) {
        // Without create-only puts, look before re-sending so a landed put is not repeated.
        const seen = await landed();
        if (seen === "other") {
          collision = true;
          break;
        }
        if (seen !== undefined) return { etag: seen.etag, recoveredLostResponse: true, puts };
      }
    }
    try {
      puts++;
      const put = await store.put(key, bytes, {
        contentType: MANIFEST_CONTENT_TYPE,
        signal,
        ...(createOnly ? { ifNoneMatch: "*" as const } : {}),
      });
      return { etag: put.etag, recoveredLostResponse: false, puts };
    } catch (err) {
      lastError = err;
      if (signal?.aborted) throw err;
      if (err instanceof PreconditionFailedError) {
        const seen = await landed();
        if (seen === "other") {
          collision = true;
          break;
        }
        if (seen !== undefined) return { etag: seen.etag, recoveredLostResponse: true, puts };
        continue;
      }
      if (!isTransientStoreError(err)) break;
    }
  }
  throw new PublishManifestError(
    collision
      ? `Manifest key ${key} already holds a different object; nothing was published. ` +
          `Two publishes of run ids in the same microsecond collided; publish again`
      : `Uploading the manifest to ${key} failed (${describeError(lastError)}); nothing was published ` +
          `and _CURRENT is unchanged. Fix the store error and publish again`,
    { cause: lastError },
  );
}
