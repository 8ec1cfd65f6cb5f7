/**
 * `s3://bucket`: AWS S3 or any S3-compatible server (MinIO, R2, ...) through `@aws-sdk/client-s3`.
 * The SDK is imported on first use, so bundles that only use other stores never load it.
 * Transient failures are retried by the SDK (exponential backoff, `maxAttempts`); what survives
 * is wrapped into `S3TransientError` / `ObjectStoreError` / `PreconditionFailedError`.
 */
import type {
  DeleteObjectsCommandOutput,
  ListObjectsV2CommandOutput,
  S3Client,
  S3ClientConfig,
} from "@aws-sdk/client-s3";
import { ConfigValidationError, ObjectStoreError, PreconditionFailedError } from "@shardy/errors";
import { assertValidKey, clampRange, compareKeys, isUnderSegment, normalizeSegmentPrefix } from "./keys.ts";
import { isS3InvalidRange, isS3NotFound, s3Attempts, wrapS3Error } from "./s3-errors.ts";
import { abortableStream, type ByteSource, raceAbort } from "./streams.ts";
import type {
  ByteRange,
  GetResult,
  ListOptions,
  ListResult,
  ObjectMeta,
  ObjectStore,
  PutOptions,
  PutResult,
  StoreCapabilities,
} from "./types.ts";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  bucket: string;
  /** Custom endpoint (MinIO, R2...); env fallback `SLATEDB_S3_ENDPOINT_URL`, then `AWS_ENDPOINT_URL`. */
  endpoint?: string;
  /** Env fallback `S3_REGION`, then `AWS_REGION`; default `us-east-1`. */
  region?: string;
  /** Path-style addressing (`endpoint/bucket/key`). Default: true with a custom endpoint, else false. */
  forcePathStyle?: boolean;
  /** Env fallback `S3_*` then `AWS_*` keys; otherwise the SDK's default provider chain. */
  credentials?: S3Credentials;
  /** Total attempts per request, retries included (exponential backoff). Default 6 (reference: 5 retries). */
  maxAttempts?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** `putStream` part size in bytes (S3 minimum 5 MiB). Default 8 MiB. */
  partSize?: number;
  /** `putStream` parts in flight. Default 4. */
  queueSize?: number;
  /** Environment for the fallbacks; default `process.env` where there is one. */
  env?: Record<string, string | undefined>;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const DELETE_BATCH = 1000;

type Sdk = typeof import("@aws-sdk/client-s3");

export class S3Store implements ObjectStore {
  readonly baseUrl: string;
  readonly bucket: string;
  readonly capabilities: StoreCapabilities = { conditionalPut: true, multipart: true };
  readonly #config: S3ClientConfig;
  readonly #partSize: number;
  readonly #queueSize: number;
  #loaded: Promise<{ sdk: Sdk; client: S3Client }> | undefined;

  constructor(options: S3StoreOptions) {
    if (!options.bucket || options.bucket.includes("/")) {
      throw new ConfigValidationError(
        `S3 bucket name must be non-empty without "/", got ${JSON.stringify(options.bucket)}`,
        { field: "bucket" },
      );
    }
    this.bucket = options.bucket;
    this.baseUrl = `s3://${options.bucket}`;
    this.#config = resolveClientConfig(options);
    this.#partSize = options.partSize ?? 8 * 1024 * 1024;
    if (this.#partSize < MIN_PART_SIZE) {
      throw new ConfigValidationError(
        `S3 partSize must be at least ${MIN_PART_SIZE} bytes (5 MiB, S3's minimum), got ${this.#partSize}`,
        { field: "partSize" },
      );
    }
    this.#queueSize = options.queueSize ?? 4;
  }

  async get(key: string, options?: { signal?: AbortSignal }): Promise<GetResult | undefined> {
    assertValidKey(key);
    const { sdk, client } = await this.#load();
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: options?.signal,
      });
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      return {
        key,
        size: body.length,
        etag: out.ETag ?? "",
        lastModified: out.LastModified ?? new Date(0),
        body,
      };
    } catch (err) {
      if (isS3NotFound(err) && !options?.signal?.aborted) return undefined;
      throw this.#wrap(err, "get", key, options?.signal);
    }
  }

  async getRange(key: string, range: ByteRange, options?: { signal?: AbortSignal }): Promise<Uint8Array> {
    assertValidKey(key);
    clampRange(range, 0); // validates
    const wanted = Math.max(0, range.end - range.start);
    if (wanted === 0) {
      // No byte range can express "zero bytes"; the object must still exist.
      if (!(await this.head(key, options))) throw this.#notFound(key);
      return new Uint8Array(0);
    }
    const { sdk, client } = await this.#load();
    try {
      const out = await client.send(
        new sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: `bytes=${range.start}-${range.end - 1}`,
        }),
        { abortSignal: options?.signal },
      );
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      // Servers answer a range covering a small (or empty) object with the whole object.
      if (!out.ContentRange) return body.slice(...clampRange(range, body.length));
      return body.length > wanted ? body.slice(0, wanted) : body;
    } catch (err) {
      if (options?.signal?.aborted) throw options.signal.reason;
      if (isS3InvalidRange(err)) return new Uint8Array(0); // start at or past the end: clamped to empty
      if (isS3NotFound(err)) throw this.#notFound(key, err);
      throw this.#wrap(err, "getRange", key, options?.signal);
    }
  }

  async head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectMeta | undefined> {
    assertValidKey(key);
    const { sdk, client } = await this.#load();
    try {
      const out = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: options?.signal,
      });
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: out.ETag ?? "",
        lastModified: out.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (isS3NotFound(err) && !options?.signal?.aborted) return undefined;
      throw this.#wrap(err, "head", key, options?.signal);
    }
  }

  async put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult> {
    assertValidKey(key);
    const { sdk, client } = await this.#load();
    try {
      const out = await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: options?.contentType,
          IfMatch: options?.ifMatch,
          IfNoneMatch: options?.ifNoneMatch,
        }),
        { abortSignal: options?.signal },
      );
      return { etag: out.ETag ?? "" };
    } catch (err) {
      // AWS answers If-Match on a missing key with 404 rather than 412.
      if (options?.ifMatch !== undefined && isS3NotFound(err) && !options.signal?.aborted) {
        throw new PreconditionFailedError(
          `conditional put s3://${this.bucket}/${key} with ifMatch ${options.ifMatch} failed: the object does not exist`,
          { key, cause: err },
        );
      }
      const wrapped = this.#wrap(err, "put", key, options?.signal);
      if (wrapped instanceof PreconditionFailedError && s3Attempts(err) > 1) {
        // A retried conditional put can fail against its own first attempt, whose response was lost.
        const own = await this.#ifOwnWrite(key, body, options?.signal);
        if (own) return own;
      }
      throw wrapped;
    }
  }

  /** The current ETag if the object now holds exactly `body` (our earlier attempt landed). */
  async #ifOwnWrite(key: string, body: Uint8Array, signal?: AbortSignal): Promise<PutResult | undefined> {
    const current = await this.get(key, { signal });
    if (!current || current.body.length !== body.length) return undefined;
    for (let i = 0; i < body.length; i++) if (current.body[i] !== body[i]) return undefined;
    return { etag: current.etag };
  }

  async putStream(
    key: string,
    body: ByteSource,
    options?: { contentType?: string; signal?: AbortSignal },
  ): Promise<PutResult> {
    assertValidKey(key);
    const signal = options?.signal;
    signal?.throwIfAborted();
    const { client } = await this.#load();
    const { Upload } = await import("@aws-sdk/lib-storage");
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const upload = new Upload({
        client,
        params: {
          Bucket: this.bucket,
          Key: key,
          Body: abortableStream(body, signal),
          ContentType: options?.contentType,
        },
        partSize: this.#partSize,
        queueSize: this.#queueSize,
        leavePartsOnError: false,
        abortController: controller,
      });
      const out = await raceAbort(upload.done(), signal);
      return { etag: out.ETag ?? "" };
    } catch (err) {
      throw this.#wrap(err, "putStream", key, signal);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    const { sdk, client } = await this.#load();
    const objects: ObjectMeta[] = [];
    const commonPrefixes: string[] = [];
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            Delimiter: options?.delimiter,
            ContinuationToken: token,
          }),
          { abortSignal: options?.signal },
        );
      } catch (err) {
        throw this.#wrap(err, "list", prefix, options?.signal);
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        objects.push({
          key: o.Key,
          size: o.Size ?? 0,
          etag: o.ETag ?? "",
          lastModified: o.LastModified ?? new Date(0),
        });
      }
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined) commonPrefixes.push(p.Prefix);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // S3 already lists in UTF-8 byte order; sorting again keeps the contract for other servers.
    objects.sort((a, b) => compareKeys(a.key, b.key));
    return { objects, commonPrefixes: [...new Set(commonPrefixes)].sort(compareKeys) };
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    const { sdk, client } = await this.#load();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isS3NotFound(err)) return;
      throw this.#wrap(err, "delete", key, undefined);
    }
  }

  async deletePrefix(prefix: string, options?: { signal?: AbortSignal }): Promise<number> {
    const segment = normalizeSegmentPrefix(prefix);
    // List below `segment/` (never the bare string prefix, which would also match `segment-1`),
    // plus the object named exactly `segment`.
    const below = await this.list(`${segment}/`, { signal: options?.signal });
    const keys = below.objects.map((o) => o.key).filter((k) => isUnderSegment(k, segment));
    if (await this.head(segment, options)) keys.unshift(segment);
    const { sdk, client } = await this.#load();
    let deleted = 0;
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let out: DeleteObjectsCommandOutput;
      try {
        out = await client.send(
          new sdk.DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
          { abortSignal: options?.signal },
        );
      } catch (err) {
        throw this.#wrap(err, "deletePrefix", segment, options?.signal);
      }
      const failed = out.Errors ?? [];
      if (failed.length > 0) {
        const sample = failed
          .slice(0, 3)
          .map((e) => `${e.Key}: ${e.Code}`)
          .join(", ");
        throw new ObjectStoreError(
          `S3 deletePrefix s3://${this.bucket}/${segment}: ${failed.length} of ${batch.length} deletes failed ` +
            `(e.g. ${sample}); run it again to delete the rest`,
        );
      }
      deleted += batch.length;
    }
    return deleted;
  }

  async close(): Promise<void> {
    const loaded = this.#loaded;
    this.#loaded = undefined;
    if (loaded) (await loaded).client.destroy();
  }

  #load(): Promise<{ sdk: Sdk; client: S3Client }> {
    this.#loaded ??= import("@aws-sdk/client-s3").then((sdk) => ({
      sdk,
      client: new sdk.S3Client(this.#config),
    }));
    return this.#loaded;
  }

  #notFound(key: string, cause?: unknown): ObjectStoreError {
    return new ObjectStoreError(`object ${JSON.stringify(key)} not found in ${this.baseUrl}`, { cause });
  }

  #wrap(err: unknown, op: string, key: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    return wrapS3Error(err, op, this.bucket, key);
  }
}

function defaultEnv(): Record<string, string | undefined> {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  return g.process?.env ?? {};
}

function firstSet(env: Record<string, string | undefined>, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value) return value;
  }
  return undefined;
}

/** Options first, then the reference's environment fallbacks (spec §2), then SDK defaults. */
export function resolveClientConfig(options: S3StoreOptions): S3ClientConfig {
  const env = options.env ?? defaultEnv();
  const endpoint = options.endpoint ?? firstSet(env, "SLATEDB_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL");
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new ConfigValidationError(
      `S3 endpoint must be an http(s) URL like http://127.0.0.1:9000, got ${JSON.stringify(endpoint)}`,
      { field: "endpoint" },
    );
  }
  const region = options.region ?? firstSet(env, "S3_REGION", "AWS_REGION") ?? "us-east-1";
  const accessKeyId = firstSet(env, "S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID");
  const secretAccessKey = firstSet(env, "S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY");
  const sessionToken = firstSet(env, "S3_SESSION_TOKEN", "AWS_SESSION_TOKEN");
  const credentials =
    options.credentials ??
    (accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken } : undefined);
  const maxAttempts = options.maxAttempts ?? 6;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ConfigValidationError(`S3 maxAttempts must be an integer >= 1, got ${maxAttempts}`, {
      field: "maxAttempts",
    });
  }
  return {
    region,
    endpoint,
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    ...(credentials ? { credentials } : {}),
    maxAttempts,
    retryMode: "standard",
    // Checksums only where S3 demands them: several S3-compatible servers reject the newer
    // default CRC headers, and ETags already cover integrity for our callers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(options.connectTimeoutMs !== undefined || options.requestTimeoutMs !== undefined
      ? {
          requestHandler: {
            connectionTimeout: options.connectTimeoutMs,
            requestTimeout: options.requestTimeoutMs,
          },
        }
      : {}),
  };
}
