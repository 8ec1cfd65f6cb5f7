/**
 * Runs the real `shardy` command as a subprocess, two ways: from source under Bun
 * (`bun packages/cli/src/main.ts`) and as the compiled single-file executable, built once per test
 * run into a temp dir by `scripts/build-shardy.ts` and started with a PATH that has no Bun.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dir, "../../../..");
export const MAIN = path.join(ROOT, "packages/cli/src/main.ts");

export interface Runner {
  name: string;
  argv: string[];
  env: Record<string, string>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment without Bun on PATH (for the binary) and with a throwaway HOME. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: mkdtempSync(path.join(tmpdir(), "shardy-home-")),
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function sourceRunner(): Runner {
  return { name: "bun main.ts", argv: [process.execPath, MAIN], env: {} };
}

let built: Promise<string> | undefined;

/** Builds the executable once; a failed build fails the tests that need it, with the build log. */
export function compiledBinary(): Promise<string> {
  built ??= (async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), "shardy-bin-")), "shardy");
    const proc = Bun.spawn([process.execPath, path.join(ROOT, "scripts/build-shardy.ts"), "--outfile", out], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, stdout, stderr] = await Promise.all([
      proc.exited,
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    if (code !== 0) {
      throw new Error(
        `scripts/build-shardy.ts failed (exit ${code}); the compiled shardy cannot be tested:\n${stdout}${stderr}`,
      );
    }
    return out;
  })();
  return built;
}

export async function binaryRunner(): Promise<Runner> {
  return { name: "compiled dist/shardy", argv: [await compiledBinary()], env: {} };
}

export async function runShardy(
  runner: Runner,
  args: string[],
  options: { stdin?: string | Uint8Array; env?: Record<string, string>; cwd?: string } = {},
): Promise<RunResult> {
  const proc = Bun.spawn([...runner.argv, ...args], {
    cwd: options.cwd ?? mkdtempSync(path.join(tmpdir(), "shardy-cwd-")),
    env: { ...cleanEnv(), ...runner.env, ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin as BlobPart]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  return { code, stdout, stderr };
}

/** Parses the single JSON record a jsonl command printed. */
export function record(result: RunResult): Record<string, unknown> {
  const line = result.stdout.trim();
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(
      `expected one JSON record on stdout, got ${JSON.stringify(result.stdout)} (stderr: ${result.stderr})`,
    );
  }
}

/** Fails with the command's stderr when it did not exit with `code` (keeps failures diagnosable). */
export function expectExit(result: RunResult, code: number, what: string): void {
  if (result.code !== code) {
    throw new Error(
      `${what}: expected exit ${code}, got ${result.code}\nstdout: ${result.stdout.slice(0, 2000)}\nstderr: ${result.stderr.slice(0, 4000)}`,
    );
  }
}
