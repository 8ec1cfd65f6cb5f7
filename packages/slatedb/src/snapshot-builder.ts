/**
 * Turns a key-sorted row stream into a SlateDB snapshot: SSTs of about `sstTargetBytes` in one
 * sorted run, then a ManifestV1 holding that run and a never-expiring checkpoint. Where the
 * bytes go (object store, local directory) is the sink's business.
 */
import { ConfigValidationError } from "@shardy/errors";
import { compareBytes, compareBytesPrefix, describeKey } from "./bytes.ts";
import type { SstHashing } from "./hash/hashing.ts";
import { defaultHashing } from "./hash/kernel.ts";
import { encodeManifestV1, I64_MIN } from "./manifest/codec.ts";
import type { ManifestState, SstRef } from "./manifest/types.ts";
import { sstRelPath } from "./paths.ts";
import { KeyCopy } from "./sst/block-builder.ts";
import { compressionFormatOf } from "./sst/compression.ts";
import {
  type CompressionFormat,
  type CompressionName,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  SST_FORMAT_V2,
} from "./sst/format.ts";
import { SstBuilder } from "./sst/sst-builder.ts";
import { newUlid, newUuid, type U128, uuidToString } from "./ulid.ts";

export const DEFAULT_SST_TARGET_BYTES = 64 * 1024 * 1024;
/** Every row carries this seq; the manifest's `last_l0_seq` equals it, so all rows are visible. */
export const SNAPSHOT_SEQ = 1n;

/** Where one SST's bytes go. */
export interface SstOutput {
  write(chunk: Uint8Array): void;
  /** True while the output buffers more than its bound; the builder then awaits `drained`. */
  readonly full: boolean;
  drained(): Promise<void>;
  /** Resolves when the object is completely stored. */
  finish(): Promise<void>;
  abort(reason: unknown): Promise<void>;
}

export interface SnapshotSink {
  beginSst(relPath: string): SstOutput;
  /** Stores the manifest at `relPath` only if nothing exists there (the commit point). */
  commitManifest(relPath: string, bytes: Uint8Array): Promise<void>;
  /** Best-effort removal of everything this sink wrote. */
  discard(): Promise<void>;
}

export interface SnapshotOptions {
  /** Rotate to a new SST once this many bytes of data blocks are written. Default 64 MiB. */
  sstTargetBytes?: number;
  /** Data block size. Default 4096. */
  blockSize?: number;
  /** Bloom filter bits per key (0 = no filter). Default 10. */
  bloomBitsPerKey?: number;
  /** Write a filter only for SSTs with at least this many rows. Default 1. */
  minFilterKeys?: number;
  /** Block format: 2 (default; SlateDB 0.11+) or 1 (also readable by older builds). */
  blockFormat?: 1 | 2;
  /** Block codec; default "none", which every SlateDB build reads. zstd cannot be written. */
  compression?: Exclude<CompressionName, "zstd">;
  /** Hash implementations; default the shared WASM kernel (`jsHashing` needs no WASM). */
  hashing?: SstHashing;
  /** Name recorded on the checkpoint. Default "snapshot". */
  checkpointName?: string;
  /** Clock for ULIDs and the checkpoint's create time (ms). */
  now?: () => number;
  signal?: AbortSignal;
  /** Cap on rows buffered in memory (per SST upload) before the writer waits. Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Bytes per chunk handed to the upload. Default 1 MiB. */
  chunkBytes?: number;
}

export interface SnapshotResult {
  /** The checkpoint to open the snapshot with (hyphenated UUID). */
  checkpointId: string;
  manifestId: bigint;
  /** Bytes of all SSTs plus the manifest. */
  dbBytes: number;
  rowCount: number;
  sstCount: number;
  minKey: Uint8Array | undefined;
  maxKey: Uint8Array | undefined;
}

type Row = readonly [key: Uint8Array, value: Uint8Array];

/** Rejects rows SlateDB cannot store: empty keys, keys over 65,535 bytes, values over 2^32-1 bytes. */
export function checkRow(key: Uint8Array, value: Uint8Array, row: number): void {
  if (key.length === 0) {
    throw new ConfigValidationError(`row ${row}: empty key; SlateDB does not allow empty keys`, {
      field: "key",
    });
  }
  if (key.length > MAX_KEY_BYTES) {
    throw new ConfigValidationError(
      `row ${row}: key of ${key.length} bytes (${describeKey(key)}) exceeds SlateDB's limit of ${MAX_KEY_BYTES} bytes`,
      { field: "key" },
    );
  }
  if (value.length > MAX_VALUE_BYTES) {
    throw new ConfigValidationError(`row ${row}: value of ${value.length} bytes exceeds 2^32-1 bytes`, {
      field: "value",
    });
  }
}

interface OpenSst {
  id: U128;
  builder: SstBuilder;
  out: SstOutput;
}

export class SnapshotBuilder {
  private readonly opts: Required<
    Omit<SnapshotOptions, "signal" | "compression" | "hashing" | "blockFormat">
  >;
  private readonly blockFormat: 1 | 2;
  private hashing: SstHashing | undefined;
  private readonly compression: CompressionFormat;
  private current: OpenSst | undefined;
  private readonly finished: SstRef[] = [];
  private readonly uploads: Promise<void>[] = [];
  private readonly prev = new KeyCopy();
  private first: Uint8Array | undefined;
  private rows = 0;
  private dataBytes = 0;
  private state: "open" | "sealed" | "failed" = "open";
  private result: SnapshotResult | undefined;

  constructor(
    private readonly sink: SnapshotSink,
    options: SnapshotOptions = {},
  ) {
    const target = options.sstTargetBytes ?? DEFAULT_SST_TARGET_BYTES;
    if (!Number.isSafeInteger(target) || target < 1) {
      throw new ConfigValidationError(
        `sstTargetBytes ${target} must be a positive integer (default 64 MiB)`,
        {
          field: "sstTargetBytes",
        },
      );
    }
    const bits = options.bloomBitsPerKey ?? 10;
    if (!Number.isInteger(bits) || bits < 0 || bits > 64) {
      throw new ConfigValidationError(`bloomBitsPerKey ${bits} must be an integer in 0..64 (default 10)`, {
        field: "bloomBitsPerKey",
      });
    }
    const blockSize = options.blockSize ?? 4096;
    if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 65_536) {
      throw new ConfigValidationError(`blockSize ${blockSize} must be in 1..65536 bytes (default 4096)`, {
        field: "blockSize",
      });
    }
    const compression = options.compression ?? "none";
    if (!["none", "snappy", "zlib", "lz4"].includes(compression)) {
      throw new ConfigValidationError(
        `compression ${JSON.stringify(compression)} cannot be written: use none, snappy, zlib or lz4`,
        { field: "compression" },
      );
    }
    this.compression = compressionFormatOf(compression);
    const blockFormat = options.blockFormat ?? SST_FORMAT_V2;
    if (blockFormat !== 1 && blockFormat !== 2) {
      throw new ConfigValidationError(`blockFormat ${String(blockFormat)} must be 1 or 2 (default 2)`, {
        field: "blockFormat",
      });
    }
    this.blockFormat = blockFormat;
    this.opts = {
      sstTargetBytes: target,
      blockSize,
      bloomBitsPerKey: bits,
      minFilterKeys: options.minFilterKeys ?? 1,
      checkpointName: options.checkpointName ?? "snapshot",
      now: options.now ?? Date.now,
      maxBufferedBytes: options.maxBufferedBytes ?? 8 * 1024 * 1024,
      chunkBytes: options.chunkBytes ?? 1 << 20,
    };
    this.signal = options.signal;
    this.hashing = options.hashing;
  }

  private readonly signal: AbortSignal | undefined;

  get rowCount(): number {
    return this.rows;
  }

  private checkOpen(): void {
    if (this.state === "sealed") throw new ConfigValidationError("the shard writer is sealed; no more rows");
    if (this.state === "failed") {
      throw new ConfigValidationError("the shard writer failed earlier; close it and start a new attempt");
    }
    this.signal?.throwIfAborted();
  }

  private validate(key: Uint8Array, value: Uint8Array, row: number): void {
    checkRow(key, value, row);
    if (row > 0 && compareBytesPrefix(key, this.prev.buf, this.prev.length) <= 0) {
      const what = compareBytes(key, this.prev.view()) === 0 ? "repeats" : "sorts before";
      throw new ConfigValidationError(
        `row ${row}: key ${describeKey(key)} ${what} the previous key ${describeKey(this.prev.view())}; ` +
          "the SlateDB snapshot writer needs strictly increasing keys (sort and de-duplicate the shard's rows)",
        { field: "key" },
      );
    }
  }

  private openSst(): OpenSst {
    const id = newUlid(this.opts.now());
    const out = this.sink.beginSst(sstRelPath(id));
    const builder = new SstBuilder(
      {
        hashing: this.hashing!,
        blockSize: this.opts.blockSize,
        bitsPerKey: this.opts.bloomBitsPerKey,
        minFilterKeys: this.opts.minFilterKeys,
        compression: this.compression,
        chunkBytes: this.opts.chunkBytes,
        formatVersion: this.blockFormat,
      },
      (chunk) => out.write(chunk),
    );
    return { id, builder, out };
  }

  private async closeSst(): Promise<void> {
    const sst = this.current;
    if (sst === undefined) return;
    this.current = undefined;
    const done = sst.builder.finish();
    this.dataBytes += done.size;
    this.finished.push({ id: sst.id, info: done.info, formatVersion: this.blockFormat });
    const upload = sst.out.finish();
    upload.catch(() => {}); // observed by seal()/abort(); avoids an unhandled-rejection report
    this.uploads.push(upload);
    // Let the next SST build while this one uploads, but keep at most two in flight.
    if (this.uploads.length >= 2) await this.uploads[this.uploads.length - 2];
  }

  /** Adds rows (keys strictly increasing across all calls). */
  async writeBatch(rows: Iterable<Row>): Promise<void> {
    this.checkOpen();
    try {
      if (this.hashing === undefined) this.hashing = await defaultHashing();
      for (const [key, value] of rows) {
        this.validate(key, value, this.rows);
        if (this.current === undefined) this.current = this.openSst();
        const sst = this.current;
        sst.builder.add(key, value, SNAPSHOT_SEQ);
        if (this.rows === 0) this.first = key.slice();
        this.prev.set(key);
        this.rows++;
        if (sst.builder.dataBytes >= this.opts.sstTargetBytes) await this.closeSst();
        else if (sst.out.full) await sst.out.drained();
      }
    } catch (e) {
      this.state = "failed";
      throw e;
    }
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.writeBatch([[key, value]]);
  }

  /** Finishes the last SST, waits for every upload, then commits the manifest. Idempotent. */
  async seal(): Promise<SnapshotResult> {
    if (this.result !== undefined) return this.result;
    this.checkOpen();
    try {
      await this.closeSst();
      await Promise.all(this.uploads);
      const checkpointId = newUuid();
      const manifest: ManifestState = {
        formatVersion: 1,
        initialized: true,
        writerEpoch: 0n,
        compactorEpoch: 0n,
        replayAfterWalId: 0n,
        walIdLastSeen: 0n,
        l0: [],
        compacted: this.finished.length === 0 ? [] : [{ id: 0, ssts: this.finished }],
        lastL0ClockTick: I64_MIN,
        checkpoints: [
          {
            id: checkpointId,
            manifestId: 1n,
            expireTimeS: 0,
            createTimeS: Math.floor(this.opts.now() / 1000),
            name: this.opts.checkpointName,
          },
        ],
        lastL0Seq: SNAPSHOT_SEQ,
        recentSnapshotMinSeq: 0n,
        segments: [],
      };
      const bytes = encodeManifestV1(manifest);
      await this.sink.commitManifest("manifest/00000000000000000001.manifest", bytes);
      this.state = "sealed";
      this.result = {
        checkpointId: uuidToString(checkpointId),
        manifestId: 1n,
        dbBytes: this.dataBytes + bytes.length,
        rowCount: this.rows,
        sstCount: this.finished.length,
        minKey: this.first,
        maxKey: this.rows === 0 ? undefined : this.prev.view().slice(),
      };
      return this.result;
    } catch (e) {
      this.state = "failed";
      throw e;
    }
  }

  /** Stops in-flight uploads and removes what was written, unless the snapshot was sealed. */
  async abort(reason: unknown = new Error("shard writer closed before seal")): Promise<void> {
    if (this.state === "sealed") return;
    this.state = "failed";
    const sst = this.current;
    this.current = undefined;
    if (sst !== undefined) await sst.out.abort(reason);
    await Promise.allSettled(this.uploads);
    await this.sink.discard();
  }
}
