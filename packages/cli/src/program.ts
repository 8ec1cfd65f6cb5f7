/**
 * The `shardy` command line: global options (reference §12 CLI) and one subcommand per verb, each
 * with its own `--help`. Verbs return their exit code; errors are printed as records on stderr.
 */
import { PublishCurrentError } from "@shardy/errors";
import { Command, CommanderError, Option } from "commander";
import { cleanupCommand, historyCommand, rollbackCommand } from "./commands/history.ts";
import {
  getCommand,
  healthCommand,
  infoCommand,
  multigetCommand,
  routeCommand,
  shardsCommand,
} from "./commands/read.ts";
import { registerWriteCommands } from "./commands/write.ts";
import { registerWriteServer } from "./commands/write-server.ts";
import { CliContext } from "./context.ts";
import { CliExit, ExitCode, UsageError } from "./errors.ts";
import type { CliIo } from "./io.ts";
import { BACKENDS, type GlobalOptions, OUTPUT_FORMATS, SQLITE_MODES, VALUE_ENCODINGS } from "./settings.ts";

export const VERSION = "0.1.0";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** What a verb's action does with the shared context; returns the exit code. */
export type VerbAction<A extends unknown[]> = (ctx: CliContext, ...args: A) => Promise<number>;

export interface ProgramState {
  exitCode: number;
}

/** Wraps a verb: builds the context from global options, runs it, maps errors to exit codes. */
export function verb<A extends unknown[]>(io: CliIo, state: ProgramState, op: string, action: VerbAction<A>) {
  return async (...args: unknown[]) => {
    const cmd = args.at(-1) as Command;
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    const ctx = new CliContext(io, globals);
    const verbArgs = args.slice(0, -1) as A;
    try {
      await ctx.init();
      state.exitCode = await action(ctx, ...verbArgs);
    } catch (err) {
      if (err instanceof CliExit) {
        state.exitCode = err.code;
        return;
      }
      const key =
        typeof verbArgs[0] === "string" && ["get", "route"].includes(op) ? { key: verbArgs[0] } : {};
      // The manifest is uploaded when `_CURRENT` fails: the record names it for a manual repoint.
      const manifest = err instanceof PublishCurrentError ? { manifest_ref: err.manifestRef } : {};
      ctx.printer.error(op, err, { ...key, ...manifest });
      state.exitCode = err instanceof UsageError ? ExitCode.usage : ExitCode.failure;
    }
  };
}

export function buildProgram(io: CliIo, state: ProgramState): Command {
  const program = new Command("shardy");
  program
    .description("Sharded immutable key-value snapshots on object storage: read, inspect, build and publish.")
    .version(VERSION, "--version", "print the version and exit")
    .helpOption("-h, --help", "show help")
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .option(
      "--current-url <url>",
      "_CURRENT of the snapshot: s3://bucket/prefix/_CURRENT or /path/to/snapshot/_CURRENT (env SHARDY_CURRENT)",
    )
    .option(
      "--config <path>",
      "reader.toml (env SHARDY_CONFIG; default ./reader.toml, ~/.config/shardy/reader.toml)",
    )
    .option(
      "--credentials <path>",
      "credentials.toml (env SHARDY_CREDENTIALS; default ./credentials.toml, ~/.config/shardy/credentials.toml)",
    )
    .option("--profile <name>", "credentials profile (default: [reader] credentials_profile, else default)")
    .option(
      "--s3-option <KEY=VALUE>",
      "S3 setting, repeatable: endpoint_url, region, addressing_style, max_attempts, ...",
      collect,
    )
    .addOption(
      new Option(
        "-o, --output-format <format>",
        "output format (default: [output] format, else jsonl)",
      ).choices(OUTPUT_FORMATS),
    )
    .addOption(
      new Option("--value-encoding <encoding>", "how values are printed (default base64)").choices(
        VALUE_ENCODINGS,
      ),
    )
    .option("--null-repr <text>", 'what a missing value prints as (default "null")')
    .option("--ref <ref>", "pin a manifest ref for this command (does not move _CURRENT)")
    .option("--offset <n>", "pin the n-th newest manifest (0 = newest) for this command")
    .addOption(new Option("--sqlite-mode <mode>", "SQLite shard access").choices(SQLITE_MODES))
    .option("--sqlite-auto-per-shard-bytes <n>", "auto mode: range reads when a shard is at least this big")
    .option(
      "--sqlite-auto-total-bytes <n>",
      "auto mode: range reads when all shards together are at least this big",
    )
    .addOption(
      new Option(
        "--reader-backend <backend>",
        "shard backend to read (default: detected from the manifest)",
      ).choices(BACKENDS),
    )
    .option("--local-root <dir>", "download cache directory for SQLite shards");

  const routing = () =>
    new Option(
      "--routing-context <NAME=VALUE>",
      "routing column value for CEL snapshots, repeatable",
    ).argParser(collect);

  program
    .command("get")
    .description("look up one key")
    .argument("<key>", "the key (an integer for u64be/u32be snapshots, text otherwise)")
    .addOption(routing())
    .option("--strict", "exit 1 when the key is not found")
    .action(verb(io, state, "get", getCommand));

  program
    .command("multiget")
    .description("look up several keys (grouped per shard, shards queried concurrently)")
    .argument("<keys...>", 'keys, or "-" to read one key per line from stdin')
    .addOption(routing())
    .option("--strict", "exit 1 when any key is not found")
    .action(verb(io, state, "multiget", multigetCommand));

  program
    .command("route")
    .description("print the shard a key routes to")
    .argument("<key>", "the key")
    .addOption(routing())
    .action(verb(io, state, "route", routeCommand));

  program
    .command("info")
    .description("describe the snapshot (run id, shards, rows, key encoding, sharding)")
    .action(verb(io, state, "info", infoCommand));

  program
    .command("shards")
    .description("list every shard, empty ones included")
    .action(verb(io, state, "shards", shardsCommand));

  program
    .command("health")
    .description("check the snapshot: exit 0 healthy, 1 degraded, 2 unhealthy")
    .option("--staleness-threshold <seconds>", "degraded when the manifest is older than this")
    .action(verb(io, state, "health", healthCommand));

  program
    .command("history")
    .description("list published manifests, newest first")
    .option("--limit <n>", "how many (default 10)")
    .action(verb(io, state, "history", historyCommand));

  program
    .command("rollback")
    .description("move _CURRENT back to an older manifest (compare-and-swap)")
    .option("--ref <ref>", "the manifest ref")
    .option("--run-id <run>", "the newest manifest of this run")
    .option("--offset <n>", "the n-th newest manifest (0 = newest)")
    .action(verb(io, state, "rollback", rollbackCommand));

  program
    .command("cleanup")
    .description("delete shard data of old runs (manifests and run records are kept)")
    .option("--dry-run", "report what would be deleted, delete nothing")
    .option("--older-than <duration>", "keep runs younger than this (e.g. 7d, 24h)")
    .option("--keep-last <n>", "keep the runs of the newest n manifests")
    .option("--shard-prefix <name>", "shard directory under the prefix (default shards)")
    .action(verb(io, state, "cleanup", cleanupCommand));

  registerWriteCommands(program, io, state);
  registerWriteServer(program, io, state, runCli);

  // Verbs take their options and arguments; an unexpected word is a usage error.
  program.commands.forEach((c) => {
    c.helpOption("-h, --help", "show help");
    c.exitOverride();
    c.configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    c.showHelpAfterError(`(run shardy ${c.name()} --help for usage)`);
  });
  return program;
}

/** Runs the CLI on `argv` (without the executable and script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const state: ProgramState = { exitCode: ExitCode.ok };
  const program = buildProgram(io, state);
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.usage;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === "commander.helpDisplayed" ||
        err.code === "commander.version" ||
        err.code === "commander.help"
      ) {
        return ExitCode.ok;
      }
      return ExitCode.usage;
    }
    throw err;
  }
  return state.exitCode;
}
