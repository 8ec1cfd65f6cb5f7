/**
 * Reader cold start (reference §3.5): follow `_CURRENT`; if its manifest is missing or malformed,
 * walk history newest to oldest and take the first manifest that parses. One deliberate tightening:
 * manifests published after the current one are never candidates, because with validate-before-flip
 * and compare-and-swap a newer manifest may be one that was refused or lost its race.
 */
import { ManifestParseError, ReaderStateError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import type { CurrentPointer, Manifest } from "../manifest/types.ts";
import { describeError } from "../publish/logger.ts";
import { listManifests, manifestDirOf } from "./list-manifests.ts";
import { loadCurrent, loadManifest } from "./load.ts";

export interface NewestValidManifest {
  ref: string;
  manifest: Manifest;
  /** The pointer that was followed. */
  pointer: CurrentPointer;
  /** True when the current manifest was unusable and an older one was taken. */
  fellBack: boolean;
  /** Refs tried and rejected, in order, with the reason. */
  skipped: { ref: string; error: string }[];
}

export async function loadNewestValidManifest(options: {
  store: ObjectStore;
  prefix: string;
  /** How many older manifests to try after the current one fails (default 3; 0 disables fallback). */
  maxFallbackAttempts?: number;
  currentPointerKey?: string;
  signal?: AbortSignal;
}): Promise<NewestValidManifest> {
  const { store, prefix, signal } = options;
  const maxFallbackAttempts = options.maxFallbackAttempts ?? 3;
  const pointer = await loadCurrent(
    { store, prefix, currentPointerKey: options.currentPointerKey },
    { signal },
  );
  if (pointer === null) {
    throw new ReaderStateError(
      `CURRENT pointer not found under ${prefix || "the store root"} of ${store.baseUrl}; ` +
        "publish a snapshot first or check the prefix",
    );
  }
  try {
    const manifest = await loadManifest(store, pointer.manifestRef, { signal });
    return { ref: pointer.manifestRef, manifest, pointer, fellBack: false, skipped: [] };
  } catch (err) {
    if (!(err instanceof ManifestParseError) || maxFallbackAttempts <= 0) throw err;
    const skipped = [{ ref: pointer.manifestRef, error: describeError(err) }];
    const currentTs = manifestDirOf(pointer.manifestRef)?.timestamp;
    const history = await listManifests(store, prefix, Number.POSITIVE_INFINITY, { signal });
    const candidates = history
      .filter((m) => m.ref !== pointer.manifestRef && (currentTs === undefined || m.timestamp <= currentTs))
      .slice(0, maxFallbackAttempts);
    for (const candidate of candidates) {
      try {
        const manifest = await loadManifest(store, candidate.ref, { signal });
        return { ref: candidate.ref, manifest, pointer, fellBack: true, skipped };
      } catch (candidateErr) {
        if (!(candidateErr instanceof ManifestParseError)) throw candidateErr;
        skipped.push({ ref: candidate.ref, error: describeError(candidateErr) });
      }
    }
    throw new ReaderStateError(
      `No valid manifest found after fallback: _CURRENT names ${pointer.manifestRef}, which failed ` +
        `(${skipped[0]?.error}), and ${candidates.length} older manifest(s) failed too. ` +
        "Publish a new snapshot or roll back to a valid ref",
      { cause: err },
    );
  }
}
