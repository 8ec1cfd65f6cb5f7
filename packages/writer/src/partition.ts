/**
 * Rows of a record batch grouped by shard id: one counting-sort permutation, one gather per
 * column, then zero-copy slices per shard. Flat types are gathered buffer to buffer; nested
 * types fall back to Arrow's value-by-value builders (only Arrow IPC inputs carry them).
 */
import {
  type Data,
  type DataType,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Type,
  vectorFromArray,
} from "apache-arrow";

export interface ShardSlice {
  dbId: number;
  batch: RecordBatch;
}

/** Rows of one shard inside a partitioned batch: `[start, end)`. */
export interface ShardRange {
  dbId: number;
  start: number;
  end: number;
}

export interface Partitioned {
  /** The rows regrouped: all of one shard together, shards in the requested order. */
  batch: RecordBatch;
  /** Non-empty shards, in row order. */
  ranges: ShardRange[];
  /** Rows per shard id of the whole input batch (including shards left out by `order`). */
  counts: Int32Array;
}

/**
 * Regroups `batch` by shard id with one counting sort and one gather per column. `order` lists
 * the shard ids in the order their rows should appear (default ascending), e.g. grouped by the
 * worker that owns them so each worker's rows are one contiguous range. Rows of shards missing
 * from `order` are dropped (a thread keeping only the shards it owns).
 */
export function groupByShard(
  batch: RecordBatch,
  ids: Int32Array,
  numDbs: number,
  order?: readonly number[],
): Partitioned {
  const n = batch.numRows;
  if (ids.length !== n) throw new RangeError(`got ${ids.length} shard ids for ${n} rows`);
  const counts = new Int32Array(numDbs);
  for (let i = 0; i < n; i++) counts[ids[i]!]!++;
  const seq = order ?? Array.from({ length: numDbs }, (_, d) => d);
  // -1: a shard left out of `order`.
  const starts = new Int32Array(numDbs).fill(-1);
  const ranges: ShardRange[] = [];
  let at = 0;
  for (const d of seq) {
    starts[d] = at;
    const c = counts[d]!;
    if (c > 0) ranges.push({ dbId: d, start: at, end: at + c });
    at += c;
  }
  if (at === n && ranges.length === 1) return { batch, ranges, counts };
  const perm = new Int32Array(at);
  if (at === n) {
    for (let i = 0; i < n; i++) perm[starts[ids[i]!]!++] = i;
  } else {
    for (let i = 0; i < n; i++) {
      const d = ids[i]!;
      const s = starts[d]!;
      if (s < 0) continue;
      perm[s] = i;
      starts[d] = s + 1;
    }
  }
  return { batch: takeBatch(batch, perm), ranges, counts };
}

/**
 * `groupByShard` whose result never shares memory with `batch` (which `groupByShard` returns
 * as is when all its rows go to one shard): for inputs read into reused buffers.
 */
export function groupByShardCopied(
  batch: RecordBatch,
  ids: Int32Array,
  numDbs: number,
  order?: readonly number[],
): Partitioned {
  const grouped = groupByShard(batch, ids, numDbs, order);
  return grouped.batch === batch ? { ...grouped, batch: copyBatch(batch) } : grouped;
}

/** Per-shard slices of `batch` (shards without rows omitted), in ascending shard order. */
export function partitionByShard(batch: RecordBatch, ids: Int32Array, numDbs: number): ShardSlice[] {
  const grouped = groupByShard(batch, ids, numDbs);
  return grouped.ranges.map((r) => ({
    dbId: r.dbId,
    batch: grouped.ranges.length === 1 ? grouped.batch : grouped.batch.slice(r.start, r.end),
  }));
}

/** `batch` in buffers of its own. */
export function copyBatch(batch: RecordBatch): RecordBatch {
  const identity = new Int32Array(batch.numRows);
  for (let i = 0; i < identity.length; i++) identity[i] = i;
  return takeBatch(batch, identity);
}

export function takeBatch(batch: RecordBatch, perm: Int32Array): RecordBatch {
  const children = batch.data.children.map((child) => takeData(child as Data, perm));
  const struct = makeData({
    type: new Struct(batch.schema.fields),
    length: perm.length,
    nullCount: 0,
    children,
  });
  return new RecordBatch(batch.schema, struct);
}

function takeValidity(data: Data, perm: Int32Array): { bitmap: Uint8Array; nulls: number } {
  const src = data.nullBitmap as Uint8Array | undefined;
  if (!src || src.length === 0 || data.nullCount === 0) return { bitmap: new Uint8Array(0), nulls: 0 };
  const n = perm.length;
  const out = new Uint8Array((n + 7) >>> 3);
  const base = data.offset;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const bit = base + perm[i]!;
    if ((src[bit >>> 3]! >>> (bit & 7)) & 1) out[i >>> 3]! |= 1 << (i & 7);
    else nulls++;
  }
  return { bitmap: out, nulls };
}

/** Typed-array elements per row (Arrow's `strideForType`, which the package does not export). */
function strideOf(type: DataType): number {
  const t = type as unknown as { bitWidth?: number; unit?: number; byteWidth?: number };
  switch (type.typeId) {
    case Type.Decimal:
      return (t.bitWidth ?? 128) / 32;
    case Type.Interval:
      return t.unit === 2 ? 4 : 1 + (t.unit ?? 0);
    case Type.FixedSizeBinary:
      return t.byteWidth ?? 1;
    default:
      return 1;
  }
}

export function takeData(data: Data, perm: Int32Array): Data {
  const type = data.type as DataType;
  const n = perm.length;
  const { bitmap, nulls } = takeValidity(data, perm);
  switch (type.typeId) {
    case Type.Null:
      return makeData({ type, length: n } as Parameters<typeof makeData>[0]);
    case Type.Bool: {
      const src = data.values as Uint8Array;
      const out = new Uint8Array((n + 7) >>> 3);
      const base = data.offset;
      for (let i = 0; i < n; i++) {
        const bit = base + perm[i]!;
        if ((src[bit >>> 3]! >>> (bit & 7)) & 1) out[i >>> 3]! |= 1 << (i & 7);
      }
      return makeData({ type, length: n, nullCount: nulls, nullBitmap: bitmap, data: out } as Parameters<
        typeof makeData
      >[0]);
    }
    case Type.Int:
    case Type.Float:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
    case Type.Duration:
    case Type.Decimal:
    case Type.Interval:
    case Type.FixedSizeBinary: {
      const src = data.values as unknown as ArrayBufferView & { length: number; BYTES_PER_ELEMENT: number };
      const rowBytes = strideOf(type) * src.BYTES_PER_ELEMENT;
      const out = new (src.constructor as new (len: number) => ArrayBufferView)(n * strideOf(type));
      gatherFixed(
        new Uint8Array(src.buffer, src.byteOffset, Math.min(src.byteLength, data.length * rowBytes)),
        new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
        rowBytes,
        perm,
      );
      return makeData({ type, length: n, nullCount: nulls, nullBitmap: bitmap, data: out } as Parameters<
        typeof makeData
      >[0]);
    }
    case Type.Utf8:
    case Type.Binary:
    case Type.LargeUtf8:
    case Type.LargeBinary: {
      const large = type.typeId === Type.LargeUtf8 || type.typeId === Type.LargeBinary;
      const offs = data.valueOffsets as ArrayLike<number | bigint>;
      const src = (data.values as Uint8Array | undefined) ?? new Uint8Array(0);
      let total = 0;
      if (large) {
        for (let i = 0; i < n; i++) total += Number(offs[perm[i]! + 1]) - Number(offs[perm[i]!]);
      } else {
        const o = offs as Int32Array;
        for (let i = 0; i < n; i++) total += o[perm[i]! + 1]! - o[perm[i]!]!;
      }
      const out = new Uint8Array(total);
      const offsets = large ? new BigInt64Array(n + 1) : new Int32Array(n + 1);
      if (large) {
        let pos = 0;
        for (let i = 0; i < n; i++) {
          const r = perm[i]!;
          const a = Number(offs[r]);
          const b = Number(offs[r + 1]);
          out.set(src.subarray(a, b), pos);
          pos += b - a;
          (offsets as BigInt64Array)[i + 1] = BigInt(pos);
        }
      } else {
        gatherVariable(src, offs as Int32Array, out, offsets as Int32Array, perm);
      }
      return makeData({
        type,
        length: n,
        nullCount: nulls,
        nullBitmap: bitmap,
        valueOffsets: offsets,
        data: out,
      } as Parameters<typeof makeData>[0]);
    }
    case Type.Dictionary: {
      const src = data.values as unknown as { [i: number]: number; constructor: new (n: number) => unknown };
      const out = new (src.constructor as new (n: number) => { [i: number]: number })(n);
      for (let i = 0; i < n; i++) out[i] = src[perm[i]!]!;
      return makeData({
        type,
        length: n,
        nullCount: nulls,
        nullBitmap: bitmap,
        data: out,
        dictionary: data.dictionary,
      } as Parameters<typeof makeData>[0]);
    }
    default: {
      // Nested types: rebuild from values.
      const vector = makeVector(data);
      const values = Array.from(perm, (r) => vector.get(r));
      return vectorFromArray(values, type).data[0] as Data;
    }
  }
}

/** `data` with dictionary encoding resolved (values looked up; nulls kept). */
export function decodeDictionary(data: Data): Data {
  if ((data.type as DataType).typeId !== Type.Dictionary) return data;
  const dictionary = data.dictionary?.data;
  if (dictionary?.length !== 1) {
    const vector = makeVector(data);
    return vectorFromArray(Array.from(vector), (data.type as unknown as { dictionary: DataType }).dictionary)
      .data[0] as Data;
  }
  const indices = data.values as ArrayLike<number | bigint>;
  const perm = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) perm[i] = Number(indices[i] ?? 0);
  const decoded = takeData(decodeDictionary(dictionary[0] as Data), perm);
  if (data.nullCount === 0) return decoded;
  // Null rows come from the indices' validity, not the dictionary's.
  const { bitmap, nulls } = takeValidity(
    data,
    Int32Array.from({ length: data.length }, (_, i) => i),
  );
  return decoded.clone(decoded.type, 0, decoded.length, nulls, [
    decoded.valueOffsets,
    decoded.values,
    bitmap,
    decoded.typeIds,
  ] as unknown as Parameters<Data["clone"]>[4]);
}

/** `batch` with every dictionary-encoded column decoded (the kernel and encoders take plain columns). */
export function decodeDictionaries(batch: RecordBatch): RecordBatch {
  const children = batch.data.children as Data[];
  if (!children.some((c) => (c.type as DataType).typeId === Type.Dictionary)) return batch;
  const decoded = children.map((c) => decodeDictionary(c));
  const fields = batch.schema.fields.map((f, i) => f.clone({ type: decoded[i]!.type }));
  const schema = new Schema(fields, batch.schema.metadata);
  const struct = makeData({
    type: new Struct(fields),
    length: batch.numRows,
    nullCount: 0,
    children: decoded,
  });
  return new RecordBatch(schema, struct);
}

/**
 * Copies row `perm[i]` (`rowBytes` wide) of `src` to row `i` of `out`. Word copies when both
 * buffers are 4-byte aligned (no per-row allocation, no BigInt boxing for 64-bit values).
 */
function gatherFixed(src: Uint8Array, out: Uint8Array, rowBytes: number, perm: Int32Array): void {
  const n = perm.length;
  if (rowBytes % 4 === 0 && src.byteOffset % 4 === 0 && out.byteOffset % 4 === 0) {
    const words = rowBytes >>> 2;
    const s = new Int32Array(src.buffer, src.byteOffset, src.byteLength >>> 2);
    const o = new Int32Array(out.buffer, out.byteOffset, out.byteLength >>> 2);
    if (words === 2) {
      for (let i = 0; i < n; i++) {
        const from = perm[i]! << 1;
        o[i << 1] = s[from]!;
        o[(i << 1) + 1] = s[from + 1]!;
      }
      return;
    }
    if (words === 1) {
      for (let i = 0; i < n; i++) o[i] = s[perm[i]!]!;
      return;
    }
    for (let i = 0; i < n; i++) {
      const from = perm[i]! * words;
      const to = i * words;
      for (let k = 0; k < words; k++) o[to + k] = s[from + k]!;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const from = perm[i]! * rowBytes;
    const to = i * rowBytes;
    for (let k = 0; k < rowBytes; k++) out[to + k] = src[from + k]!;
  }
}

/**
 * Gathers variable-length values: 4-byte words when a value and its destination are aligned
 * (fixed-size payloads usually are), bytes otherwise, one `set` for long values.
 */
function gatherVariable(
  src: Uint8Array,
  offs: Int32Array,
  out: Uint8Array,
  offsets: Int32Array,
  perm: Int32Array,
): void {
  const n = perm.length;
  const aligned = src.byteOffset % 4 === 0 && out.byteOffset % 4 === 0;
  const sw = aligned ? new Int32Array(src.buffer, src.byteOffset, src.byteLength >>> 2) : undefined;
  const ow = aligned ? new Int32Array(out.buffer, out.byteOffset, out.byteLength >>> 2) : undefined;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const r = perm[i]!;
    const a = offs[r]!;
    const len = offs[r + 1]! - a;
    if (len > 512) {
      out.set(src.subarray(a, a + len), pos);
    } else if (sw !== undefined && ((a | len | pos) & 3) === 0) {
      const from = a >>> 2;
      const to = pos >>> 2;
      const words = len >>> 2;
      for (let k = 0; k < words; k++) ow![to + k] = sw[from + k]!;
    } else {
      for (let k = 0; k < len; k++) out[pos + k] = src[a + k]!;
    }
    pos += len;
    offsets[i + 1] = pos;
  }
}
