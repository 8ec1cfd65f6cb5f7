/**
 * Which manifest a reader serves: the pinned one (a ref, or a history offset resolved once at
 * open), or the one `_CURRENT` names, falling back to older manifests when it is malformed
 * (reference §3.5, through the core's `loadNewestValidManifest`).
 */
import { loadManifest, loadNewestValidManifest, type Manifest, resolveRollbackTarget } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import type { SnapshotLocation } from "./location.ts";

/** Serve one manifest and never follow `_CURRENT`: a ref, or a history offset (0 = newest). */
export type PinTarget = { ref: string } | { offset: number };

export interface LoadedManifest {
  manifest: Manifest;
  ref: string;
  pointerRef: string | null;
  fellBack: boolean;
  pinned: boolean;
}

export async function resolvePin(location: SnapshotLocation, pin: PinTarget, signal?: AbortSignal) {
  if ("ref" in pin) {
    if (typeof pin.ref !== "string" || pin.ref === "") {
      throw new ConfigValidationError(
        `pinned ref must be a non-empty manifest URL, got ${JSON.stringify(pin.ref)}`,
        {
          field: "ref",
        },
      );
    }
    return pin.ref;
  }
  return resolveRollbackTarget(location.store, location.prefix, { offset: pin.offset }, 100, signal);
}

export async function loadServedManifest(
  location: SnapshotLocation,
  options: { pinnedRef?: string; maxFallbackAttempts: number; signal?: AbortSignal },
): Promise<LoadedManifest> {
  const { signal } = options;
  if (options.pinnedRef !== undefined) {
    const manifest = await loadManifest(location.store, options.pinnedRef, { signal });
    return { manifest, ref: options.pinnedRef, pointerRef: null, fellBack: false, pinned: true };
  }
  const loaded = await loadNewestValidManifest({
    store: location.store,
    prefix: location.prefix,
    currentPointerKey: location.currentPointerKey,
    maxFallbackAttempts: options.maxFallbackAttempts,
    signal,
  });
  return {
    manifest: loaded.manifest,
    ref: loaded.ref,
    pointerRef: loaded.pointer.manifestRef,
    fellBack: loaded.fellBack,
    pinned: false,
  };
}
