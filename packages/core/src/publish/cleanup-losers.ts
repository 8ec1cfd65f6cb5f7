/**
 * Loser cleanup after a publish: every attempt URL that is not a winner is deleted as a whole path
 * segment (the store's `deletePrefix`, so `attempt=01` never takes `attempt=010` with it). Best
 * effort: failures are logged and returned, never thrown, because the snapshot is already live.
 */
import type { ObjectStore } from "@shardy/store";
import type { ShardMeta } from "../manifest/types.ts";
import { consoleLogger, describeError, type PublishLogger } from "./logger.ts";
import { tryKeyForUrl } from "./refs.ts";

export interface CleanupLosersResult {
  deleted: { url: string; objects: number }[];
  failed: { url: string; error: string }[];
}

export async function cleanupLosers(options: {
  store: ObjectStore;
  winners: readonly ShardMeta[];
  allAttemptUrls: readonly string[];
  logger?: PublishLogger;
  signal?: AbortSignal;
}): Promise<CleanupLosersResult> {
  const { store, signal } = options;
  const logger = options.logger ?? consoleLogger;
  const winnerUrls = options.winners.flatMap((w) => (w.dbUrl ? [w.dbUrl.replace(/\/+$/, "")] : []));
  const winnerSet = new Set(winnerUrls);
  const result: CleanupLosersResult = { deleted: [], failed: [] };
  for (const url of new Set(options.allAttemptUrls)) {
    const trimmed = url.replace(/\/+$/, "");
    if (winnerSet.has(trimmed)) continue;
    if (winnerUrls.some((w) => w.startsWith(`${trimmed}/`))) {
      // Deleting this segment would take a winner with it.
      const error = "a winning attempt lies below this URL; left in place";
      logger.warn(`loser cleanup skipped ${url}: ${error}`);
      result.failed.push({ url, error });
      continue;
    }
    const key = tryKeyForUrl(store, url);
    if (key === undefined || key.replace(/\/+$/, "") === "") {
      const error = `attempt URL is outside the store ${store.baseUrl}; left in place`;
      logger.warn(`loser cleanup skipped ${url}: ${error}`);
      result.failed.push({ url, error });
      continue;
    }
    try {
      const objects = await store.deletePrefix(key, { signal });
      result.deleted.push({ url, objects });
    } catch (err) {
      logger.warn(`loser cleanup could not delete ${url}`, err);
      result.failed.push({ url, error: describeError(err) });
    }
  }
  return result;
}
