/** Listing run records (`<prefix>/runs/<ts>_run_id=<run>_<hex>/run.yaml`). */
import { joinKey, type ObjectStore } from "@shardy/store";
import { describeError } from "../publish/logger.ts";
import { urlForKey } from "../publish/refs.ts";
import { DEFAULT_RUN_REGISTRY_PREFIX } from "./lifecycle.ts";
import { decodeRunRecord, RUN_RECORD_FILENAME, type RunRecord } from "./record.ts";

const RUN_DIR_RE =
  /^(?<timestamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)_run_id=(?<runId>.+)_(?<hex>[0-9a-f]{32})$/;

/** Splits a run record directory name into its timestamp and run id. */
export function parseRunDirName(name: string): { timestamp: string; runId: string } | undefined {
  const groups = RUN_DIR_RE.exec(name)?.groups;
  if (!groups?.timestamp || !groups.runId) return undefined;
  return { timestamp: groups.timestamp, runId: groups.runId };
}

export interface ListedRunRecord {
  key: string;
  ref: string;
  record: RunRecord;
}

export interface RunRecordListing {
  records: ListedRunRecord[];
  /** Records whose object could not be read or parsed, with the run id from the directory name. */
  invalid: { key: string; runId: string; error: string }[];
}

export async function listRunRecords(
  store: ObjectStore,
  prefix: string,
  options: {
    registryPrefix?: string;
    /** Only fetch records of these runs (their ids are in the directory names). */
    runIds?: ReadonlySet<string>;
    signal?: AbortSignal;
  } = {},
): Promise<RunRecordListing> {
  const dirPrefix = `${joinKey(prefix, options.registryPrefix ?? DEFAULT_RUN_REGISTRY_PREFIX)}/`;
  const listing = await store.list(dirPrefix, { signal: options.signal });
  const out: RunRecordListing = { records: [], invalid: [] };
  for (const object of listing.objects) {
    const rest = object.key.slice(dirPrefix.length).split("/");
    if (rest.length !== 2 || rest[1] !== RUN_RECORD_FILENAME) continue;
    const parsed = parseRunDirName(rest[0]!);
    if (parsed === undefined) continue;
    if (options.runIds && !options.runIds.has(parsed.runId)) continue;
    try {
      const got = await store.get(object.key, { signal: options.signal });
      if (got === undefined) continue; // deleted since the listing
      const record = decodeRunRecord(new TextDecoder().decode(got.body), object.key);
      out.records.push({ key: object.key, ref: urlForKey(store, object.key), record });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      out.invalid.push({ key: object.key, runId: parsed.runId, error: describeError(err) });
    }
  }
  return out;
}
