/**
 * WAL replay for reading official SlateDB databases whose newest writes were only flushed to the
 * write-ahead log (`wal/{id:020}.sst`, rows in insertion order), as the reference shard writer
 * leaves them. Mirrors SlateDB's reader: WAL ids after `replay_after_wal_id`, up to the manifest's
 * boundary (pinned reads) or the newest WAL file (latest reads), rows with seq <= `last_l0_seq`
 * skipped because L0 already holds them.
 */
import { DbAdapterError } from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import { compareBytes } from "./bytes.ts";
import type { SstHashing } from "./hash/hashing.ts";
import type { ManifestState } from "./manifest/types.ts";
import { walKey } from "./paths.ts";
import { Block, type Row } from "./sst/block-reader.ts";
import { decompress } from "./sst/compression.ts";
import { FOOTER_BYTES } from "./sst/format.ts";
import { decodeIndex } from "./sst/index-block.ts";
import { readSstFooter, verifySection } from "./sst/table.ts";

/** Replayed WAL rows: the newest version of each key, sorted by key. */
export interface WalTable {
  rows: Row[];
  /** Highest seq replayed (0 when nothing was). */
  maxSeq: bigint;
  walIds: bigint[];
}

function walDir(root: string): string {
  return root === "" ? "wal/" : `${root}/wal/`;
}

/** WAL ids present in the store after `after`, ascending. */
async function listWalIds(store: ObjectStore, root: string, after: bigint): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (const o of (await store.list(walDir(root))).objects) {
    const m = /\/?(\d{20})\.sst$/.exec(o.key);
    if (m !== null && BigInt(m[1]!) > after) ids.push(BigInt(m[1]!));
  }
  return ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Every row of one WAL SST (read whole: WAL objects are small). */
async function walRows(store: ObjectStore, key: string, hashing: SstHashing): Promise<Row[]> {
  const name = `${store.baseUrl}/${key}`;
  const got = await store.get(key);
  if (got === undefined)
    throw new DbAdapterError(`WAL SST ${name} is missing (deleted by garbage collection?)`);
  const bytes = got.body;
  if (bytes.length <= FOOTER_BYTES) return [];
  const read = async (s: number, e: number) => bytes.subarray(s, e);
  const { info, formatVersion } = await readSstFooter(name, bytes.length, read, hashing);
  const section = (offset: number, len: number, what: string) =>
    decompress(
      info.compressionFormat,
      verifySection(bytes.subarray(offset, offset + len), hashing, `${name} ${what}`),
    );
  const indexOffset = Number(info.indexOffset);
  const index = decodeIndex(section(indexOffset, Number(info.indexLen), "index block"));
  const fo = Number(info.filterOffset);
  const dataEnd = Number(info.filterLen) > 0 || (fo > 0 && fo <= indexOffset) ? fo : indexOffset;
  const rows: Row[] = [];
  index.offsets.forEach((start, i) => {
    const end = i + 1 < index.offsets.length ? index.offsets[i + 1]! : dataEnd;
    const block = Block.decode(section(start, end - start, `block ${i}`), formatVersion);
    for (const r of block.rows()) rows.push({ ...r, key: r.key.slice(), value: r.value.slice() });
  });
  return rows;
}

export async function replayWal(
  store: ObjectStore,
  root: string,
  manifest: ManifestState,
  end: "manifest" | "latest",
  hashing: SstHashing,
): Promise<WalTable> {
  const after = manifest.replayAfterWalId;
  let ids: bigint[];
  if (end === "manifest") {
    ids = [];
    // The manifest's `next_wal_sst_id` is `wal_id_last_seen + 1`: replay (after, last_seen].
    for (let id = after + 1n; id <= manifest.walIdLastSeen; id++) ids.push(id);
  } else {
    ids = await listWalIds(store, root, after);
  }
  const all: Row[] = [];
  for (const id of ids) {
    for (const r of await walRows(store, walKey(root, id), hashing)) {
      if (r.seq > manifest.lastL0Seq) all.push(r);
    }
  }
  // Newest version of each key first, then keep only it.
  all.sort((a, b) => compareBytes(a.key, b.key) || (a.seq > b.seq ? -1 : a.seq < b.seq ? 1 : 0));
  const rows = all.filter((r, i) => i === 0 || compareBytes(all[i - 1]!.key, r.key) !== 0);
  let maxSeq = 0n;
  for (const r of all) if (r.seq > maxSeq) maxSeq = r.seq;
  return { rows, maxSeq, walIds: ids };
}

/** Index of the first row with key >= `key`. */
export function walLowerBound(rows: readonly Row[], key: Uint8Array): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(rows[mid]!.key, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
