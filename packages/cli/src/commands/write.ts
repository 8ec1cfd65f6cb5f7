/**
 * Writer verbs, thin wrappers over @shardy/writer:
 *   build-snapshot  files -> published snapshot, with a progress bar on stderr
 *   write-shard     Arrow IPC stream on stdin -> one shard attempt (--db-id) or every shard of an
 *                   engine partition (--db-ids, rows carry their shard id) -> one shard result JSON
 *                   line per shard on stdout (what the Dask/Ray shells run per partition)
 *   publish         shard result JSON lines -> winners, manifest, _CURRENT, loser cleanup -> BuildResult
 */
import { rmSync } from "node:fs";
import path from "node:path";
import { configuredNumDbs, pyJsonLoads, type RetryConfig } from "@shardy/core";
import {
  adapterFactoryFromConfig,
  batchToIpc,
  buildResultToWire,
  buildSnapshot,
  createWriteLimiters,
  defaultLocalRoot,
  INPUT_FORMATS,
  openSnapshotLocation,
  publishShardResults,
  readIpcStream,
  type ShardResult,
  type ShardTarget,
  type ShardWriteOptions,
  Spool,
  shardResultFromJson,
  shardResultToJson,
  writeShardAttempt,
  writeShards,
  writeShardWithRetry,
} from "@shardy/writer";
import type { RecordBatch } from "apache-arrow";
import { type Command, Option } from "commander";
import type { CliContext } from "../context.ts";
import { parseNonNegativeInt } from "../durations.ts";
import { ExitCode, UsageError } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { IpcEndTracker } from "../ipc-end.ts";
import type { OutputRecord } from "../output.ts";
import { type ProgramState, verb } from "../program.ts";
import { ProgressBar } from "../progress.ts";
import {
  addValueOptions,
  addWriteConfigOptions,
  buildWriteConfig,
  type ValueFlags,
  valueSpecFrom,
  type WriteConfigFlags,
} from "../write-config.ts";

interface BuildFlags extends WriteConfigFlags, ValueFlags {
  input?: string[];
  format?: (typeof INPUT_FORMATS)[number];
  keyCol?: string;
  workers?: string;
  progress?: boolean;
}

/** Aborts on Ctrl-C so the writer removes what it wrote; a second Ctrl-C exits at once. */
function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new Error("interrupted (SIGINT)"));
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onSigint) };
}

function requireKeyCol(keyCol: string | undefined): string {
  if (!keyCol) throw new UsageError("--key-col <column> is required (the key column of the input)");
  return keyCol;
}

export async function buildSnapshotCommand(
  ctx: CliContext,
  files: string[],
  flags: BuildFlags,
): Promise<number> {
  const inputs = [...files, ...(flags.input ?? [])].map((f) =>
    path.isAbsolute(f) ? f : path.resolve(ctx.io.cwd, f),
  );
  if (inputs.length === 0)
    throw new UsageError("build-snapshot needs input files or globs (Parquet, CSV, NDJSON, Arrow IPC)");
  const config = buildWriteConfig(ctx, flags);
  const keyCol = requireKeyCol(flags.keyCol);
  const valueSpec = valueSpecFrom(flags);
  const workers = flags.workers === undefined ? undefined : parseNonNegativeInt(flags.workers, "--workers");
  const bar =
    flags.progress === false
      ? undefined
      : new ProgressBar({
          write: ctx.io.stderr,
          tty: ctx.io.stderrIsTTY,
          intervalMs: Number(ctx.io.env.SHARDY_PROGRESS_INTERVAL_MS) || 5000,
        });
  const interrupt = interruptSignal();
  try {
    const result = await buildSnapshot({
      inputs,
      format: flags.format,
      config,
      input: { key_col: keyCol, value_spec: valueSpec },
      workers,
      workerUrl: ctx.assets.workerUrl,
      onProgress: bar ? (p) => bar.update(p) : undefined,
      signal: interrupt.signal,
    });
    bar?.finish();
    ctx.printer.print({ op: "build-snapshot", ...(buildResultToWire(result) as object) } as OutputRecord);
    return ExitCode.ok;
  } finally {
    bar?.finish();
    interrupt.dispose();
  }
}

interface WriteShardFlags extends WriteConfigFlags, ValueFlags {
  keyCol?: string;
  dbId?: string;
  dbIds?: string;
  attempt?: string;
  stageId?: string;
  taskAttemptId?: string;
}

/** The record batches on stdin; the stream must end with Arrow's end-of-stream marker. */
async function* stdinBatches(ctx: CliContext): AsyncGenerator<RecordBatch> {
  const what = "stdin (Arrow IPC stream)";
  const end = new IpcEndTracker(what);
  yield* readIpcStream(end.track(ctx.io.stdinStream()), what);
  end.assertEnded();
}

/** `--db-ids 0,3,7`: distinct non-negative shard ids. */
function parseDbIds(text: string): number[] {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.some((p) => p === ""))
    throw new UsageError(
      `--db-ids takes comma-separated shard ids such as 0,3,7, got ${JSON.stringify(text)}`,
    );
  return [...new Set(parts.map((p) => parseNonNegativeInt(p, "--db-ids")))].sort((a, b) => a - b);
}

export async function writeShardCommand(ctx: CliContext, flags: WriteShardFlags): Promise<number> {
  const config = buildWriteConfig(ctx, flags);
  const keyCol = requireKeyCol(flags.keyCol);
  const valueSpec = valueSpecFrom(flags);
  if ((flags.dbId === undefined) === (flags.dbIds === undefined))
    throw new UsageError(
      "write-shard takes --db-id <n> (every row on stdin belongs to shard n) or --db-ids <a,b,...> (rows carry their shard id in the shard-id column), one of the two",
    );
  const attempt = flags.attempt === undefined ? 0 : parseNonNegativeInt(flags.attempt, "--attempt");
  const runId = config.output.run_id;
  if (!runId)
    throw new UsageError(
      "write-shard needs the build's run id: --run-id <id> (or output.run_id in --config-json)",
    );
  const location = openSnapshotLocation(config.storage);
  const target: ShardTarget = {
    store: location.store,
    s3Prefix: location.s3Prefix,
    runId,
    shardPrefix: config.output.shard_prefix,
    dbPathTemplate: config.output.db_path_template,
    localRoot: config.output.local_root ?? defaultLocalRoot(),
  };
  const interrupt = interruptSignal();
  const common: Omit<ShardWriteOptions, "dbId"> = {
    target,
    keyCol,
    valueSpec,
    keyEncoding: config.kv.key_encoding,
    batchSize: config.kv.batch_size,
    adapters: adapterFactoryFromConfig(config.kv.adapter_factory),
    limiters: createWriteLimiters(config.rate_limits),
    // CEL rows were routed by the engine; HASH rows are checked against the shard count.
    verifyRouting:
      config.strategy === "hash" && config.sharding.num_dbs !== null
        ? { numDbs: config.sharding.num_dbs }
        : undefined,
    excludeColumn: config.shard_id_col,
    stageId: flags.stageId === undefined ? null : parseNonNegativeInt(flags.stageId, "--stage-id"),
    taskAttemptId:
      flags.taskAttemptId === undefined
        ? null
        : parseNonNegativeInt(flags.taskAttemptId, "--task-attempt-id"),
    signal: interrupt.signal,
  };
  const batches = stdinBatches(ctx);
  let results: ShardResult[];
  try {
    if (flags.dbIds !== undefined) {
      results = await writeShards({
        host: { ...common, retry: config.retry.shard_retry, startAttempt: attempt },
        dbIds: parseDbIds(flags.dbIds),
        shardIdCol: config.shard_id_col,
        batches,
      });
    } else {
      const dbId = parseNonNegativeInt(flags.dbId!, "--db-id");
      results = [await writeOneShard({ ...common, dbId }, attempt, config.retry.shard_retry, batches)];
    }
  } finally {
    interrupt.dispose();
  }
  // The wire form, one line per shard, whatever the output format: `shardy publish` and the shells read it.
  ctx.io.stdout(results.map((r) => `${shardResultToJson(r)}\n`).join(""));
  return ExitCode.ok;
}

/** One shard from stdin; with `shard_retry`, retries replay a local spool (stdin can be read once). */
async function writeOneShard(
  options: ShardWriteOptions,
  attempt: number,
  retry: RetryConfig | null,
  batches: AsyncIterable<RecordBatch>,
): Promise<ShardResult> {
  if (retry === null) return writeShardAttempt(options, attempt, batches);
  const t = options.target;
  const spoolPath = path.join(
    t.localRoot,
    `run_id=${t.runId}`,
    `db=${String(options.dbId).padStart(5, "0")}`,
    `stdin-${process.pid}.spool`,
  );
  const spool = new Spool(spoolPath);
  try {
    for await (const batch of batches) spool.append(batchToIpc(batch));
    spool.seal();
    return await writeShardWithRetry(options, () => spool.batches(), retry, { startAttempt: attempt });
  } finally {
    spool.seal();
    rmSync(spoolPath, { force: true });
  }
}

interface PublishFlags extends WriteConfigFlags {
  keyCol?: string;
  results?: string[];
  cleanup?: boolean;
  publishMode?: "cas" | "last-writer-wins";
}

/** Shard results as JSON lines, or one JSON array. */
export function parseShardResults(text: string, where: string): ShardResult[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  if (trimmed.startsWith("[")) {
    const list = pyJsonLoads(trimmed, { ints: "bigint" });
    if (!Array.isArray(list)) throw new UsageError(`${where} is not a JSON array of shard results`);
    return list.map((item) => shardResultFromJson(item));
  }
  return trimmed
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      try {
        return shardResultFromJson(line);
      } catch (err) {
        (err as Error).message = `${where} line ${i + 1}: ${(err as Error).message}`;
        throw err;
      }
    });
}

export async function publishCommand(ctx: CliContext, flags: PublishFlags): Promise<number> {
  const cel = flags.celExpr !== undefined;
  // A CEL publish takes --num-dbs as the discovered shard count, not as HASH sharding.
  const config = buildWriteConfig(ctx, cel ? { ...flags, numDbs: undefined } : flags);
  const keyCol = requireKeyCol(flags.keyCol);
  const runId = config.output.run_id;
  if (!runId)
    throw new UsageError(
      "publish needs the build's run id: --run-id <id> (or output.run_id in --config-json)",
    );
  const numDbs =
    config.strategy === "hash"
      ? config.sharding.num_dbs
      : flags.numDbs !== undefined
        ? parseNonNegativeInt(flags.numDbs, "--num-dbs")
        : configuredNumDbs(config);
  if (numDbs === null)
    throw new UsageError(
      "publish needs the number of shards: --num-dbs <n> (or sharding.num_dbs in --config-json)",
    );
  const results: ShardResult[] = [];
  const files = flags.results ?? ["-"];
  for (const file of files) {
    const text =
      file === "-" ? await ctx.io.readStdin() : await Bun.file(path.resolve(ctx.io.cwd, file)).text();
    results.push(...parseShardResults(text, file === "-" ? "stdin" : file));
  }
  const result = await publishShardResults({
    config,
    keyCol,
    runId,
    numDbs,
    results,
    cleanupLosers: flags.cleanup !== false,
    mode: flags.publishMode,
  });
  ctx.printer.print({ op: "publish", ...(buildResultToWire(result) as object) } as OutputRecord);
  return ExitCode.ok;
}

export function registerWriteCommands(program: Command, io: CliIo, state: ProgramState): void {
  const build = program
    .command("build-snapshot")
    .description("build and publish a snapshot from Parquet, CSV, NDJSON or Arrow IPC files")
    .argument("[inputs...]", "input files or globs")
    .option("--input <path>", "an input file or glob (repeatable)", (v: string, prev: string[] = []) => [
      ...prev,
      v,
    ])
    .addOption(
      new Option("--format <format>", "input format (default: by file extension)").choices(INPUT_FORMATS),
    )
    .option("--key-col <column>", "the key column")
    .option("--workers <n>", "shard-writer worker threads (default: one per core; 0 = in this thread)")
    .option("--no-progress", "no progress output on stderr");
  addValueOptions(build);
  addWriteConfigOptions(build, { sharding: true });
  build.action(verb(io, state, "build-snapshot", buildSnapshotCommand));

  const shard = program
    .command("write-shard")
    .description(
      "write shard attempts from an Arrow IPC stream on stdin; print one shard result JSON line per shard",
    )
    .option("--key-col <column>", "the key column")
    .option("--db-id <n>", "the shard id of every row on stdin")
    .option(
      "--db-ids <ids>",
      "comma-separated shard ids of the rows on stdin, each row's id in the shard-id column (one process for several shards)",
    )
    .option("--attempt <n>", "attempt number (default 0; picks the attempt=NN directory)")
    .option("--stage-id <n>", "engine stage id for writer_info")
    .option("--task-attempt-id <n>", "engine task attempt id for writer_info (winner tie-break)");
  addValueOptions(shard);
  addWriteConfigOptions(shard, { sharding: true });
  shard.action(verb(io, state, "write-shard", writeShardCommand));

  const publish = program
    .command("publish")
    .description("select winners from shard results, publish the manifest and _CURRENT, clean up losers")
    .option("--key-col <column>", "the key column (recorded in the manifest)")
    .option(
      "--results <file>",
      'shard results: JSON lines or a JSON array; "-" = stdin (default), repeatable',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--no-cleanup", "keep the losing attempts' objects")
    .addOption(
      new Option("--publish-mode <mode>", "how _CURRENT moves (default cas)").choices([
        "cas",
        "last-writer-wins",
      ]),
    );
  addWriteConfigOptions(publish, { sharding: true });
  publish.action(verb(io, state, "publish", publishCommand));
}
