/**
 * Two-phase publish: (1) upload the manifest create-only under `manifests/<ts>_run_id=<run>/`,
 * (2) run validate-before-flip checks, (3) move `_CURRENT` to it with compare-and-swap against the
 * pointer seen when the build started. Failure in (1) publishes nothing (`PublishManifestError`);
 * a veto in (2) or a failure/lost race in (3) leaves the old snapshot current and loadable.
 */
import { ConfigValidationError, ManifestBuildError, PublishCheckError, ShardyError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import {
  CURRENT_FORMAT_VERSION,
  type CurrentPointer,
  MANIFEST_CONTENT_TYPE,
  type Manifest,
} from "../manifest/types.ts";
import { checkNameOf, type PublishCheck, type PublishCheckContext } from "./checks.ts";
import { type CurrentState, movePointer, type PublishMode, readCurrentState } from "./current-state.ts";
import {
  buildCurrentBytes,
  buildManifestBytes,
  manifestKeyFor,
  parseManifestBytes,
  utcNow,
} from "./formats.ts";
import { describeError } from "./logger.ts";
import { keyForUrl, urlForKey } from "./refs.ts";
import { type RetryPolicy, resolveRetryPolicy } from "./retry.ts";
import { uploadManifest } from "./upload-manifest.ts";

export interface PublishSnapshotOptions {
  store: ObjectStore;
  /** Store-relative snapshot prefix (`some/prefix`). */
  prefix: string;
  manifest: Manifest;
  /**
   * `_CURRENT` as read (with `readCurrentState`) when the build started; `null` when there was
   * none. Required in `cas` mode: it is what the pointer move is compared against.
   */
  expectedCurrent?: CurrentState | null;
  /** `cas` (default) refuses to overwrite a pointer that moved; `last-writer-wins` matches the reference. */
  mode?: PublishMode;
  checks?: readonly PublishCheck[];
  retry?: Partial<RetryPolicy>;
  currentPointerKey?: string;
  /** Clock for the manifest key and `updated_at` (tests pin it). */
  now?: () => Date;
  signal?: AbortSignal;
}

export interface PublishSnapshotResult {
  manifestRef: string;
  manifestKey: string;
  manifestBytes: number;
  pointer: CurrentPointer;
  /** ETag of the `_CURRENT` this publish wrote (base for the next CAS). */
  currentEtag: string;
  /** The pointer that was replaced. */
  previous: CurrentState | null;
  recoveredLostResponse: { manifest: boolean; current: boolean };
  durations: { buildMs: number; uploadMs: number; checksMs: number; currentMs: number };
}

export async function publishSnapshot(options: PublishSnapshotOptions): Promise<PublishSnapshotResult> {
  const { store, prefix, manifest, signal } = options;
  const mode = options.mode ?? "cas";
  const now = options.now ?? utcNow;
  const policy = resolveRetryPolicy(options.retry);
  if (mode === "cas" && options.expectedCurrent === undefined) {
    throw new ConfigValidationError(
      "publishSnapshot in cas mode needs expectedCurrent: pass `await readCurrentState({ store, prefix })` " +
        'taken when the build started (null when there was no _CURRENT), or use mode: "last-writer-wins"',
      { field: "expectedCurrent" },
    );
  }

  let t = performance.now();
  let bytes: Uint8Array;
  try {
    bytes = await buildManifestBytes(manifest);
  } catch (err) {
    if (err instanceof ShardyError) throw err;
    throw new ManifestBuildError(
      `Building the manifest for run ${manifest.build.runId} failed: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
  const buildMs = performance.now() - t;

  t = performance.now();
  const manifestKey = manifestKeyFor(prefix, manifest.build.runId, now());
  const manifestRef = urlForKey(store, manifestKey);
  const upload = await uploadManifest(store, manifestKey, bytes, policy, signal);
  const uploadMs = performance.now() - t;

  t = performance.now();
  const previous =
    mode === "cas"
      ? (options.expectedCurrent ?? null)
      : await readCurrentState(
          { store, prefix, currentPointerKey: options.currentPointerKey },
          { retry: policy, signal },
        );
  await runChecks(options.checks ?? [], {
    store,
    prefix,
    manifest,
    manifestRef,
    current: previous,
    loadCurrentManifest: cachedManifestLoader(store, previous, signal),
    signal,
  });
  const checksMs = performance.now() - t;

  t = performance.now();
  const pointer: CurrentPointer = {
    manifestRef,
    manifestContentType: MANIFEST_CONTENT_TYPE,
    runId: manifest.build.runId,
    updatedAt: now(),
    formatVersion: CURRENT_FORMAT_VERSION,
  };
  const moved = await movePointer({
    store,
    prefix,
    currentPointerKey: options.currentPointerKey,
    pointerBytes: buildCurrentBytes(pointer),
    manifestRef,
    expected: previous,
    mode,
    retry: policy,
    signal,
  });
  const currentMs = performance.now() - t;

  return {
    manifestRef,
    manifestKey,
    manifestBytes: bytes.length,
    pointer,
    currentEtag: moved.etag,
    previous,
    recoveredLostResponse: { manifest: upload.recoveredLostResponse, current: moved.recoveredLostResponse },
    durations: { buildMs, uploadMs, checksMs, currentMs },
  };
}

async function runChecks(checks: readonly PublishCheck[], ctx: PublishCheckContext): Promise<void> {
  for (const [index, check] of checks.entries()) {
    const name = checkNameOf(check, index);
    try {
      await check(ctx);
    } catch (err) {
      if (err instanceof PublishCheckError) throw err;
      throw new PublishCheckError(
        `check ${name} failed: ${describeError(err)}; _CURRENT was left unchanged and ${ctx.manifestRef} ` +
          "is uploaded but not current",
        { check: name, manifestRef: ctx.manifestRef, cause: err },
      );
    }
  }
}

function cachedManifestLoader(
  store: ObjectStore,
  current: CurrentState | null,
  signal: AbortSignal | undefined,
): () => Promise<Manifest | null> {
  let loaded: Promise<Manifest | null> | undefined;
  return () => {
    loaded ??= (async () => {
      if (current?.pointer == null) return null;
      try {
        const got = await store.get(keyForUrl(store, current.pointer.manifestRef), { signal });
        return got === undefined ? null : await parseManifestBytes(got.body);
      } catch {
        return null;
      }
    })();
    return loaded;
  };
}
