/**
 * Manifest refs and shard attempt URLs are full URLs (`s3://bucket/p/manifests/.../manifest`,
 * `file:///root/p/...`), because that is what the reference writes into `_CURRENT` and the
 * manifest. The store speaks store-relative keys, so every URL crosses this boundary here.
 */
import { ConfigValidationError } from "@shardy/errors";
import { joinUrl, type ObjectStore } from "@shardy/store";

function baseOf(store: ObjectStore): string {
  return store.baseUrl.replace(/\/+$/, "");
}

/** The full URL of a store-relative key (`s3://bucket` + `/` + `p/_CURRENT`). */
export function urlForKey(store: ObjectStore, key: string): string {
  return joinUrl(store.baseUrl, key);
}

/** The store key a URL points at, or `undefined` when the URL lies outside this store. */
export function tryKeyForUrl(store: ObjectStore, url: string): string | undefined {
  const base = `${baseOf(store)}/`;
  if (url.startsWith(base)) return url.slice(base.length);
  return undefined;
}

/** The store key a URL points at; throws when the URL belongs to another bucket or root. */
export function keyForUrl(store: ObjectStore, url: string): string {
  const key = tryKeyForUrl(store, url);
  if (key === undefined || key === "") {
    throw new ConfigValidationError(
      `URL ${JSON.stringify(url)} is not inside the store ${JSON.stringify(store.baseUrl)}; ` +
        `open the store that holds it (a ref must start with "${baseOf(store)}/")`,
    );
  }
  return key;
}
