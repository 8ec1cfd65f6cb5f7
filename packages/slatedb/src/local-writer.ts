/**
 * The local SlateDB shard writer: builds the snapshot in a local directory, then uploads it on
 * `close()` (SSTs first, the manifest last with put-if-absent). It can also take rows in any
 * order (`inputOrder: "any"`): they are sorted locally, spilling to disk past a memory budget,
 * and a repeated key keeps its last value.
 */
import { ConfigValidationError, ShardWriteError, ShardyError } from "@shardy/errors";
import { type LocalFs, nodeLocalFs } from "./local-fs.ts";
import { normalizeDbPrefix } from "./paths.ts";
import { queuedOutput } from "./queued-output.ts";
import { RowSorter } from "./row-sorter.ts";
import { checkRow, SnapshotBuilder, type SnapshotSink, type SstOutput } from "./snapshot-builder.ts";
import {
  joinUrl,
  putIfAbsent,
  type SlateDbSealResult,
  type SlateDbShardWriter,
  type SlateDbShardWriterOptions,
  storeKey,
} from "./writer.ts";

export interface LocalSlateDbShardWriterOptions extends SlateDbShardWriterOptions {
  /** Scratch directory for this attempt (created if missing, removed after upload). */
  localDir: string;
  fs?: LocalFs;
  /** "sorted" (default): keys strictly increasing. "any": sorted here; the last put of a key wins. */
  inputOrder?: "sorted" | "any";
  /** Memory for sorting before spilling sorted runs to `localDir` (inputOrder "any"). Default 64 MiB. */
  sortBufferBytes?: number;
  /** SST uploads running at once. Default 4. */
  uploadConcurrency?: number;
  /** Keep the local copy after upload. Default false. */
  keepLocal?: boolean;
}

export interface LocalSlateDbSealResult extends SlateDbSealResult {
  /** Puts that an later put of the same key replaced (inputOrder "any"). */
  duplicateCount: number;
}

export interface LocalSlateDbShardWriter extends SlateDbShardWriter {
  seal(): Promise<LocalSlateDbSealResult>;
  /** After `seal`: uploads the snapshot (retried by calling again). Before: discards everything. */
  close(): Promise<void>;
}

class LocalDirSink implements SnapshotSink {
  readonly ssts: string[] = [];
  manifest: { rel: string; bytes: Uint8Array } | undefined;

  constructor(
    private readonly fs: LocalFs,
    private readonly dir: string,
    private readonly maxBufferedBytes: number,
  ) {}

  beginSst(relPath: string): SstOutput {
    this.ssts.push(relPath);
    const path = `${this.dir}/${relPath}`;
    return queuedOutput(this.maxBufferedBytes, async (chunks) => {
      await this.fs.mkdirp(path.slice(0, path.lastIndexOf("/")));
      const file = await this.fs.create(path);
      try {
        for await (const c of chunks) await file.write(c);
      } finally {
        await file.close();
      }
    });
  }

  async commitManifest(relPath: string, bytes: Uint8Array): Promise<void> {
    const path = `${this.dir}/${relPath}`;
    await this.fs.mkdirp(path.slice(0, path.lastIndexOf("/")));
    const file = await this.fs.create(path, { exclusive: true });
    try {
      await file.write(bytes);
    } finally {
      await file.close();
    }
    this.manifest = { rel: relPath, bytes };
  }

  async discard(): Promise<void> {
    await this.fs.remove(this.dir);
  }
}

async function runLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await task(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export function createLocalSlateDbShardWriter(
  options: LocalSlateDbShardWriterOptions,
): LocalSlateDbShardWriter {
  const fs = options.fs ?? nodeLocalFs;
  const root = normalizeDbPrefix(options.dbPrefix);
  const localDir = options.localDir.replace(/\/+$/, "");
  if (localDir === "") {
    throw new ConfigValidationError("localDir must name a scratch directory for the shard", {
      field: "localDir",
    });
  }
  const dbDir = `${localDir}/db`;
  const sink = new LocalDirSink(fs, dbDir, options.maxBufferedBytes ?? 8 * 1024 * 1024);
  const builder = new SnapshotBuilder(sink, options);
  const inputOrder = options.inputOrder ?? "sorted";
  if (inputOrder !== "sorted" && inputOrder !== "any") {
    throw new ConfigValidationError(`inputOrder ${JSON.stringify(inputOrder)} must be "sorted" or "any"`, {
      field: "inputOrder",
    });
  }
  const sorter =
    inputOrder === "any"
      ? new RowSorter(fs, `${localDir}/sort`, options.sortBufferBytes ?? 64 * 1024 * 1024)
      : undefined;
  const dbUrl = joinUrl(options.store.baseUrl, root);
  let sealed: LocalSlateDbSealResult | undefined;
  let uploaded = false;
  let sortedRows = 0;
  let failed = false;

  const upload = async () => {
    const store = options.store;
    const manifest = sink.manifest;
    if (manifest === undefined)
      throw new ShardWriteError("nothing to upload: the local snapshot has no manifest");
    await runLimited(sink.ssts, options.uploadConcurrency ?? 4, async (rel) => {
      const key = storeKey(root, rel);
      try {
        const putOptions: { contentType: string; signal?: AbortSignal } = {
          contentType: "application/octet-stream",
        };
        if (options.signal !== undefined) putOptions.signal = options.signal;
        await store.putStream(key, fs.read(`${dbDir}/${rel}`), putOptions);
      } catch (e) {
        if (e instanceof ShardyError) throw e;
        throw new ShardWriteError(`uploading ${store.baseUrl}/${key} failed: ${(e as Error).message}`, {
          cause: e,
        });
      }
    });
    await putIfAbsent(store, storeKey(root, manifest.rel), manifest.bytes);
  };

  /** inputOrder "any": validate, buffer, spill when the sort buffer is full. */
  const addUnsorted = async (rows: Iterable<readonly [Uint8Array, Uint8Array]>, s: RowSorter) => {
    if (sealed !== undefined) throw new ConfigValidationError("the shard writer is sealed; no more rows");
    if (failed)
      throw new ConfigValidationError("the shard writer failed earlier; close it and start a new attempt");
    options.signal?.throwIfAborted();
    for (const [key, value] of rows) {
      try {
        checkRow(key, value, sortedRows++);
      } catch (e) {
        failed = true;
        throw e;
      }
      if (s.add(key, value)) await s.spill();
    }
  };

  return {
    put: (key, value) =>
      sorter === undefined ? builder.put(key, value) : addUnsorted([[key, value]], sorter),
    writeBatch: (rows) => (sorter === undefined ? builder.writeBatch(rows) : addUnsorted(rows, sorter)),
    async seal() {
      if (sealed !== undefined) return sealed;
      if (sorter !== undefined) {
        for await (const batch of sorter.sorted()) await builder.writeBatch(batch);
        await sorter.cleanup();
      }
      const result = await builder.seal();
      sealed = { ...result, dbUrl, duplicateCount: sorter?.duplicates ?? 0 };
      return sealed;
    },
    async close() {
      if (sealed === undefined) {
        await builder.abort();
        await fs.remove(localDir);
        return;
      }
      if (uploaded) return;
      await upload();
      uploaded = true;
      if (!options.keepLocal) await fs.remove(localDir);
    },
  };
}
