// Public API of @shardy/cli: the `shardy` command, runnable in-process.
export { type CliIo, processIo } from "./io.ts";
export { formatRecord, type OutputRecord, renderTable } from "./output.ts";
export { buildProgram, runCli, VERSION } from "./program.ts";
export { ProgressBar, type ProgressOptions, type ProgressSnapshot } from "./progress.ts";
