/**
 * Store URLs: `s3://bucket/prefix`, `file:///abs/path` or a plain local path, `memory://name/prefix`.
 * `openStore` binds a store to the URL's bucket/root and returns the key prefix inside it.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigValidationError } from "@shardy/errors";
import { FileStore, type FileStoreOptions } from "./file.ts";
import { MemoryStore } from "./memory.ts";
import { S3Store, type S3StoreOptions } from "./s3.ts";
import type { ObjectStore } from "./types.ts";

export interface S3Location {
  bucket: string;
  /** Everything after `bucket/`, as written (may be empty or end with `/`). */
  key: string;
}

const BUCKET_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Splits `s3://bucket/key`. With `requireKey`, the key must name something below the bucket
 * (the reference's `s3_prefix` rule: not empty, not `/`).
 */
export function parseS3Url(url: string, options: { requireKey?: boolean } = {}): S3Location {
  if (typeof url !== "string" || !url.startsWith("s3://")) {
    throw new ConfigValidationError(`not an S3 URL: ${JSON.stringify(url)}; expected s3://bucket/prefix`, {
      field: "url",
    });
  }
  const rest = url.slice("s3://".length);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? "" : rest.slice(slash + 1);
  if (!BUCKET_RE.test(bucket)) {
    throw new ConfigValidationError(
      `S3 URL ${JSON.stringify(url)} has ${bucket ? `an invalid bucket name ${JSON.stringify(bucket)}` : "no bucket"}; ` +
        "expected s3://bucket/prefix with a bucket of letters, digits, '.', '-' or '_'",
      { field: "url" },
    );
  }
  if (options.requireKey && key.replace(/\/+/g, "") === "") {
    throw new ConfigValidationError(
      `S3 URL ${JSON.stringify(url)} names a whole bucket; add a key prefix, e.g. s3://${bucket}/snapshots`,
      { field: "url" },
    );
  }
  return { bucket, key };
}

/**
 * Joins key parts the way the reference's `join_s3` joins URL parts: every part loses its
 * leading and trailing `/`, empty parts are skipped. `joinKey("a/", "/b", "", "c/")` is `a/b/c`.
 */
export function joinKey(...parts: string[]): string {
  return parts
    .map((part) => part.replace(/^\/+|\/+$/g, ""))
    .filter((part) => part !== "")
    .join("/");
}

/** `join_s3(base, *parts)` exactly: `base` keeps its scheme and loses only trailing `/`. */
export function joinUrl(base: string, ...parts: string[]): string {
  const tail = joinKey(...parts);
  const head = base.replace(/\/+$/, "");
  return tail === "" ? head : `${head}/${tail}`;
}

export interface OpenStoreOptions {
  /** Options for `s3://` URLs (the bucket comes from the URL). */
  s3?: Omit<S3StoreOptions, "bucket">;
  file?: FileStoreOptions;
  /** Base for relative local paths. Default `process.cwd()`. */
  cwd?: string;
}

export interface OpenedStore {
  store: ObjectStore;
  /** Key prefix inside `store` that the URL points at (no leading or trailing `/`; may be empty). */
  prefix: string;
}

export function openStore(url: string, options: OpenStoreOptions = {}): OpenedStore {
  if (typeof url !== "string" || url.trim() === "") {
    throw new ConfigValidationError(`store URL must be a non-empty string, got ${JSON.stringify(url)}`, {
      field: "url",
    });
  }
  if (url.startsWith("s3://")) {
    const { bucket, key } = parseS3Url(url);
    return { store: new S3Store({ ...options.s3, bucket }), prefix: joinKey(key) };
  }
  if (url.startsWith("memory://")) {
    const rest = url.slice("memory://".length);
    const slash = rest.indexOf("/");
    const name = (slash < 0 ? rest : rest.slice(0, slash)) || "default";
    return { store: MemoryStore.named(name), prefix: joinKey(slash < 0 ? "" : rest.slice(slash + 1)) };
  }
  if (url.startsWith("file:")) {
    let root: string;
    try {
      root = fileURLToPath(url);
    } catch (err) {
      throw new ConfigValidationError(
        `invalid file URL ${JSON.stringify(url)}: ${err instanceof Error ? err.message : err}; use file:///absolute/path`,
        { field: "url", cause: err },
      );
    }
    return { store: new FileStore(root, options.file), prefix: "" };
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1];
  if (scheme) {
    throw new ConfigValidationError(
      `unsupported store URL scheme "${scheme}" in ${JSON.stringify(url)}; use s3://, file:// or memory://, or a local path`,
      { field: "url" },
    );
  }
  return { store: new FileStore(path.resolve(options.cwd ?? process.cwd(), url), options.file), prefix: "" };
}
