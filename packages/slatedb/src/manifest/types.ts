/** The decoded state of a SlateDB manifest (V1 or V2), as far as a reader needs it. */
import type { SsTableInfo } from "../sst/format.ts";
import type { U128 } from "../ulid.ts";

export const BoundType = { Unknown: 0, Unbounded: 1, Included: 2, Excluded: 3 } as const;

export interface KeyBound {
  key: Uint8Array;
  boundType: number;
}

export interface BytesRange {
  start: KeyBound;
  end: KeyBound;
}

/** One SST as the manifest references it (a V2 view is resolved to its SST). */
export interface SstRef {
  /** The SST's ULID; the object is `compacted/<ULID>.sst`. */
  id: U128;
  info: SsTableInfo;
  /** Block format: 1 or 2. Absent in the manifest means 1. */
  formatVersion: number;
  /** Keys outside this range are not visible through this reference. */
  visibleRange?: BytesRange;
}

export interface SortedRunRef {
  id: number;
  /** Non-overlapping, sorted by first key. */
  ssts: SstRef[];
}

export interface CheckpointRef {
  id: U128;
  manifestId: bigint;
  /** Unix seconds; 0 = never expires. */
  expireTimeS: number;
  createTimeS: number;
  name?: string;
}

/** A keyspace segment (ManifestV2, RFC-0024): its own L0 and sorted runs for keys with `prefix`. */
export interface SegmentState {
  prefix: Uint8Array;
  l0: SstRef[];
  compacted: SortedRunRef[];
}

export interface ManifestState {
  /** 1 = ManifestV1, 2 = ManifestV2 (the u16 prefix of the object). */
  formatVersion: number;
  initialized: boolean;
  writerEpoch: bigint;
  compactorEpoch: bigint;
  replayAfterWalId: bigint;
  walIdLastSeen: bigint;
  /** Newest first. */
  l0: SstRef[];
  /** Newest (highest id) first. */
  compacted: SortedRunRef[];
  lastL0ClockTick: bigint;
  checkpoints: CheckpointRef[];
  /** Rows with a greater seq are not visible. */
  lastL0Seq: bigint;
  walObjectStoreUri?: string;
  recentSnapshotMinSeq: bigint;
  segments: SegmentState[];
}
