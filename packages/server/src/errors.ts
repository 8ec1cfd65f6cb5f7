/**
 * From failures to HTTP answers: every error becomes `{"error": message, "code": code}` with a
 * status that says whose fault it was. Messages are the typed errors' own (they name the bad value
 * and the fix) with secrets redacted; stack traces never leave the process.
 */
import {
  ConfigValidationError,
  DbAdapterError,
  ManifestNotFoundError,
  ManifestParseError,
  ObjectStoreError,
  PreconditionFailedError,
  ReaderStateError,
  S3TransientError,
  S3VfsError,
  ShardAssignmentError,
} from "@shardy/errors";

/** An error that already knows its HTTP answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  /** Unexpected failures are logged; client errors are not. */
  log: boolean;
}

/** Network-level failures from `fetch` or sockets, whatever the runtime calls them. */
function isNetworkFailure(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (
      typeof code === "string" &&
      /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|UND_ERR)/.test(code)
    )
      return true;
    const name = (e as { name?: unknown }).name;
    const message = String((e as { message?: unknown }).message ?? "");
    if (name === "TypeError" && /fetch failed|network|connect|Connection refused/i.test(message)) return true;
    if (/ECONNREFUSED|Unable to connect|Connection refused|ConnectionRefused/i.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function isStoreFailure(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    if (e instanceof ObjectStoreError || e instanceof S3TransientError || e instanceof S3VfsError)
      return true;
    e = (e as { cause?: unknown }).cause;
  }
  return isNetworkFailure(err);
}

export function classifyError(err: unknown): ErrorAnswer {
  if (err instanceof HttpError)
    return { status: err.status, code: err.code, message: err.message, log: false };
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ConfigValidationError) {
    const code = err.field === "key" ? "bad_key" : "bad_request";
    return { status: 400, code, message, log: false };
  }
  if (err instanceof PreconditionFailedError) {
    return {
      status: 409,
      code: "conflict",
      message: `${message}; another writer moved _CURRENT at the same time, retry`,
      log: false,
    };
  }
  if (err instanceof ShardAssignmentError)
    return { status: 422, code: "unroutable_key", message, log: false };
  if (err instanceof ManifestNotFoundError)
    return { status: 404, code: "manifest_not_found", message, log: false };
  if (isStoreFailure(err)) {
    return {
      status: 503,
      code: "store_unavailable",
      message: `the object store is unreachable or failing: ${message}; the server keeps serving the snapshot it has`,
      log: true,
    };
  }
  if (err instanceof ManifestParseError) return { status: 422, code: "bad_manifest", message, log: true };
  if (err instanceof ReaderStateError)
    return { status: 503, code: "snapshot_unavailable", message, log: true };
  if (err instanceof DbAdapterError) return { status: 502, code: "shard_read_failed", message, log: true };
  return {
    status: 500,
    code: "internal",
    message: "internal server error; the server log has the details",
    log: true,
  };
}

/** Replaces every secret with `[redacted]`. */
export function makeRedactor(secrets: readonly string[]): (text: string) => string {
  const list = secrets.filter((s) => s.length >= 4);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const s of list) out = out.split(s).join("[redacted]");
    return out;
  };
}

/** One line for the log: name and message, no stack (it can hold paths and arguments). */
export function describeForLog(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (cause: ${err.cause.name}: ${err.cause.message})` : "";
    return `${err.name}: ${err.message}${cause}`;
  }
  return String(err);
}
