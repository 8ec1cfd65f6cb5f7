/** Snapshot lifecycle verbs: history, rollback, cleanup. */
import { cleanupOldRuns, formatPydanticDatetime, listManifests, loadCurrent, rollback } from "@shardy/core";
import type { CliContext } from "../context.ts";
import { parseDuration, parseNonNegativeInt } from "../durations.ts";
import { ExitCode, UsageError } from "../errors.ts";

async function withLocation<T>(
  ctx: CliContext,
  fn: (loc: ReturnType<CliContext["location"]>) => Promise<T>,
): Promise<T> {
  const loc = ctx.location();
  try {
    return await fn(loc);
  } finally {
    if (loc.ownsStore) await loc.store.close?.();
  }
}

export async function historyCommand(ctx: CliContext, opts: { limit?: string }): Promise<number> {
  const limit = opts.limit === undefined ? 10 : parseNonNegativeInt(opts.limit, "--limit");
  return withLocation(ctx, async (loc) => {
    const [listed, pointer] = await Promise.all([
      listManifests(loc.store, loc.prefix, limit),
      loadCurrent({ store: loc.store, prefix: loc.prefix, currentPointerKey: loc.currentPointerKey }),
    ]);
    ctx.printer.print({
      op: "history",
      manifests: listed.map((m, offset) => ({
        offset,
        run_id: m.runId,
        published_at: m.timestamp,
        current: m.ref === pointer?.manifestRef,
        ref: m.ref,
      })),
    });
    return ExitCode.ok;
  });
}

export async function rollbackCommand(
  ctx: CliContext,
  cmdOpts: { ref?: string; runId?: string; offset?: string },
): Promise<number> {
  // --ref and --offset are also global (pinning) options, and commander gives them to the parent
  // wherever they appear; for rollback they name the target.
  const opts = {
    ref: cmdOpts.ref ?? ctx.globals.ref,
    runId: cmdOpts.runId,
    offset: cmdOpts.offset ?? ctx.globals.offset,
  };
  const given = [opts.ref, opts.runId, opts.offset].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError("rollback needs exactly one of --ref, --run-id or --offset");
  const target =
    opts.ref !== undefined
      ? { ref: opts.ref }
      : opts.runId !== undefined
        ? { runId: opts.runId }
        : { offset: parseNonNegativeInt(opts.offset!, "--offset") };
  return withLocation(ctx, async (loc) => {
    const result = await rollback({
      store: loc.store,
      prefix: loc.prefix,
      currentPointerKey: loc.currentPointerKey,
      target,
    });
    ctx.printer.print({
      op: "rollback",
      manifest_ref: result.manifestRef,
      run_id: result.runId,
      changed: result.changed,
      previous_ref: result.previous?.pointer?.manifestRef ?? null,
      updated_at: formatPydanticDatetime(result.pointer.updatedAt),
    });
    return ExitCode.ok;
  });
}

export async function cleanupCommand(
  ctx: CliContext,
  opts: { dryRun?: boolean; olderThan?: string; keepLast?: string; shardPrefix?: string },
): Promise<number> {
  const olderThanMs =
    opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan, "--older-than");
  const keepLast =
    opts.keepLast === undefined ? undefined : parseNonNegativeInt(opts.keepLast, "--keep-last");
  return withLocation(ctx, async (loc) => {
    const result = await cleanupOldRuns({
      store: loc.store,
      prefix: loc.prefix,
      currentPointerKey: loc.currentPointerKey,
      shardPrefix: opts.shardPrefix,
      keepLast,
      olderThanMs,
      dryRun: Boolean(opts.dryRun),
      logger: {
        warn: (msg, err) =>
          ctx.printer.warn(err === undefined ? msg : `${msg}: ${(err as Error)?.message ?? err}`),
      },
    });
    ctx.printer.print({
      op: "cleanup",
      dry_run: result.dryRun,
      deleted: result.deleted.map((d) => ({ run_id: d.runId, prefix: d.prefix, objects: d.objects })),
      protected: result.protected.map((p) => ({ run_id: p.runId, reasons: p.reasons })),
      failed: result.failed.map((f) => ({ run_id: f.runId, prefix: f.prefix, error: f.error })),
    });
    return result.failed.length > 0 ? ExitCode.failure : ExitCode.ok;
  });
}
