/**
 * The direct SlateDB shard writer: SSTs stream to the object store as they are built (multipart
 * where the store supports it); the manifest is written last with put-if-absent.
 */
import { PreconditionFailedError, ShardWriteError, ShardyError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import { bytesEqual } from "./bytes.ts";
import { normalizeDbPrefix } from "./paths.ts";
import { queuedOutput } from "./queued-output.ts";
import {
  SnapshotBuilder,
  type SnapshotOptions,
  type SnapshotResult,
  type SnapshotSink,
  type SstOutput,
} from "./snapshot-builder.ts";

export interface SlateDbShardWriterOptions extends SnapshotOptions {
  store: ObjectStore;
  /** Store-relative root of the SlateDB database (the shard attempt's prefix). */
  dbPrefix: string;
}

export interface SlateDbSealResult extends SnapshotResult {
  /** `<store baseUrl>/<dbPrefix>`: where the database lives. */
  dbUrl: string;
}

/** The factory-shaped shard writer the build pipeline drives. */
export interface SlateDbShardWriter {
  /** Adds one row; keys must be strictly increasing. */
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  /** Adds rows in order; the fast path. */
  writeBatch(rows: Iterable<readonly [Uint8Array, Uint8Array]>): Promise<void>;
  /** Completes the database (SSTs, then the manifest). Returns the same result when repeated. */
  seal(): Promise<SlateDbSealResult>;
  /** Releases resources; before `seal` it aborts and removes what was written. */
  close(): Promise<void>;
}

export function joinUrl(base: string, prefix: string): string {
  const b = base.replace(/\/+$/, "");
  return prefix === "" ? b : `${b}/${prefix}`;
}

export function storeKey(root: string, rel: string): string {
  return root === "" ? rel : `${root}/${rel}`;
}

/**
 * Puts `bytes` at `key` only if no object exists there. An existing object with the same bytes
 * counts as success (a retried commit whose first response was lost); a different one is a
 * `ShardWriteError`.
 */
export async function putIfAbsent(store: ObjectStore, key: string, bytes: Uint8Array): Promise<void> {
  try {
    if (!store.capabilities.conditionalPut && (await store.head(key)) !== undefined) {
      throw new PreconditionFailedError(`${key} already exists`, { key });
    }
    await store.put(key, bytes, { ifNoneMatch: "*", contentType: "application/octet-stream" });
  } catch (e) {
    if (!(e instanceof PreconditionFailedError)) throw e;
    const existing = await store.get(key);
    if (existing !== undefined && bytesEqual(existing.body, bytes)) return;
    throw new ShardWriteError(
      `SlateDB manifest ${store.baseUrl}/${key} already exists: another writer used this database prefix; ` +
        "write each shard attempt under its own prefix",
      { cause: e },
    );
  }
}

/** Sink that streams every SST straight into the object store. */
export class StoreSink implements SnapshotSink {
  private readonly written: string[] = [];

  constructor(
    private readonly store: ObjectStore,
    private readonly root: string,
    private readonly maxBufferedBytes: number,
    private readonly signal?: AbortSignal,
  ) {}

  beginSst(relPath: string): SstOutput {
    const key = storeKey(this.root, relPath);
    this.written.push(key);
    const options: { contentType: string; signal?: AbortSignal } = {
      contentType: "application/octet-stream",
    };
    if (this.signal !== undefined) options.signal = this.signal;
    return queuedOutput(this.maxBufferedBytes, async (chunks) => {
      try {
        await this.store.putStream(key, chunks, options);
      } catch (e) {
        if (e instanceof ShardyError) throw e;
        throw new ShardWriteError(`uploading ${this.store.baseUrl}/${key} failed: ${(e as Error).message}`, {
          cause: e,
        });
      }
    });
  }

  async commitManifest(relPath: string, bytes: Uint8Array): Promise<void> {
    const key = storeKey(this.root, relPath);
    await putIfAbsent(this.store, key, bytes);
    this.written.push(key);
  }

  async discard(): Promise<void> {
    await Promise.allSettled(this.written.map((k) => this.store.delete(k)));
  }
}

/** A writer that streams the snapshot straight to `options.store` under `options.dbPrefix`. */
export function createSlateDbShardWriter(options: SlateDbShardWriterOptions): SlateDbShardWriter {
  const root = normalizeDbPrefix(options.dbPrefix);
  const sink = new StoreSink(
    options.store,
    root,
    options.maxBufferedBytes ?? 8 * 1024 * 1024,
    options.signal,
  );
  const builder = new SnapshotBuilder(sink, options);
  const dbUrl = joinUrl(options.store.baseUrl, root);
  let sealed: SlateDbSealResult | undefined;
  return {
    put: (key, value) => builder.put(key, value),
    writeBatch: (rows) => builder.writeBatch(rows),
    async seal() {
      if (sealed === undefined) sealed = { ...(await builder.seal()), dbUrl };
      return sealed;
    },
    async close() {
      if (sealed === undefined) await builder.abort();
    },
  };
}
