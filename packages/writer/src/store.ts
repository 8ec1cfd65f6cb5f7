/** Opening the object store a write config names (`storage.s3_prefix` + connection options). */
import type { CredentialProviderConfig, S3ConnectionOptions, WriterStorageConfig } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import { type ObjectStore, type OpenStoreOptions, openStore } from "@shardy/store";

export interface SnapshotLocation {
  store: ObjectStore;
  /** Store-relative key prefix of the snapshot (`""` for the store root). */
  prefix: string;
  /** The snapshot prefix URL, as configured (written into the manifest's `s3_prefix`). */
  s3Prefix: string;
}

/** `S3ConnectionOptions` + credentials -> `openStore` options for `S3Store`. */
export function s3StoreOptions(
  connection: S3ConnectionOptions | null,
  credentials: CredentialProviderConfig | null,
): OpenStoreOptions["s3"] {
  const c = connection ?? {};
  const s3: NonNullable<OpenStoreOptions["s3"]> = {};
  if (c.endpoint_url) s3.endpoint = c.endpoint_url;
  if (c.region_name) s3.region = c.region_name;
  if (c.addressing_style === "path") s3.forcePathStyle = true;
  if (c.addressing_style === "virtual") s3.forcePathStyle = false;
  if (c.connect_timeout) s3.connectTimeoutMs = c.connect_timeout * 1000;
  if (c.read_timeout) s3.requestTimeoutMs = c.read_timeout * 1000;
  if (c.max_attempts) s3.maxAttempts = c.max_attempts;
  if (credentials?.kind === "static") {
    s3.credentials = {
      accessKeyId: credentials.access_key_id,
      secretAccessKey: credentials.secret_access_key,
      ...(credentials.session_token ? { sessionToken: credentials.session_token } : {}),
    };
  }
  return s3;
}

/** The store-relative key of a snapshot URL inside `store`. */
export function prefixInStore(store: ObjectStore, s3Prefix: string): string {
  const base = store.baseUrl.replace(/\/+$/, "");
  const url = s3Prefix.replace(/\/+$/, "");
  if (url === base) return "";
  if (url.startsWith(`${base}/`)) return url.slice(base.length + 1);
  throw new ConfigValidationError(
    `storage.s3_prefix ${JSON.stringify(s3Prefix)} is not inside the store ${JSON.stringify(store.baseUrl)} ` +
      "given to the writer; pass the store that holds it, or no store",
    { field: "storage.s3_prefix" },
  );
}

/** Opens the store of `storage` (or uses `store`) and locates the snapshot in it. */
export function openSnapshotLocation(storage: WriterStorageConfig, store?: ObjectStore): SnapshotLocation {
  const s3Prefix = storage.s3_prefix;
  if (store) return { store, prefix: prefixInStore(store, s3Prefix), s3Prefix };
  const opened = openStore(s3Prefix, {
    s3: s3StoreOptions(storage.s3_connection_options, storage.credential_provider),
  });
  return { store: opened.store, prefix: prefixInStore(opened.store, s3Prefix), s3Prefix };
}
