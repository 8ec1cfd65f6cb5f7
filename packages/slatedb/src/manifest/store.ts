/** Finding and loading manifests in an object store: latest by LIST, or pinned by a checkpoint. */
import { DbAdapterError, ManifestParseError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import { manifestDir, manifestKey, parseManifestId } from "../paths.ts";
import { type U128, uuidFromString, uuidToString } from "../ulid.ts";
import { decodeManifest, ManifestFormatError } from "./codec.ts";
import type { CheckpointRef, ManifestState } from "./types.ts";

export interface LoadedManifest {
  id: bigint;
  state: ManifestState;
  /** The checkpoint the manifest was opened through, if any. */
  checkpoint?: CheckpointRef;
}

/** The highest manifest id under `root`, or `undefined` when there is none. */
export async function latestManifestId(store: ObjectStore, root: string): Promise<bigint | undefined> {
  const listing = await store.list(manifestDir(root));
  let best: bigint | undefined;
  for (const o of listing.objects) {
    const id = parseManifestId(o.key);
    if (id !== undefined && (best === undefined || id > best)) best = id;
  }
  return best;
}

export async function loadManifest(store: ObjectStore, root: string, id: bigint): Promise<LoadedManifest> {
  const key = manifestKey(root, id);
  const got = await store.get(key);
  if (got === undefined) {
    throw new DbAdapterError(`SlateDB manifest ${store.baseUrl}/${key} does not exist`);
  }
  try {
    return { id, state: decodeManifest(got.body) };
  } catch (e) {
    if (e instanceof ManifestFormatError) {
      throw new ManifestParseError(`${store.baseUrl}/${key}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function sameU128(a: U128, b: U128): boolean {
  return a.high === b.high && a.low === b.low;
}

/**
 * Opens the DB state a reader should serve: the manifest a checkpoint pins (looked up in the
 * latest manifest), a given manifest id, or the latest manifest.
 */
export async function openManifest(
  store: ObjectStore,
  root: string,
  which: { checkpointId?: string; manifestId?: bigint },
): Promise<LoadedManifest> {
  if (which.manifestId !== undefined && which.checkpointId === undefined) {
    return loadManifest(store, root, which.manifestId);
  }
  const latestId = await latestManifestId(store, root);
  if (latestId === undefined) {
    throw new DbAdapterError(
      `no SlateDB database at ${store.baseUrl}/${root}: ${manifestDir(root)} holds no manifest; check the dbPrefix`,
    );
  }
  const latest = await loadManifest(store, root, latestId);
  if (which.checkpointId === undefined) return latest;
  const wanted = uuidFromString(which.checkpointId);
  const cp = latest.state.checkpoints.find((c) => sameU128(c.id, wanted));
  if (cp === undefined) {
    const known = latest.state.checkpoints.map((c) => uuidToString(c.id)).join(", ") || "none";
    throw new DbAdapterError(
      `checkpoint ${which.checkpointId} is not in ${store.baseUrl}/${manifestKey(root, latestId)} (checkpoints: ${known})`,
    );
  }
  const pinned = cp.manifestId === latestId ? latest : await loadManifest(store, root, cp.manifestId);
  return { ...pinned, checkpoint: cp };
}
