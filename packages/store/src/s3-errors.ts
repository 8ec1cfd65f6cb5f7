/**
 * Classifies S3 SDK failures into shardy errors. Messages carry the operation, bucket, key, the
 * S3 error code and HTTP status, never request headers (so never credentials); the SDK error
 * stays available as `cause`.
 */
import {
  ObjectStoreError,
  PreconditionFailedError,
  S3TransientError,
  type ShardyError,
} from "@shardy/errors";

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $retryable?: unknown;
}

const NOT_FOUND = new Set(["NoSuchKey", "NotFound", "NoSuchObject"]);
const PRECONDITION = new Set(["PreconditionFailed", "ConditionalRequestConflict"]);
const TRANSIENT_CODES = new Set([
  "InternalError",
  "ServiceUnavailable",
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "XMinioServerNotInitialized",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function shape(err: unknown): SdkErrorShape {
  return typeof err === "object" && err !== null ? (err as SdkErrorShape) : {};
}

export function s3Status(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

/** How many HTTP attempts the SDK made (1 when unknown). */
export function s3Attempts(err: unknown): number {
  return shape(err).$metadata?.attempts ?? 1;
}

export function s3Code(err: unknown): string {
  const e = shape(err);
  return e.Code ?? e.code ?? e.name ?? "UnknownError";
}

/** The key does not exist (a missing bucket is a configuration error, not "no such key"). */
export function isS3NotFound(err: unknown): boolean {
  const code = s3Code(err);
  return code !== "NoSuchBucket" && (NOT_FOUND.has(code) || s3Status(err) === 404);
}

export function isS3PreconditionFailed(err: unknown): boolean {
  const status = s3Status(err);
  return PRECONDITION.has(s3Code(err)) || status === 412 || status === 409;
}

export function isS3InvalidRange(err: unknown): boolean {
  return s3Code(err) === "InvalidRange" || s3Status(err) === 416;
}

export function isS3Transient(err: unknown): boolean {
  const status = s3Status(err);
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  if (TRANSIENT_CODES.has(s3Code(err))) return true;
  // Network failures reach us as plain errors from the HTTP handler (no HTTP status at all).
  return status === undefined && /socket|network|connect|timed? ?out|EOF/i.test(shape(err).message ?? "");
}

/** Wraps a failure that survived the SDK's own retries. */
export function wrapS3Error(err: unknown, op: string, bucket: string, key: string): ShardyError {
  const status = s3Status(err);
  const where = `s3://${bucket}/${key}`;
  const detail = `${s3Code(err)}${status === undefined ? "" : ` (HTTP ${status})`}`;
  if (isS3PreconditionFailed(err) && op === "put") {
    return new PreconditionFailedError(`conditional put ${where} failed: ${detail}`, { key, cause: err });
  }
  if (isS3Transient(err)) {
    return new S3TransientError(
      `S3 ${op} ${where} failed after retries: ${detail}; the store may be overloaded or unreachable`,
      {
        cause: err,
      },
    );
  }
  const hint =
    status === 403
      ? "; check the credentials and the bucket policy"
      : s3Code(err) === "NoSuchBucket"
        ? "; create the bucket or fix the URL"
        : "";
  return new ObjectStoreError(`S3 ${op} ${where} failed: ${detail}${hint}`, { cause: err });
}
