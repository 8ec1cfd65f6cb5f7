#!/usr/bin/env bun
/** The `shardy` executable. */
import { processIo } from "./io.ts";
import { runCli } from "./program.ts";

process.exitCode = await runCli(process.argv.slice(2), processIo());
