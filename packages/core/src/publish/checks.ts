/**
 * Validate-before-flip: checks run after the manifest is uploaded and before `_CURRENT` moves.
 * A failing check leaves the pointer untouched (readers keep the old snapshot) and surfaces as a
 * `PublishCheckError` naming the check; the uploaded manifest stays in history for inspection.
 */
import { PublishCheckError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import type { Manifest } from "../manifest/types.ts";
import type { CurrentState } from "./current-state.ts";

export interface PublishCheckContext {
  store: ObjectStore;
  prefix: string;
  /** The manifest about to become current. */
  manifest: Manifest;
  manifestRef: string;
  /** The pointer the flip will replace (`null`: first publish on this prefix). */
  current: CurrentState | null;
  /** The manifest `current` names; `null` when there is none or it cannot be loaded. Cached. */
  loadCurrentManifest(): Promise<Manifest | null>;
  signal?: AbortSignal;
}

/** A check throws to veto the flip; `checkName` (or the function name) identifies it in errors. */
export type PublishCheck = ((ctx: PublishCheckContext) => Promise<void>) & { checkName?: string };

export function checkNameOf(check: PublishCheck, index: number): string {
  return check.checkName ?? (check.name !== "" ? check.name : `check#${index}`);
}

function named(name: string, fn: (ctx: PublishCheckContext) => Promise<void>): PublishCheck {
  return Object.assign(fn, { checkName: name });
}

/** Total rows over all shards of a manifest. */
export function totalRows(manifest: Manifest): number {
  return manifest.shards.reduce((sum, shard) => sum + shard.rowCount, 0);
}

/** Refuses a snapshot with fewer than `min` rows (an empty or truncated input). */
export function minRowCount(min: number): PublishCheck {
  if (!Number.isSafeInteger(min) || min < 0)
    throw new RangeError(`minRowCount needs an integer >= 0, got ${min}`);
  const name = `minRowCount(${min})`;
  return named(name, async (ctx) => {
    const rows = totalRows(ctx.manifest);
    if (rows < min) {
      throw new PublishCheckError(
        `check ${name} failed: the new snapshot has ${rows} rows, fewer than the required ${min}; ` +
          `_CURRENT was left unchanged. Check the build input, or lower the minimum`,
        { check: name, manifestRef: ctx.manifestRef },
      );
    }
  });
}

/**
 * Refuses a snapshot whose row count moved more than `maxPercent` % from the current one. Passes
 * when there is no current snapshot, it cannot be loaded, or it has no rows (no baseline to
 * compare with).
 */
export function maxRowCountChange(maxPercent: number): PublishCheck {
  if (!(Number.isFinite(maxPercent) && maxPercent >= 0)) {
    throw new RangeError(`maxRowCountChange needs a percentage >= 0, got ${maxPercent}`);
  }
  const name = `maxRowCountChange(${maxPercent}%)`;
  return named(name, async (ctx) => {
    const previous = await ctx.loadCurrentManifest();
    if (previous === null) return;
    const before = totalRows(previous);
    if (before === 0) return;
    const after = totalRows(ctx.manifest);
    const changePercent = (Math.abs(after - before) / before) * 100;
    if (changePercent > maxPercent) {
      throw new PublishCheckError(
        `check ${name} failed: rows went from ${before} (run ${previous.build.runId}) to ${after}, ` +
          `a change of ${changePercent.toFixed(2)}% > ${maxPercent}%; _CURRENT was left unchanged. ` +
          `Check the build input, or raise the limit for an intended change`,
        { check: name, manifestRef: ctx.manifestRef },
      );
    }
  });
}
