/**
 * History = the manifest objects under `<prefix>/manifests/`, found with one delimiter listing and
 * named `<UTC ts>_run_id=<run>/manifest`. Directories that do not match the reference regex are
 * ignored (they are not ours to interpret).
 */
import { joinKey, type ObjectStore } from "@shardy/store";
import type { ManifestRef } from "../manifest/types.ts";
import { MANIFEST_NAME, MANIFESTS_DIR, parseManifestDirName } from "../publish/formats.ts";
import { urlForKey } from "../publish/refs.ts";

/** A listed manifest with the raw timestamp string kept for exact (microsecond) ordering. */
export interface ListedManifest extends ManifestRef {
  key: string;
  timestamp: string;
}

/** The manifest directory name inside a ref or key (`.../manifests/<dir>/manifest`), if it has one. */
export function manifestDirOf(refOrKey: string): { timestamp: string; runId: string } | undefined {
  const parts = refOrKey.split("/");
  const dir = parts.at(-2);
  return dir === undefined ? undefined : parseManifestDirName(dir);
}

/** Manifests newest first (by publish timestamp, then run id); at most `limit` (default 10). */
export async function listManifests(
  store: ObjectStore,
  prefix: string,
  limit = 10,
  options: { signal?: AbortSignal } = {},
): Promise<ListedManifest[]> {
  if (!(limit >= 0)) throw new RangeError(`limit must be >= 0, got ${limit}`);
  const dirPrefix = `${joinKey(prefix, MANIFESTS_DIR)}/`;
  const listing = await store.list(dirPrefix, { delimiter: "/", signal: options.signal });
  const found: ListedManifest[] = [];
  for (const common of listing.commonPrefixes) {
    const name = common.slice(dirPrefix.length);
    const parsed = parseManifestDirName(name);
    if (parsed === undefined) continue;
    const key = `${dirPrefix}${name.replace(/\/+$/, "")}/${MANIFEST_NAME}`;
    found.push({
      key,
      ref: urlForKey(store, key),
      runId: parsed.runId,
      publishedAt: parsed.publishedAt,
      timestamp: parsed.timestamp,
    });
  }
  found.sort((a, b) =>
    a.timestamp !== b.timestamp ? (a.timestamp < b.timestamp ? 1 : -1) : a.runId < b.runId ? 1 : -1,
  );
  return found.slice(0, limit);
}
