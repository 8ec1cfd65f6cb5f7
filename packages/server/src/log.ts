/**
 * Structured log lines (one JSON object per line on stderr). Every line goes through the redactor,
 * so a secret that slipped into an error message never reaches the log.
 */

export type LogLevel = "info" | "warn" | "error";

export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(
  write: (line: string) => void,
  redact: (text: string) => string = (t) => t,
  now: () => Date = () => new Date(),
): Logger {
  return {
    log(level, event, fields = {}) {
      const line = JSON.stringify({ time: now().toISOString(), level, event, ...fields }, (_k, v) =>
        typeof v === "bigint" ? v.toString() : v,
      );
      write(redact(line));
    },
  };
}

/** Drops everything (tests, embedding). */
export const silentLogger: Logger = { log() {} };
