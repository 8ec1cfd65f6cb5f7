/**
 * Manifest objects: `u16 BE format version || FlatBuffer` (no file identifier). Version 1 is a
 * `ManifestV1` root (what this package writes; readable by SlateDB 0.11 and later), version 2 a
 * `ManifestV2` (written by official builds that use segments). Slots follow `schemas/manifest.fbs`.
 */
import { Builder } from "flatbuffers";
import { FbTable, FlatBufferFormatError } from "../flatbuf.ts";
import { addSsTableInfo, readSsTableInfo, SST_FORMAT_V1 } from "../sst/format.ts";
import type { U128 } from "../ulid.ts";
import type {
  BytesRange,
  CheckpointRef,
  KeyBound,
  ManifestState,
  SegmentState,
  SortedRunRef,
  SstRef,
} from "./types.ts";

export const MANIFEST_V1 = 1;
export const MANIFEST_V2 = 2;
export const I64_MIN = -(1n << 63n);

const V1 = {
  manifestId: 0,
  externalDbs: 1,
  initialized: 2,
  writerEpoch: 3,
  compactorEpoch: 4,
  replayAfterWalId: 5,
  walIdLastSeen: 6,
  l0LastCompacted: 7,
  l0: 8,
  compacted: 9,
  lastL0ClockTick: 10,
  checkpoints: 11,
  lastL0Seq: 12,
  walObjectStoreUri: 13,
  recentSnapshotMinSeq: 14,
  sequenceTracker: 15,
} as const;

const V2 = {
  manifestId: 0,
  externalDbs: 1,
  initialized: 2,
  writerEpoch: 3,
  compactorEpoch: 4,
  replayAfterWalId: 5,
  walIdLastSeen: 6,
  lastCompactedL0SstViewId: 7,
  ssts: 8,
  l0: 9,
  compacted: 10,
  lastL0ClockTick: 11,
  checkpoints: 12,
  lastL0Seq: 13,
  recentSnapshotMinSeq: 14,
  sequenceTracker: 15,
  segments: 16,
  segmentExtractorName: 17,
} as const;

/** Checkpoint slots; the `metadata` union takes two (type and value). */
const CP = {
  id: 0,
  manifestId: 1,
  expireTimeS: 2,
  createTimeS: 3,
  metadataType: 4,
  metadata: 5,
  name: 6,
} as const;

export class ManifestFormatError extends Error {}

// ---------------------------------------------------------------- encode (V1)

function addU128(b: Builder, u: U128): number {
  b.startObject(2);
  b.addFieldInt64(0, u.high, 0n);
  b.addFieldInt64(1, u.low, 0n);
  return b.endObject();
}

function addTableVector(b: Builder, items: number[]): number {
  b.startVector(4, items.length, 4);
  for (let i = items.length - 1; i >= 0; i--) b.addOffset(items[i]!);
  return b.endVector();
}

function addBound(b: Builder, bound: KeyBound): number {
  const key = b.createByteVector(bound.key);
  b.startObject(2);
  b.addFieldOffset(0, key, 0);
  b.addFieldInt8(1, bound.boundType, 0);
  return b.endObject();
}

function addRange(b: Builder, range: BytesRange): number {
  const start = addBound(b, range.start);
  const end = addBound(b, range.end);
  b.startObject(2);
  b.addFieldOffset(0, start, 0);
  b.addFieldOffset(1, end, 0);
  return b.endObject();
}

function addCompactedSst(b: Builder, sst: SstRef): number {
  const id = addU128(b, sst.id);
  const info = addSsTableInfo(b, sst.info);
  const range = sst.visibleRange === undefined ? 0 : addRange(b, sst.visibleRange);
  b.startObject(4);
  b.addFieldOffset(0, id, 0);
  b.addFieldOffset(1, info, 0);
  if (range !== 0) b.addFieldOffset(2, range, 0);
  // Written explicitly: an absent value means format 1, and v2 blocks would then be misread.
  b.addFieldInt16(3, sst.formatVersion, null);
  return b.endObject();
}

function addCheckpoint(b: Builder, cp: CheckpointRef): number {
  const id = addU128(b, cp.id);
  const name = cp.name === undefined ? 0 : b.createString(cp.name);
  b.startObject(7);
  b.addFieldInt64(CP.manifestId, cp.manifestId, 0n);
  b.addFieldOffset(CP.id, id, 0);
  b.addFieldInt32(CP.expireTimeS, cp.expireTimeS, 0);
  b.addFieldInt32(CP.createTimeS, cp.createTimeS, 0);
  if (name !== 0) b.addFieldOffset(CP.name, name, 0);
  return b.endObject();
}

/** Encodes a `ManifestV1` object (prefix included). Segments and WAL store URIs are not supported. */
export function encodeManifestV1(m: ManifestState): Uint8Array {
  if (m.segments.length > 0) throw new ManifestFormatError("ManifestV1 cannot hold segments");
  const b = new Builder(1024);
  const l0 = addTableVector(
    b,
    m.l0.map((s) => addCompactedSst(b, s)),
  );
  const runs = m.compacted.map((run) => {
    const ssts = addTableVector(
      b,
      run.ssts.map((s) => addCompactedSst(b, s)),
    );
    b.startObject(2);
    b.addFieldInt32(0, run.id, 0);
    b.addFieldOffset(1, ssts, 0);
    return b.endObject();
  });
  const compacted = addTableVector(b, runs);
  const checkpoints = addTableVector(
    b,
    m.checkpoints.map((c) => addCheckpoint(b, c)),
  );
  const walUri = m.walObjectStoreUri === undefined ? 0 : b.createString(m.walObjectStoreUri);
  b.startObject(16);
  b.addFieldInt64(V1.manifestId, 0n, 0n);
  b.addFieldInt64(V1.writerEpoch, m.writerEpoch, 0n);
  b.addFieldInt64(V1.compactorEpoch, m.compactorEpoch, 0n);
  b.addFieldInt64(V1.replayAfterWalId, m.replayAfterWalId, 0n);
  b.addFieldInt64(V1.walIdLastSeen, m.walIdLastSeen, 0n);
  b.addFieldInt64(V1.lastL0ClockTick, m.lastL0ClockTick, 0n);
  b.addFieldInt64(V1.lastL0Seq, m.lastL0Seq, 0n);
  b.addFieldInt64(V1.recentSnapshotMinSeq, m.recentSnapshotMinSeq, 0n);
  b.addFieldOffset(V1.l0, l0, 0);
  b.addFieldOffset(V1.compacted, compacted, 0);
  b.addFieldOffset(V1.checkpoints, checkpoints, 0);
  if (walUri !== 0) b.addFieldOffset(V1.walObjectStoreUri, walUri, 0);
  b.addFieldInt8(V1.initialized, m.initialized ? 1 : 0, 0);
  const root = b.endObject();
  b.finish(root);
  const fb = b.asUint8Array();
  const out = new Uint8Array(2 + fb.length);
  out[0] = 0;
  out[1] = MANIFEST_V1;
  out.set(fb, 2);
  return out;
}

// ---------------------------------------------------------------- decode (V1 and V2)

function readU128(t: FbTable): U128 {
  return { high: t.u64(0), low: t.u64(1) };
}

function readRange(t: FbTable | undefined): BytesRange | undefined {
  if (t === undefined) return undefined;
  const bound = (slot: number, what: string) => {
    const bt = t.requiredTable(slot, what);
    return { key: bt.bytes(0)?.slice() ?? new Uint8Array(0), boundType: bt.u8(1) };
  };
  return { start: bound(0, "BytesRange.start_bound"), end: bound(1, "BytesRange.end_bound") };
}

function readCompactedSst(t: FbTable): SstRef {
  const ref: SstRef = {
    id: readU128(t.requiredTable(0, "CompactedSsTable.id")),
    info: readSsTableInfo(t.requiredTable(1, "CompactedSsTable.info")),
    formatVersion: t.u16(3) ?? SST_FORMAT_V1,
  };
  const range = readRange(t.table(2));
  if (range !== undefined) ref.visibleRange = range;
  return ref;
}

function readCheckpoint(t: FbTable): CheckpointRef {
  const cp: CheckpointRef = {
    id: readU128(t.requiredTable(CP.id, "Checkpoint.id")),
    manifestId: t.u64(CP.manifestId),
    expireTimeS: t.u32(CP.expireTimeS),
    createTimeS: t.u32(CP.createTimeS),
  };
  const name = t.string(CP.name);
  if (name !== undefined) cp.name = name;
  return cp;
}

function u128Key(u: U128): string {
  return `${u.high}:${u.low}`;
}

function decodeV1(root: FbTable): ManifestState {
  const m: ManifestState = {
    formatVersion: MANIFEST_V1,
    initialized: root.bool(V1.initialized),
    writerEpoch: root.u64(V1.writerEpoch),
    compactorEpoch: root.u64(V1.compactorEpoch),
    replayAfterWalId: root.u64(V1.replayAfterWalId),
    walIdLastSeen: root.u64(V1.walIdLastSeen),
    l0: root.requiredTables(V1.l0, "ManifestV1.l0").map(readCompactedSst),
    compacted: root.requiredTables(V1.compacted, "ManifestV1.compacted").map((r) => ({
      id: r.u32(0),
      ssts: r.requiredTables(1, "SortedRun.ssts").map(readCompactedSst),
    })),
    lastL0ClockTick: root.i64(V1.lastL0ClockTick),
    checkpoints: root.requiredTables(V1.checkpoints, "ManifestV1.checkpoints").map(readCheckpoint),
    lastL0Seq: root.u64(V1.lastL0Seq),
    recentSnapshotMinSeq: root.u64(V1.recentSnapshotMinSeq),
    segments: [],
  };
  const uri = root.string(V1.walObjectStoreUri);
  if (uri !== undefined) m.walObjectStoreUri = uri;
  return m;
}

function decodeV2(root: FbTable): ManifestState {
  const ssts = new Map<string, { info: SstRef["info"]; formatVersion: number }>();
  for (const t of root.requiredTables(V2.ssts, "ManifestV2.ssts")) {
    const id = readU128(t.requiredTable(0, "CompactedSsTableV2.id"));
    ssts.set(u128Key(id), {
      info: readSsTableInfo(t.requiredTable(1, "CompactedSsTableV2.info")),
      formatVersion: t.u16(2) ?? SST_FORMAT_V1,
    });
  }
  const view = (t: FbTable): SstRef => {
    const id = readU128(t.requiredTable(1, "CompactedSsTableView.sst_id"));
    const sst = ssts.get(u128Key(id));
    if (sst === undefined) {
      throw new ManifestFormatError(
        `a view references SST ${u128Key(id)}, which ManifestV2.ssts does not list`,
      );
    }
    const ref: SstRef = { id, info: sst.info, formatVersion: sst.formatVersion };
    const range = readRange(t.table(2));
    if (range !== undefined) ref.visibleRange = range;
    return ref;
  };
  const runs = (tables: FbTable[]): SortedRunRef[] =>
    tables.map((r) => ({ id: r.u32(0), ssts: r.requiredTables(1, "SortedRunV2.ssts").map(view) }));
  const segments: SegmentState[] = (root.tables(V2.segments) ?? []).map((s) => ({
    prefix: s.bytes(0)?.slice() ?? new Uint8Array(0),
    l0: s.requiredTables(2, "Segment.l0").map(view),
    compacted: runs(s.requiredTables(3, "Segment.compacted")),
  }));
  return {
    formatVersion: MANIFEST_V2,
    initialized: root.bool(V2.initialized),
    writerEpoch: root.u64(V2.writerEpoch),
    compactorEpoch: root.u64(V2.compactorEpoch),
    replayAfterWalId: root.u64(V2.replayAfterWalId),
    walIdLastSeen: root.u64(V2.walIdLastSeen),
    l0: root.requiredTables(V2.l0, "ManifestV2.l0").map(view),
    compacted: runs(root.requiredTables(V2.compacted, "ManifestV2.compacted")),
    lastL0ClockTick: root.i64(V2.lastL0ClockTick),
    checkpoints: root.requiredTables(V2.checkpoints, "ManifestV2.checkpoints").map(readCheckpoint),
    lastL0Seq: root.u64(V2.lastL0Seq),
    recentSnapshotMinSeq: root.u64(V2.recentSnapshotMinSeq),
    segments,
  };
}

/** Decodes a manifest object; throws `ManifestFormatError` naming what is wrong. */
export function decodeManifest(bytes: Uint8Array): ManifestState {
  if (bytes.length < 2)
    throw new ManifestFormatError(`manifest of ${bytes.length} bytes has no version prefix`);
  const version = (bytes[0]! << 8) | bytes[1]!;
  if (version !== MANIFEST_V1 && version !== MANIFEST_V2) {
    throw new ManifestFormatError(`manifest format version ${version} is not supported (1 or 2)`);
  }
  try {
    const root = FbTable.root(bytes.subarray(2), version === MANIFEST_V1 ? "ManifestV1" : "ManifestV2");
    return version === MANIFEST_V1 ? decodeV1(root) : decodeV2(root);
  } catch (e) {
    if (e instanceof FlatBufferFormatError || e instanceof RangeError) {
      throw new ManifestFormatError(`corrupt manifest (format version ${version}): ${e.message}`, {
        cause: e,
      });
    }
    throw e;
  }
}
