/**
 * Exit codes: 0 success; 1 a failed operation, a key not found under `--strict`, or a degraded
 * health check; 2 bad usage (unknown option, bad option value) or an unhealthy snapshot.
 */

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;

/** Ends the command with `code`; the message (if any) has already been printed. */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Bad usage detected after parsing (e.g. two mutually exclusive options): exit 2 with the message. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
