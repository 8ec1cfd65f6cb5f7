/**
 * Rollback = moving `_CURRENT` back to an older manifest. Unlike the reference (weakness 5) the
 * target must exist and parse before the pointer moves, and the move is a compare-and-swap, so a
 * rollback never points readers at nothing and never overwrites a publish it did not see.
 */
import { ConfigValidationError, ManifestNotFoundError, ManifestParseError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import { CURRENT_FORMAT_VERSION, type CurrentPointer, MANIFEST_CONTENT_TYPE } from "../manifest/types.ts";
import {
  type CurrentState,
  movePointer,
  type PublishMode,
  readCurrentState,
} from "../publish/current-state.ts";
import { buildCurrentBytes, utcNow } from "../publish/formats.ts";
import type { RetryPolicy } from "../publish/retry.ts";
import { listManifests } from "./list-manifests.ts";
import { loadManifest } from "./load.ts";

/** Exactly one of: a manifest ref, the newest manifest of a run, or a history offset (0 = newest). */
export type RollbackTarget = { ref: string } | { runId: string } | { offset: number };

export interface RollbackOptions {
  store: ObjectStore;
  prefix: string;
  target: RollbackTarget;
  /** The pointer the rollback is based on; read now when omitted. */
  expectedCurrent?: CurrentState | null;
  mode?: PublishMode;
  /** How many newest manifests a `runId` target searches (reference: 100). */
  searchLimit?: number;
  currentPointerKey?: string;
  retry?: Partial<RetryPolicy>;
  now?: () => Date;
  signal?: AbortSignal;
}

export interface RollbackResult {
  manifestRef: string;
  runId: string;
  pointer: CurrentPointer;
  previous: CurrentState | null;
  /** False when `_CURRENT` already named the target (nothing was written). */
  changed: boolean;
  currentEtag: string | null;
}

/** Resolves a rollback target to a manifest ref (without loading it). */
export async function resolveRollbackTarget(
  store: ObjectStore,
  prefix: string,
  target: RollbackTarget,
  searchLimit = 100,
  signal?: AbortSignal,
): Promise<string> {
  const given = Object.keys(target).filter((k) => k === "ref" || k === "runId" || k === "offset");
  if (given.length !== 1) {
    throw new ConfigValidationError(
      `rollback needs exactly one of ref, runId or offset, got ${given.length ? given.join(", ") : "none"}`,
      { field: "target" },
    );
  }
  if ("ref" in target) return target.ref;
  if ("runId" in target) {
    const listed = await listManifests(store, prefix, searchLimit, { signal });
    const match = listed.find((m) => m.runId === target.runId);
    if (!match) {
      throw new ConfigValidationError(
        `No manifest for run ${JSON.stringify(target.runId)} among the newest ${searchLimit} manifests ` +
          `under ${prefix || "the store root"}; check the run id with listManifests()`,
        { field: "target.runId" },
      );
    }
    return match.ref;
  }
  const { offset } = target;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new ConfigValidationError(`rollback offset must be an integer >= 0 (0 = newest), got ${offset}`, {
      field: "target.offset",
    });
  }
  const listed = await listManifests(store, prefix, offset + 1, { signal });
  const match = listed[offset];
  if (!match) {
    throw new ConfigValidationError(
      `rollback offset ${offset} is past the end of history (${listed.length} manifests); ` +
        `use an offset below ${listed.length}`,
      { field: "target.offset" },
    );
  }
  return match.ref;
}

export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  const { store, prefix, signal } = options;
  const now = options.now ?? utcNow;
  const ref = await resolveRollbackTarget(store, prefix, options.target, options.searchLimit, signal);

  let runId: string;
  try {
    runId = (await loadManifest(store, ref, { signal })).build.runId;
  } catch (err) {
    if (err instanceof ManifestNotFoundError) {
      throw new ManifestNotFoundError(`Refusing to roll back: ${err.message}`, { ref, cause: err });
    }
    if (err instanceof ManifestParseError) {
      throw new ManifestParseError(
        `Refusing to roll back to ${ref}: it is not a valid manifest (${err.message}); ` +
          "pick another ref from listManifests()",
        { cause: err },
      );
    }
    throw err;
  }

  const location = { store, prefix, currentPointerKey: options.currentPointerKey };
  const previous =
    options.expectedCurrent !== undefined
      ? options.expectedCurrent
      : await readCurrentState(location, { retry: options.retry, signal });
  const pointer: CurrentPointer = {
    manifestRef: ref,
    manifestContentType: MANIFEST_CONTENT_TYPE,
    runId,
    updatedAt: now(),
    formatVersion: CURRENT_FORMAT_VERSION,
  };
  if (previous?.pointer?.manifestRef === ref) {
    return {
      manifestRef: ref,
      runId,
      pointer: previous.pointer,
      previous,
      changed: false,
      currentEtag: previous.etag,
    };
  }
  const moved = await movePointer({
    ...location,
    pointerBytes: buildCurrentBytes(pointer),
    manifestRef: ref,
    expected: previous,
    mode: options.mode ?? "cas",
    retry: options.retry,
    signal,
  });
  return { manifestRef: ref, runId, pointer, previous, changed: true, currentEtag: moved.etag };
}
