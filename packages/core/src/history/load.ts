/** Loading `_CURRENT` and manifests by ref, with typed errors for missing and malformed objects. */
import { ManifestNotFoundError, ManifestParseError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import type { CurrentPointer, Manifest } from "../manifest/types.ts";
import { type CurrentLocation, readCurrentState } from "../publish/current-state.ts";
import { parseManifestBytes } from "../publish/formats.ts";
import { describeError } from "../publish/logger.ts";
import { keyForUrl } from "../publish/refs.ts";
import type { RetryPolicy } from "../publish/retry.ts";

/** The pointer `_CURRENT` holds, or `null` when there is none; a malformed one throws `ManifestParseError`. */
export async function loadCurrent(
  location: CurrentLocation,
  options: { retry?: Partial<RetryPolicy>; signal?: AbortSignal } = {},
): Promise<CurrentPointer | null> {
  const state = await readCurrentState(location, options);
  if (state === null) return null;
  if (state.pointer === null) throw state.parseError ?? new ManifestParseError(`${state.key} does not parse`);
  return state.pointer;
}

/**
 * The manifest at `ref` (a full URL inside `store`). Throws `ManifestNotFoundError` when no object
 * is there and `ManifestParseError` when it is not a valid format-4 manifest.
 */
export async function loadManifest(
  store: ObjectStore,
  ref: string,
  options: { signal?: AbortSignal } = {},
): Promise<Manifest> {
  const key = keyForUrl(store, ref);
  const got = await store.get(key, { signal: options.signal });
  if (got === undefined) {
    throw new ManifestNotFoundError(
      `No manifest at ${ref} (store key ${key}); the ref is wrong or the object was deleted. ` +
        "List valid refs with listManifests()",
      { ref },
    );
  }
  try {
    return await parseManifestBytes(got.body);
  } catch (err) {
    if (err instanceof ManifestParseError) throw err;
    throw new ManifestParseError(`Manifest at ${ref} does not parse: ${describeError(err)}`, { cause: err });
  }
}
