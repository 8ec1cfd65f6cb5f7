/** Reader verbs: get, multiget, route, info, shards, health. */
import {
  healthRecord,
  type RoutingContext,
  type ShardedReader,
  shardDetailRecord,
  snapshotInfoRecord,
} from "@shardy/reader";
import type { CliContext } from "../context.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { coerceCliKey } from "../keys.ts";

/** `--routing-context k=v` flags -> name -> text (typed later, against the snapshot's cel_columns). */
export function parseRoutingContext(
  flags: readonly string[] | undefined,
): Record<string, string> | undefined {
  if (!flags || flags.length === 0) return undefined;
  const ctx: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    if (eq <= 0) throw new UsageError(`--routing-context ${JSON.stringify(flag)} must be NAME=VALUE`);
    ctx[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return ctx;
}

/**
 * Types each `--routing-context` value by the snapshot's `cel_columns`: int/uint -> bigint,
 * double -> number, bool -> true/false, bytes -> the UTF-8 bytes (or `0x`-prefixed hex),
 * string as given. HASH snapshots ignore the context.
 */
export function typedRoutingContext(
  texts: Readonly<Record<string, string>> | undefined,
  celColumns: Readonly<Record<string, string>> | null,
): RoutingContext | undefined {
  if (texts === undefined || celColumns === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(texts)) {
    const type = celColumns[name];
    if (type === undefined) {
      throw new UsageError(
        `--routing-context ${name}=...: the snapshot routes by ${Object.keys(celColumns).join(", ")}, not ${name}`,
      );
    }
    out[name] = typedValue(name, type, text);
  }
  return out;
}

function typedValue(name: string, type: string, text: string): unknown {
  const bad = (want: string) =>
    new UsageError(`--routing-context ${name}=${text}: column ${name} is ${type}, so give ${want}`);
  switch (type) {
    case "int":
    case "uint":
      if (!/^-?\d+$/.test(text.trim())) throw bad("an integer");
      return BigInt(text.trim());
    case "double": {
      const n = Number(text);
      if (text.trim() === "" || Number.isNaN(n)) throw bad("a number");
      return n;
    }
    case "bool":
      if (text !== "true" && text !== "false") throw bad("true or false");
      return text === "true";
    case "bytes":
      if (/^0x([0-9a-fA-F]{2})*$/.test(text)) return Uint8Array.from(Buffer.from(text.slice(2), "hex"));
      return new TextEncoder().encode(text);
    default:
      return text;
  }
}

/** The typed context for `reader`'s snapshot. */
function contextFor(
  reader: ShardedReader,
  texts: Record<string, string> | undefined,
): RoutingContext | undefined {
  const sharding = reader.snapshotInfo().sharding;
  return typedRoutingContext(texts, sharding.strategy === "cel" ? sharding.celColumns : null);
}

async function withReader<T>(ctx: CliContext, fn: (reader: ShardedReader) => Promise<T>): Promise<T> {
  const reader = await ctx.openReader();
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

export async function getCommand(
  ctx: CliContext,
  key: string,
  opts: { routingContext?: string[]; strict?: boolean },
): Promise<number> {
  const routingContext = parseRoutingContext(opts.routingContext);
  return withReader(ctx, async (reader) => {
    const value = await reader.get(coerceCliKey(key, reader.keyEncoding), {
      routingContext: contextFor(reader, routingContext),
    });
    ctx.printer.print(
      value === undefined
        ? { op: "get", key, found: false, value: ctx.printer.output.nullRepr }
        : { op: "get", key, found: true, value: ctx.printer.value(value) },
    );
    return value === undefined && opts.strict ? ExitCode.failure : ExitCode.ok;
  });
}

export async function multigetCommand(
  ctx: CliContext,
  keys: string[],
  opts: { routingContext?: string[]; strict?: boolean },
): Promise<number> {
  const routingContext = parseRoutingContext(opts.routingContext);
  let texts = keys;
  if (keys.length === 1 && keys[0] === "-") {
    texts = (await ctx.io.readStdin())
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== "");
  } else if (keys.includes("-")) {
    throw new UsageError('"-" (read keys from stdin) must be the only key argument');
  }
  if (texts.length === 0)
    throw new UsageError("multiget needs at least one key, or - to read keys from stdin");
  return withReader(ctx, async (reader) => {
    const values = await reader.multiGet(
      texts.map((t) => coerceCliKey(t, reader.keyEncoding)),
      { routingContext: contextFor(reader, routingContext) },
    );
    const results = texts.map((key, i) => {
      const v = values[i];
      return v === undefined ? { key, found: false } : { key, found: true, value: ctx.printer.value(v) };
    });
    ctx.printer.print({ op: "multiget", results });
    return opts.strict && values.some((v) => v === undefined) ? ExitCode.failure : ExitCode.ok;
  });
}

export async function routeCommand(
  ctx: CliContext,
  key: string,
  opts: { routingContext?: string[] },
): Promise<number> {
  const routingContext = parseRoutingContext(opts.routingContext);
  return withReader(ctx, async (reader) => {
    const dbId = reader.routeKey(coerceCliKey(key, reader.keyEncoding), {
      routingContext: contextFor(reader, routingContext),
    });
    ctx.printer.print({ op: "route", key, db_id: dbId });
    return ExitCode.ok;
  });
}

export async function infoCommand(ctx: CliContext): Promise<number> {
  return withReader(ctx, async (reader) => {
    ctx.printer.print({ op: "info", ...snapshotInfoRecord(reader.snapshotInfo()) });
    return ExitCode.ok;
  });
}

export async function shardsCommand(ctx: CliContext): Promise<number> {
  return withReader(ctx, async (reader) => {
    const shards = reader.shardDetails().map(shardDetailRecord);
    ctx.printer.print({ op: "shards", run_id: reader.snapshotInfo().runId, shards });
    return ExitCode.ok;
  });
}

/** Exit 0 healthy, 1 degraded, 2 unhealthy (including a snapshot that cannot be opened). */
export async function healthCommand(ctx: CliContext, opts: { stalenessThreshold?: string }): Promise<number> {
  let thresholdMs: number | undefined;
  if (opts.stalenessThreshold !== undefined) {
    const seconds = Number(opts.stalenessThreshold);
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new UsageError(
        `--staleness-threshold must be a number of seconds >= 0, got ${opts.stalenessThreshold}`,
      );
    }
    thresholdMs = seconds * 1000;
  }
  let reader: ShardedReader;
  try {
    reader = await ctx.openReader();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    ctx.printer.print({
      op: "health",
      status: "unhealthy",
      reasons: [err instanceof Error ? `${err.name}: ${err.message}` : String(err)],
    });
    return 2;
  }
  try {
    const h = reader.health({ stalenessThresholdMs: thresholdMs });
    ctx.printer.print({ op: "health", ...healthRecord(h) });
    return h.status === "healthy" ? 0 : h.status === "degraded" ? 1 : 2;
  } finally {
    await reader.close();
  }
}
