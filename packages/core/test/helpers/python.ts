/**
 * Runs real CPython for compatibility tests. Missing python3 is a test failure with a clear
 * message, never a skip: these tests are the proof that our bytes match the reference's.
 */
import { resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../../../..");

function python(): string {
  const exe = Bun.which("python3");
  if (!exe)
    throw new Error(
      "python3 is not on PATH: install Python 3.11+ (scripts/setup does) to run compatibility tests",
    );
  return exe;
}

/** Runs `python3 args...` with `stdin`; returns stdout, throws with stderr on a non-zero exit. */
export function runPython(args: string[], stdin = ""): string {
  const proc = Bun.spawnSync([python(), ...args], { stdin: new TextEncoder().encode(stdin), cwd: REPO_ROOT });
  const stderr = proc.stderr.toString();
  if (proc.exitCode !== 0)
    throw new Error(`python3 ${args.join(" ").slice(0, 200)} failed (${proc.exitCode}):\n${stderr}`);
  return proc.stdout.toString();
}

/** `python3 -c code` with `stdin`. */
export function runPythonCode(code: string, stdin = ""): string {
  return runPython(["-c", code], stdin);
}
