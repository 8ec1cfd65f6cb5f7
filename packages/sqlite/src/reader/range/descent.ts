/**
 * Plans a point lookup in the `kv` b-tree before SQLite runs it, so the query finds every page it
 * needs in the cache.
 *
 * `SELECT v FROM kv WHERE k = ?` compiles to SeekGE + IdxGT + Column: SQLite descends from the
 * root to a leaf looking for the first entry >= key (an equal interior entry sends it left, so it
 * always reaches a leaf), then reads that entry — in the leaf, or the ancestor entry that follows
 * the leaf. Every cell it compares on the way is read whole, overflow chain included. Only the
 * entry's key (its first record field) decides a comparison, so the chains of compared cells
 * can be served as synthetic pages (right next-pointers from the sidecar, zero data) as long as
 * their keys lie on the b-tree page. Only the matched entry's chain must be real: it holds the
 * value. With the sidecar's interior pages pinned, a cold lookup therefore fetches the leaf (one
 * request) and, for a value that spills, that one chain (one more).
 */
import {
  be32,
  type Cell,
  cellOffset,
  compareBytes,
  overflowCapacity,
  parseCell,
  parsePageHeader,
  readVarint,
} from "../../format/btree.ts";
import type { PageCache } from "./page-cache.ts";

export type DescentResult =
  /**
   * Every page the lookup reads is cached, except overflow pages it only compares keys on
   * (synthesizable when `synthesisSafe`). `realPages` are pages whose bytes SQLite returns.
   */
  | { status: "ready"; realPages: number[]; synthesisSafe: boolean }
  /** Fetch `pages` (some may be speculative) and plan again. */
  | { status: "missing"; pages: number[] }
  /** The pages do not look like what the planner understands; let SQLite find its own way. */
  | { status: "unplannable" };

export interface BtreeContext {
  root: number;
  usableSize: number;
  cache: PageCache;
  /** Overflow chains from the sidecar (head -> pages), when there is one. */
  chains?: Map<number, number[]>;
}

/** The first record field of an index cell as a blob, if it lies entirely on the page. */
export function localCellKey(page: Uint8Array, cell: Cell): Uint8Array | undefined {
  const local = page.subarray(cell.payloadStart, cell.payloadStart + cell.localSize);
  if (local.length < 2) return undefined;
  const [headerSize, n] = readVarint(local, 0);
  if (n >= local.length) return undefined;
  const [type] = readVarint(local, n);
  if (type < 12 || type % 2 === 1) return undefined; // not a blob: leave the ordering to SQLite
  const size = (type - 12) / 2;
  if (headerSize + size > local.length) return undefined;
  return local.subarray(headerSize, headerSize + size);
}

/** Real pages of a chain still to fetch: `[]` when all cached, `undefined` when the walk cannot tell. */
function missingChainPages(ctx: BtreeContext, cell: Cell): { missing: number[]; pages: number[] } {
  if (cell.overflowPage === 0) return { missing: [], pages: [] };
  const known = ctx.chains?.get(cell.overflowPage);
  if (known) return { missing: known.filter((p) => !ctx.cache.has(p)), pages: known };
  // No sidecar: follow the chain through cached pages; guess the rest is contiguous (it is when
  // SQLite allocated it in one go) and let the next plan verify the guess.
  const total = Math.ceil((cell.payloadSize - cell.localSize) / overflowCapacity(ctx.usableSize));
  const pages: number[] = [];
  let pgno = cell.overflowPage;
  for (let i = 0; i < total && pgno !== 0; i++) {
    pages.push(pgno);
    const page = ctx.cache.get(pgno);
    if (!page) {
      const missing: number[] = [];
      for (let j = 0; j < total - i; j++) missing.push(pgno + j);
      return { missing, pages };
    }
    pgno = be32(page, 0);
  }
  return { missing: [], pages };
}

interface Candidate {
  page: Uint8Array;
  cell: Cell;
}

export function planLookup(ctx: BtreeContext, key: Uint8Array): DescentResult {
  let pgno = ctx.root;
  let successor: Candidate | undefined; // nearest ancestor entry >= key
  const synthesisSafe = ctx.chains !== undefined;
  for (let depth = 0; depth < 64; depth++) {
    const page = ctx.cache.get(pgno);
    if (!page) return { status: "missing", pages: [pgno] };
    const header = parsePageHeader(page, pgno);
    if (!header?.index) return { status: "unplannable" };
    // SQLite's own binary search (btree.c, sqlite3BtreeIndexMoveto) with SeekGE's rule that an
    // equal entry counts as greater.
    let lwr = 0;
    let upr = header.cellCount - 1;
    const compareChains: number[] = [];
    while (lwr <= upr) {
      const idx = (lwr + upr) >> 1;
      const cell = parseCell(page, header, cellOffset(page, header, idx), ctx.usableSize);
      const ck = localCellKey(page, cell);
      // A key that is not a blob, or spills off the page, is compared on real bytes only.
      if (!ck) return { status: "unplannable" };
      // Without the sidecar there is nothing to synthesize from: SQLite reads real chains.
      if (!synthesisSafe) compareChains.push(...missingChainPages(ctx, cell).missing);
      if (compareBytes(ck, key) < 0) lwr = idx + 1;
      else upr = idx - 1;
    }
    if (compareChains.length > 0) return { status: "missing", pages: compareChains };
    if (header.interior) {
      if (lwr < header.cellCount) {
        const cell = parseCell(page, header, cellOffset(page, header, lwr), ctx.usableSize);
        successor = { page, cell };
        pgno = cell.leftChild;
      } else {
        pgno = header.rightChild;
      }
      continue;
    }
    // Leaf: the entry SeekGE lands on is the first cell >= key here, else the ancestor successor.
    const entry: Candidate | undefined =
      lwr < header.cellCount
        ? { page, cell: parseCell(page, header, cellOffset(page, header, lwr), ctx.usableSize) }
        : successor;
    if (!entry) return { status: "ready", realPages: [], synthesisSafe };
    const entryKey = localCellKey(entry.page, entry.cell);
    if (!entryKey || compareBytes(entryKey, key) !== 0)
      return { status: "ready", realPages: [], synthesisSafe };
    // Found: its value must come from real pages.
    const chain = missingChainPages(ctx, entry.cell);
    if (chain.missing.length > 0) return { status: "missing", pages: chain.missing };
    return { status: "ready", realPages: chain.pages, synthesisSafe };
  }
  return { status: "unplannable" };
}
