/**
 * A read-only `ObjectStore` over plain `fetch`, for edge workers: GET, ranged GET, HEAD and
 * ListObjectsV2 against
 * an S3-compatible endpoint (path-style `endpoint/bucket/key`), signed with SigV4 (aws4fetch) when
 * credentials are given, anonymous otherwise (a bucket with a public-read policy). Its `baseUrl` is
 * `s3://bucket`, so manifests written through the S3 store resolve against it unchanged.
 */
import { ObjectStoreError, S3TransientError } from "@shardy/errors";
import type {
  ByteRange,
  GetResult,
  ListOptions,
  ListResult,
  ObjectMeta,
  ObjectStore,
  PutResult,
  StoreCapabilities,
} from "@shardy/store";
import { AwsClient } from "aws4fetch";

export type FetchFn = (input: Request | string, init?: RequestInit) => Promise<Response>;

export interface FetchStoreOptions {
  /** `http(s)://host:port` of the S3 API. */
  endpoint: string;
  bucket: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The fetch to use (default: the global one). */
  fetch?: FetchFn;
  /** Keys per ListObjectsV2 page (default: the server's, 1000 on S3). */
  listPageSize?: number;
}

/** S3 keys are URL paths: encode every segment, keep the slashes. */
function encodeKeyPath(key: string): string {
  return key
    .split("/")
    .map((part) =>
      encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join("/");
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** The text of the first `<tag>` in `xml`, entities decoded. */
function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  if (!m) return undefined;
  return m[1]!.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (all, name: string) => {
    if (name.startsWith("#x")) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? all;
  });
}

export class FetchObjectStore implements ObjectStore {
  readonly baseUrl: string;
  readonly capabilities: StoreCapabilities = { conditionalPut: false, multipart: false };
  readonly #endpoint: string;
  readonly #bucket: string;
  readonly #signer: AwsClient | undefined;
  readonly #fetch: FetchFn;
  readonly #pageSize: number | undefined;

  constructor(options: FetchStoreOptions) {
    this.#endpoint = options.endpoint.replace(/\/+$/, "");
    this.#bucket = options.bucket;
    this.baseUrl = `s3://${options.bucket}`;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#pageSize = options.listPageSize;
    if (options.credentials) {
      this.#signer = new AwsClient({
        accessKeyId: options.credentials.accessKeyId,
        secretAccessKey: options.credentials.secretAccessKey,
        sessionToken: options.credentials.sessionToken,
        service: "s3",
        region: options.region ?? "us-east-1",
        retries: 0,
      });
    }
  }

  #url(key: string): string {
    return `${this.#endpoint}/${encodeURIComponent(this.#bucket)}/${encodeKeyPath(key)}`;
  }

  async #send(
    op: string,
    key: string,
    method: "GET" | "HEAD",
    headers: Record<string, string> = {},
    url = this.#url(key),
  ) {
    let response: Response;
    try {
      const init: RequestInit = { method, headers };
      response = this.#signer
        ? await this.#fetch(await this.#signer.sign(url, init))
        : await this.#fetch(url, init);
    } catch (cause) {
      throw new ObjectStoreError(
        `${op} ${this.baseUrl}/${key} failed: the S3 endpoint ${this.#endpoint} did not answer (${(cause as Error)?.message ?? cause})`,
        { cause },
      );
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (response.ok) return response;
    const text = method === "GET" ? await response.text().catch(() => "") : "";
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `HTTP ${response.status}`;
    const message = `${op} ${this.baseUrl}/${key} failed: ${code} (status ${response.status})`;
    if (response.status >= 500 || response.status === 429) throw new S3TransientError(message);
    if (response.status === 403) {
      throw new ObjectStoreError(`${message}; check the worker's S3 credentials or the bucket's read policy`);
    }
    throw new ObjectStoreError(message);
  }

  #meta(key: string, response: Response, size: number): ObjectMeta {
    const modified = response.headers.get("last-modified");
    return {
      key,
      size,
      etag: response.headers.get("etag") ?? "",
      lastModified: modified ? new Date(modified) : new Date(0),
    };
  }

  async get(key: string): Promise<GetResult | undefined> {
    const response = await this.#send("get", key, "GET");
    if (!response) return undefined;
    const body = new Uint8Array(await response.arrayBuffer());
    return { ...this.#meta(key, response, body.length), body };
  }

  async getRange(key: string, range: ByteRange): Promise<Uint8Array> {
    if (range.end <= range.start) return new Uint8Array(0);
    const response = await this.#send("getRange", key, "GET", {
      range: `bytes=${range.start}-${range.end - 1}`,
    });
    if (!response)
      throw new ObjectStoreError(`getRange ${this.baseUrl}/${key} failed: the object does not exist`);
    const body = new Uint8Array(await response.arrayBuffer());
    // A server that ignores Range sends the whole object.
    if (response.status === 200 && body.length > range.end - range.start)
      return body.slice(range.start, range.end);
    return body;
  }

  async head(key: string): Promise<ObjectMeta | undefined> {
    const response = await this.#send("head", key, "HEAD");
    if (!response) return undefined;
    return this.#meta(key, response, Number(response.headers.get("content-length") ?? 0));
  }

  #readOnly(op: string): Promise<never> {
    return Promise.reject(new ObjectStoreError(`${op} is not supported: the edge fetch store is read-only`));
  }

  put(key: string, ..._rest: unknown[]): Promise<PutResult> {
    return this.#readOnly(`put ${key}`);
  }

  putStream(key: string, ..._rest: unknown[]): Promise<PutResult> {
    return this.#readOnly(`putStream ${key}`);
  }

  /** ListObjectsV2, every page (SlateDB finds its latest manifest by listing; history lists manifests). */
  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const objects: ObjectMeta[] = [];
    const commonPrefixes: string[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ "list-type": "2", prefix });
      if (options.delimiter) query.set("delimiter", options.delimiter);
      if (this.#pageSize !== undefined) query.set("max-keys", String(this.#pageSize));
      if (token) query.set("continuation-token", token);
      const response = await this.#send(
        "list",
        prefix,
        "GET",
        {},
        `${this.#endpoint}/${encodeURIComponent(this.#bucket)}?${query}`,
      );
      if (!response)
        throw new ObjectStoreError(`list ${this.baseUrl}/${prefix} failed: the bucket does not exist`);
      const xml = await response.text();
      for (const block of xml.match(/<Contents>[\s\S]*?<\/Contents>/g) ?? []) {
        const key = xmlText(block, "Key");
        if (key === undefined) continue;
        const modified = xmlText(block, "LastModified");
        objects.push({
          key,
          size: Number(xmlText(block, "Size") ?? 0),
          etag: xmlText(block, "ETag") ?? "",
          lastModified: modified ? new Date(modified) : new Date(0),
        });
      }
      for (const block of xml.match(/<CommonPrefixes>[\s\S]*?<\/CommonPrefixes>/g) ?? []) {
        const p = xmlText(block, "Prefix");
        if (p !== undefined) commonPrefixes.push(p);
      }
      token = xmlText(xml, "IsTruncated") === "true" ? xmlText(xml, "NextContinuationToken") : undefined;
    } while (token);
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    commonPrefixes.sort();
    return { objects, commonPrefixes };
  }

  delete(key: string): Promise<void> {
    return this.#readOnly(`delete ${key}`);
  }

  deletePrefix(prefix: string, ..._rest: unknown[]): Promise<number> {
    return this.#readOnly(`deletePrefix ${prefix}`);
  }
}
