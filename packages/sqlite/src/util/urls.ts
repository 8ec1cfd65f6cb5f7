/** Shard object names (reference-format §2) and URL -> store-relative key mapping. */
import { ConfigValidationError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";

export const DB_FILENAME = "shard.db";

/** `db_url` of the shard attempt -> the store key of `filename` under it. */
export function shardObjectKey(store: Pick<ObjectStore, "baseUrl">, dbUrl: string, filename: string): string {
  const base = store.baseUrl.replace(/\/+$/, "");
  const url = dbUrl.replace(/\/+$/, "");
  if (!url.startsWith(`${base}/`)) {
    throw new ConfigValidationError(
      `db_url ${JSON.stringify(dbUrl)} is not inside the store ${JSON.stringify(store.baseUrl)}; open the store that holds it`,
      { field: "db_url" },
    );
  }
  return `${url.slice(base.length + 1)}/${filename}`;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function toHex(bytes: Uint8Array, max = bytes.length): string {
  let s = "";
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) s += HEX[bytes[i]!];
  return n < bytes.length ? `${s}...` : s;
}
