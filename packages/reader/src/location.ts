/**
 * Where a snapshot lives. Readers are pointed at it in one of three ways: the `_CURRENT` URL the
 * reference CLI takes (`s3://bucket/prefix/_CURRENT`), the snapshot prefix URL (`s3_prefix`), or an
 * already opened store plus a store-relative prefix.
 */
import { CURRENT_POINTER_NAME } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import { type ObjectStore, type OpenStoreOptions, openStore } from "@shardy/store";

export interface SnapshotLocation {
  store: ObjectStore;
  /** Store-relative prefix of the snapshot (`""` for the store root). */
  prefix: string;
  /** Name of the pointer object under the prefix (`_CURRENT`). */
  currentPointerKey: string;
  /** True when this module opened `store` (the reader then closes it). */
  ownsStore: boolean;
}

export interface LocationOptions {
  /** URL of the pointer object: `s3://bucket/prefix/_CURRENT`, `file:///dir/_CURRENT`, or a local path. */
  currentUrl?: string;
  /** URL of the snapshot prefix (the writer's `s3_prefix`): `s3://bucket/prefix`, `file:///dir`, a local path. */
  prefixUrl?: string;
  /** An opened store; use with `prefix`. */
  store?: ObjectStore;
  /** Store-relative snapshot prefix when `store` is given (default `""`). */
  prefix?: string;
  /** Pointer name under the prefix; default `_CURRENT` (taken from `currentUrl` when that is given). */
  currentPointerKey?: string;
  /** Options for stores opened from a URL (S3 endpoint, credentials...). */
  storeOptions?: OpenStoreOptions;
}

/**
 * Splits a `_CURRENT` URL at its last `/` into the snapshot prefix URL and the pointer name, as
 * the reference CLI does (`cli/config.py::split_current_url`).
 */
export function splitCurrentUrl(currentUrl: string): { prefixUrl: string; currentPointerKey: string } {
  const trimmed = currentUrl.trim();
  const slash = trimmed.lastIndexOf("/");
  const name = slash < 0 ? "" : trimmed.slice(slash + 1);
  const head = slash < 0 ? "" : trimmed.slice(0, slash);
  if (name === "" || head === "" || /^[A-Za-z][A-Za-z0-9+.-]*:\/?$/.test(head)) {
    throw new ConfigValidationError(
      `current URL ${JSON.stringify(currentUrl)} does not name a pointer object; ` +
        "expected something like s3://bucket/prefix/_CURRENT or /path/to/snapshot/_CURRENT",
      { field: "current_url" },
    );
  }
  return { prefixUrl: head, currentPointerKey: name };
}

export function resolveLocation(options: LocationOptions): SnapshotLocation {
  const given = [options.currentUrl, options.prefixUrl, options.store].filter((v) => v !== undefined);
  if (given.length !== 1) {
    throw new ConfigValidationError(
      `pass exactly one of currentUrl, prefixUrl or store (+ prefix) to locate the snapshot, got ${given.length}`,
      { field: "current_url" },
    );
  }
  if (options.store) {
    return {
      store: options.store,
      prefix: options.prefix ?? "",
      currentPointerKey: options.currentPointerKey ?? CURRENT_POINTER_NAME,
      ownsStore: false,
    };
  }
  let prefixUrl: string;
  let pointer = options.currentPointerKey ?? CURRENT_POINTER_NAME;
  if (options.currentUrl !== undefined) {
    const split = splitCurrentUrl(options.currentUrl);
    prefixUrl = split.prefixUrl;
    pointer = split.currentPointerKey;
  } else {
    prefixUrl = options.prefixUrl!;
  }
  const { store, prefix } = openStore(prefixUrl, options.storeOptions);
  return { store, prefix, currentPointerKey: pointer, ownsStore: true };
}
