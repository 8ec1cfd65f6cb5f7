/**
 * Reads a SlateDB database from an object store with ranged GETs: point gets (sorted-run bisect,
 * bloom, index, one ranged read per block), multi-gets, and range/prefix scans. Serves snapshots
 * written by this package and DBs written by official SlateDB builds (L0 + sorted runs, newest
 * first, tombstones, v1/v2 blocks, legacy/composite filters, every codec, WAL replay). Rows newer
 * than the manifest's `last_l0_seq` (and the replayed WAL) are not visible.
 */
import { DbAdapterError, ReaderStateError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import { BlockCache } from "./block-cache.ts";
import { compareBytes, hasPrefix, prefixUpperBound } from "./bytes.ts";
import type { SstHashing } from "./hash/hashing.ts";
import { defaultHashing } from "./hash/kernel.ts";
import { openManifest } from "./manifest/store.ts";
import { BoundType, type BytesRange, type ManifestState, type SstRef } from "./manifest/types.ts";
import { normalizeDbPrefix, sstKey } from "./paths.ts";
import type { Block, Row } from "./sst/block-reader.ts";
import { SstTable } from "./sst/table.ts";
import { uuidToString } from "./ulid.ts";
import { replayWal, type WalTable, walLowerBound } from "./wal.ts";

export interface SlateDbReaderOptions {
  store: ObjectStore;
  /** Store-relative root of the database. */
  dbPrefix: string;
  /** Serve the state this checkpoint pins (found in the latest manifest). */
  checkpointId?: string;
  /** Serve this manifest id (ignored when `checkpointId` is given). Default: the latest. */
  manifestId?: bigint;
  hashing?: SstHashing;
  /** Decoded-block cache for point reads. Default 32 MiB; 0 disables it. */
  blockCacheBytes?: number;
  /**
   * Replay the write-ahead log on top of the manifest's SSTs (default true), as SlateDB's reader
   * does: up to the manifest's WAL boundary when pinned (checkpoint or manifest id), else up to
   * the newest WAL file. Needed for official DBs whose last writes were only flushed to the WAL.
   */
  walReplay?: boolean;
}

export interface KeyRange {
  start?: Uint8Array;
  /** Default true. */
  startInclusive?: boolean;
  end?: Uint8Array;
  /** Default false. */
  endInclusive?: boolean;
}

export type KeyValue = [key: Uint8Array, value: Uint8Array];

export interface ReaderStats {
  /** Ranged GETs issued for SST data (filter+index loads and block reads). */
  rangeReads: number;
  bytesRead: number;
}

/** A source of rows, in shadowing order (index 0 is newest). */
interface Source {
  kind: "l0" | "run";
  ssts: SstRef[];
  /** Set for ManifestV2 segments: the source only holds keys with this prefix. */
  prefix?: Uint8Array;
}

function startKey(s: SstRef): Uint8Array {
  const first = s.info.firstEntry ?? new Uint8Array(0);
  const r = s.visibleRange?.start;
  if (r !== undefined && (r.boundType === BoundType.Included || r.boundType === BoundType.Excluded)) {
    return compareBytes(r.key, first) > 0 ? r.key : first;
  }
  return first;
}

function inRange(key: Uint8Array, range: BytesRange | undefined): boolean {
  if (range === undefined) return true;
  const s = range.start;
  if (s.boundType === BoundType.Included && compareBytes(key, s.key) < 0) return false;
  if (s.boundType === BoundType.Excluded && compareBytes(key, s.key) <= 0) return false;
  const e = range.end;
  if (e.boundType === BoundType.Included && compareBytes(key, e.key) > 0) return false;
  if (e.boundType === BoundType.Excluded && compareBytes(key, e.key) >= 0) return false;
  return true;
}

/** Whether `key` can be in `sst`: inside its first..last entries and its visible range. */
function covers(sst: SstRef, key: Uint8Array): boolean {
  const first = sst.info.firstEntry;
  if (first !== undefined && compareBytes(key, first) < 0) return false;
  const last = sst.info.lastEntry;
  if (last !== undefined && compareBytes(key, last) > 0) return false;
  return inRange(key, sst.visibleRange);
}

/**
 * In a sorted run, the index of the SST whose range may hold `key`: the last one starting at or
 * before it (SlateDB: `partition_point(start <= key) - 1`), or -1 when every SST starts after it.
 */
function runPosition(ssts: readonly SstRef[], key: Uint8Array): number {
  let lo = 0;
  let hi = ssts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(startKey(ssts[mid]!), key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function buildSources(m: ManifestState): Source[] {
  const out: Source[] = [];
  const add = (l0: SstRef[], runs: { ssts: SstRef[] }[], prefix?: Uint8Array) => {
    const withPrefix = (s: Source) => (prefix === undefined ? s : { ...s, prefix });
    if (l0.length > 0) out.push(withPrefix({ kind: "l0", ssts: l0 }));
    for (const r of runs) if (r.ssts.length > 0) out.push(withPrefix({ kind: "run", ssts: r.ssts }));
  };
  add(m.l0, m.compacted);
  for (const seg of m.segments) add(seg.l0, seg.compacted, seg.prefix);
  return out;
}

/** An SST being opened or open: `ready` is set once its filter and index are loaded. */
interface OpenTable {
  id: number;
  table: Promise<SstTable>;
  ready?: SstTable;
}

/** Returned by the synchronous lookup path when it would need a read. */
const NEED_IO = Symbol("need-io");

export class SlateDbReader {
  /** Opened SSTs by manifest reference (stable objects for the reader's lifetime). */
  private readonly tables = new Map<SstRef, OpenTable>();
  private nextTableId = 0;
  private readonly keyHash = new Uint32Array(2);
  private readonly cache: BlockCache;
  private readonly sources: Source[];
  private readonly maxSeq: bigint;
  private readonly walRows: readonly Row[];
  private readonly statsData: ReaderStats = { rangeReads: 0, bytesRead: 0 };
  private closed = false;

  private constructor(
    private readonly store: ObjectStore,
    private readonly root: string,
    readonly manifestId: bigint,
    readonly manifest: ManifestState,
    readonly checkpointId: string | undefined,
    private readonly hashing: SstHashing,
    blockCacheBytes: number,
    wal: WalTable | undefined,
  ) {
    this.cache = new BlockCache(blockCacheBytes);
    this.sources = buildSources(manifest);
    this.walRows = wal?.rows ?? [];
    this.maxSeq = wal !== undefined && wal.maxSeq > manifest.lastL0Seq ? wal.maxSeq : manifest.lastL0Seq;
  }

  static async open(options: SlateDbReaderOptions): Promise<SlateDbReader> {
    const root = normalizeDbPrefix(options.dbPrefix);
    const which: { checkpointId?: string; manifestId?: bigint } = {};
    if (options.checkpointId !== undefined) which.checkpointId = options.checkpointId;
    if (options.manifestId !== undefined) which.manifestId = options.manifestId;
    const loaded = await openManifest(options.store, root, which);
    if (!loaded.state.initialized) {
      throw new DbAdapterError(
        `SlateDB manifest ${loaded.id} at ${options.store.baseUrl}/${root} is not initialized (a clone in progress?)`,
      );
    }
    const hashing = options.hashing ?? (await defaultHashing());
    const pinned = options.checkpointId !== undefined || options.manifestId !== undefined;
    const wal =
      options.walReplay === false
        ? undefined
        : await replayWal(options.store, root, loaded.state, pinned ? "manifest" : "latest", hashing);
    return new SlateDbReader(
      options.store,
      root,
      loaded.id,
      loaded.state,
      loaded.checkpoint === undefined ? undefined : uuidToString(loaded.checkpoint.id),
      hashing,
      options.blockCacheBytes ?? 32 * 1024 * 1024,
      wal,
    );
  }

  stats(): ReaderStats {
    return { ...this.statsData };
  }

  /** SSTs the open state references, newest source first. */
  get sstCount(): number {
    return this.sources.reduce((n, s) => n + s.ssts.length, 0);
  }

  private checkOpen(): void {
    if (this.closed) throw new ReaderStateError("the SlateDB reader is closed");
  }

  private table(sst: SstRef): OpenTable {
    let t = this.tables.get(sst);
    if (t === undefined) {
      const key = sstKey(this.root, sst.id);
      const table = SstTable.open(
        `${this.store.baseUrl}/${key}`,
        sst.info,
        sst.formatVersion,
        (start, end) => this.read(key, start, end),
        this.hashing,
      );
      const entry: OpenTable = { id: this.nextTableId++, table };
      table.then(
        (ready) => {
          entry.ready = ready;
        },
        () => this.tables.delete(sst),
      );
      t = entry;
      this.tables.set(sst, t);
    }
    return t;
  }

  private async read(key: string, start: number, end: number): Promise<Uint8Array> {
    this.statsData.rangeReads++;
    const bytes = await this.store.getRange(key, { start, end });
    this.statsData.bytesRead += bytes.length;
    return bytes;
  }

  /** Blocks `[from, to)`, from the cache or with one ranged read for the missing run. */
  private async blocks(tableId: number, table: SstTable, from: number, to: number): Promise<Block[]> {
    // Cache keys are numbers: table id and block index packed into one safe integer.
    const base = tableId * 0x1_0000_0000;
    const out: Block[] = [];
    let missingFrom = -1;
    for (let i = from; i < to; i++) {
      const hit = this.cache.get(base + i);
      if (hit === undefined) {
        missingFrom = i;
        break;
      }
      out.push(hit);
    }
    if (missingFrom < 0) return out;
    const read = await table.readBlocks(missingFrom, to);
    read.forEach((b, j) => {
      this.cache.set(base + missingFrom + j, b);
    });
    return out.concat(read);
  }

  /** Visible rows only: seq within the manifest (or the replayed WAL). */
  private visible(row: Row): boolean {
    return row.seq <= this.maxSeq;
  }

  /**
   * The value a winning row stands for (undefined for deletes). Like SlateDB's readers, rows past
   * their TTL stay visible until compaction drops them.
   */
  private resolve(row: Row): Uint8Array | undefined {
    if (row.kind === "tombstone") return undefined;
    if (row.kind === "merge") {
      throw new DbAdapterError(
        "this SlateDB database holds merge operands; reading them needs the writer's merge operator, which this reader does not support",
      );
    }
    return row.value.slice();
  }

  /** The newest visible version of `key` in `sst`, or undefined. `h` holds its SipHash halves. */
  private async lookup(sst: SstRef, key: Uint8Array, lo: number, hi: number): Promise<Row | undefined> {
    const { id, table: pending } = this.table(sst);
    const table = await pending;
    if (!table.mightContain(lo, hi)) return undefined;
    const [from, to] = table.pointBlocks(key);
    for (let b = from, end = to; b < table.blockCount; b = end, end = b + 1) {
      for (const block of await this.blocks(id, table, b, end)) {
        const cursor = block.cursor();
        cursor.seek(key);
        for (let row = cursor.next(); row !== undefined; row = cursor.next()) {
          const c = compareBytes(row.key, key);
          if (c > 0) return undefined;
          if (c === 0 && this.visible(row)) return row;
        }
      }
      // The blocks ended on this key (or before it): older versions may continue in the next one.
    }
    return undefined;
  }

  private candidates(source: Source, key: Uint8Array): SstRef[] {
    if (source.prefix !== undefined && !hasPrefix(key, source.prefix)) return [];
    if (source.kind === "l0") return source.ssts.filter((s) => covers(s, key));
    const i = runPosition(source.ssts, key);
    const s = source.ssts[i];
    return s !== undefined && covers(s, key) ? [s] : [];
  }

  /** `lookup` from what is already loaded, or `NEED_IO` when a table or block is missing. */
  private lookupCached(
    sst: SstRef,
    key: Uint8Array,
    lo: number,
    hi: number,
  ): Row | undefined | typeof NEED_IO {
    const t = this.tables.get(sst);
    const table = t?.ready;
    if (t === undefined || table === undefined) return NEED_IO;
    if (!table.mightContain(lo, hi)) return undefined;
    const [from] = table.pointBlocks(key);
    const base = t.id * 0x1_0000_0000;
    // Like `lookup`: from the first block that may hold the key, on while versions continue.
    for (let b = from; b < table.blockCount; b++) {
      const block = this.cache.get(base + b);
      if (block === undefined) return NEED_IO;
      const cursor = block.cursor();
      cursor.seek(key);
      for (let row = cursor.next(); row !== undefined; row = cursor.next()) {
        const c = compareBytes(row.key, key);
        if (c > 0) return undefined;
        if (c === 0 && this.visible(row)) return row;
      }
    }
    return undefined;
  }

  /** `getHashed` without awaiting, when every table and block it needs is cached. */
  private getCached(key: Uint8Array, lo: number, hi: number): Uint8Array | undefined | typeof NEED_IO {
    if (this.walRows.length > 0) {
      const w = this.walRows[walLowerBound(this.walRows, key)];
      if (w !== undefined && compareBytes(w.key, key) === 0) return this.resolve(w);
    }
    for (const source of this.sources) {
      for (const sst of this.candidates(source, key)) {
        const row = this.lookupCached(sst, key, lo, hi);
        if (row === NEED_IO) return NEED_IO;
        if (row !== undefined) return this.resolve(row);
      }
    }
    return undefined;
  }

  private async getHashed(key: Uint8Array, lo: number, hi: number): Promise<Uint8Array | undefined> {
    if (this.walRows.length > 0) {
      const w = this.walRows[walLowerBound(this.walRows, key)];
      if (w !== undefined && compareBytes(w.key, key) === 0) return this.resolve(w);
    }
    for (const source of this.sources) {
      for (const sst of this.candidates(source, key)) {
        const row = await this.lookup(sst, key, lo, hi);
        if (row !== undefined) return this.resolve(row);
      }
    }
    return undefined;
  }

  private hashKeys(keys: readonly Uint8Array[]): Uint32Array {
    let total = 0;
    for (const k of keys) total += k.length;
    const data = new Uint8Array(total);
    const offsets = new Uint32Array(keys.length + 1);
    let at = 0;
    keys.forEach((k, i) => {
      data.set(k, at);
      at += k.length;
      offsets[i + 1] = at;
    });
    const out = new Uint32Array(2 * keys.length);
    this.hashing.siphash13Column(data, offsets, keys.length, out, 0);
    return out;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen();
    if (key.length === 0) return undefined;
    const h = this.keyHash;
    this.hashing.siphash13Key(key, h, 0);
    const cached = this.getCached(key, h[0]!, h[1]!);
    return cached === NEED_IO ? this.getHashed(key, h[0]!, h[1]!) : cached;
  }

  /** Values for `keys`, in order; lookups run concurrently (at most `concurrency` at once). */
  async multiGet(keys: readonly Uint8Array[], concurrency = 32): Promise<Array<Uint8Array | undefined>> {
    this.checkOpen();
    const h = this.hashKeys(keys);
    const out: Array<Uint8Array | undefined> = new Array(keys.length).fill(undefined);
    // Answer what the caches can without awaiting; read for the rest, `concurrency` at a time.
    const pending: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k.length === 0) continue;
      const cached = this.getCached(k, h[2 * i]!, h[2 * i + 1]!);
      if (cached === NEED_IO) pending.push(i);
      else out[i] = cached;
    }
    let next = 0;
    const worker = async () => {
      for (let j = next++; j < pending.length; j = next++) {
        const i = pending[j]!;
        out[i] = await this.getHashed(keys[i]!, h[2 * i]!, h[2 * i + 1]!);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, pending.length)) }, worker));
    return out;
  }

  /** Rows of one SST with key >= start (all rows when start is undefined), in order. */
  private async *sstRows(sst: SstRef, start: Uint8Array | undefined): AsyncGenerator<Row> {
    const table = await this.table(sst).table;
    const first = start === undefined ? 0 : table.blockFor(start);
    // Read adjacent blocks together: up to 32 blocks (about 128 KiB) per ranged read.
    for (let b = first; b < table.blockCount; b += 32) {
      const blocks = await table.readBlocks(b, Math.min(b + 32, table.blockCount));
      for (let i = 0; i < blocks.length; i++) {
        const cursor = blocks[i]!.cursor();
        if (start !== undefined && b + i === first) cursor.seek(start);
        for (let row = cursor.next(); row !== undefined; row = cursor.next()) {
          if (inRange(row.key, sst.visibleRange)) yield row;
        }
      }
    }
  }

  private async *sourceRows(source: Source, start: Uint8Array | undefined): AsyncGenerator<Row> {
    if (source.kind === "run") {
      let from = 0;
      if (start !== undefined) {
        // The SST that may hold `start`, or the first one after it when none covers it.
        from = runPosition(source.ssts, start);
        const s = source.ssts[from];
        if (s === undefined || !covers(s, start)) {
          from = source.ssts.findIndex((t) => compareBytes(startKey(t), start) > 0);
          if (from < 0) return;
        }
      }
      for (let i = from; i < source.ssts.length; i++) yield* this.sstRows(source.ssts[i]!, start);
      return;
    }
    // An L0 source: its SSTs overlap, so merge them (newest first wins ties, as in the reader).
    yield* mergeRows(source.ssts.map((s) => this.sstRows(s, start)));
  }

  /** Key-ordered live pairs in `range` (default: everything). */
  async *scan(range: KeyRange = {}): AsyncGenerator<KeyValue> {
    this.checkOpen();
    const { start, end } = range;
    const startInclusive = range.startInclusive ?? true;
    const endInclusive = range.endInclusive ?? false;
    const iters = this.sources.map((s) => this.sourceRows(s, start));
    if (this.walRows.length > 0) iters.unshift(walIterator(this.walRows, start));
    let lastKey: Uint8Array | undefined;
    for await (const row of mergeRows(iters)) {
      if (start !== undefined) {
        const c = compareBytes(row.key, start);
        if (c < 0 || (c === 0 && !startInclusive)) continue;
      }
      if (end !== undefined) {
        const c = compareBytes(row.key, end);
        if (c > 0 || (c === 0 && !endInclusive)) return;
      }
      if (lastKey !== undefined && compareBytes(row.key, lastKey) === 0) continue;
      if (!this.visible(row)) continue;
      lastKey = row.key;
      const value = this.resolve(row);
      if (value !== undefined) yield [row.key.slice(), value];
    }
  }

  /** Live pairs whose key starts with `prefix`. */
  scanPrefix(prefix: Uint8Array): AsyncGenerator<KeyValue> {
    const range: KeyRange = { start: prefix, startInclusive: true };
    const end = prefixUpperBound(prefix);
    if (end !== undefined) {
      range.end = end;
      range.endInclusive = false;
    }
    return this.scan(range);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cache.clear();
    this.tables.clear();
  }
}

/**
 * Merges key-ordered row iterators into one ordered by (key asc, seq desc); for equal key and
 * seq the iterator listed first (the newer source) comes first.
 */
async function* mergeRows(iters: AsyncGenerator<Row>[]): AsyncGenerator<Row> {
  if (iters.length === 1) {
    yield* iters[0]!;
    return;
  }
  const heads: (Row | undefined)[] = await Promise.all(iters.map(async (it) => (await it.next()).value));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h === undefined) continue;
      if (best < 0) {
        best = i;
        continue;
      }
      const b = heads[best]!;
      const c = compareBytes(h.key, b.key);
      if (c < 0 || (c === 0 && h.seq > b.seq)) best = i;
    }
    if (best < 0) return;
    yield heads[best]!;
    heads[best] = (await iters[best]!.next()).value;
  }
}

async function* walIterator(rows: readonly Row[], start: Uint8Array | undefined): AsyncGenerator<Row> {
  for (let i = start === undefined ? 0 : walLowerBound(rows, start); i < rows.length; i++) yield rows[i]!;
}

/** Opens a reader at the latest manifest, a manifest id, or a checkpoint. */
export function openSlateDbReader(options: SlateDbReaderOptions): Promise<SlateDbReader> {
  return SlateDbReader.open(options);
}
