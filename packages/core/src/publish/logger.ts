/** Where best-effort steps (loser cleanup, run records) report failures they do not throw. */
export interface PublishLogger {
  warn(message: string, error?: unknown): void;
  info?(message: string): void;
}

export const consoleLogger: PublishLogger = {
  warn(message, error) {
    if (error === undefined) console.warn(`[shardy] ${message}`);
    else console.warn(`[shardy] ${message}:`, error instanceof Error ? error.message : error);
  },
};

/** Describes an unknown thrown value in one line for logs and result records. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
