/** Object keys inside a SlateDB root: `manifest/{id:020}.manifest`, `compacted/{ULID}.sst`, `wal/{id:020}.sst`. */
import { type U128, ulidToString } from "./ulid.ts";

/** Normalises a store-relative DB root: no leading or trailing slashes ("" is the store root). */
export function normalizeDbPrefix(prefix: string): string {
  return prefix.replace(/^\/+/, "").replace(/\/+$/, "");
}

function join(root: string, rel: string): string {
  return root === "" ? rel : `${root}/${rel}`;
}

export function manifestDir(root: string): string {
  return join(root, "manifest/");
}

export function manifestKey(root: string, id: bigint): string {
  return join(root, `manifest/${id.toString().padStart(20, "0")}.manifest`);
}

export function sstRelPath(id: U128): string {
  return `compacted/${ulidToString(id)}.sst`;
}

export function sstKey(root: string, id: U128): string {
  return join(root, sstRelPath(id));
}

export function walKey(root: string, id: bigint): string {
  return join(root, `wal/${id.toString().padStart(20, "0")}.sst`);
}

/** The manifest id in a key like `.../manifest/00000000000000000007.manifest`, or undefined. */
export function parseManifestId(key: string): bigint | undefined {
  const m = /(?:^|\/)manifest\/(\d{20})\.manifest$/.exec(key);
  return m === null ? undefined : BigInt(m[1]!);
}
