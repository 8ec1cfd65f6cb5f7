/**
 * Walks every b-tree of a SQLite file from its pages alone, finding what SQLite's `dbstat`
 * virtual table would call `internal` pages, the pages of `sqlite_schema`, and every overflow
 * chain. Not every engine we run on has `dbstat` (Bun's SQLite lacks it), so the sidecar and the
 * range reader use this walk instead.
 */
import { SqliteAdapterError } from "@shardy/errors";
import {
  be32,
  cellOffset,
  decodeIntField,
  overflowCapacity,
  type PageHeader,
  parseCell,
  parsePageHeader,
  recordSerialTypes,
  serialTypeSize,
} from "./btree.ts";

/** Synchronous page access (1-based page numbers, whole pages). */
export interface PageSource {
  readonly pageSize: number;
  /** Page size minus reserved bytes. */
  readonly usableSize: number;
  readonly pageCount: number;
  read(pgno: number): Uint8Array;
}

export interface SchemaEntry {
  type: string;
  name: string;
  rootPage: number;
}

export interface BtreeLayout {
  schema: SchemaEntry[];
  /** Interior pages of every b-tree, ascending. */
  interiorPages: number[];
  /** Every page of the `sqlite_schema` b-tree (page 1 and any children), ascending. */
  schemaPages: number[];
  /** Overflow chains keyed by head page, each listed head first; heads ascending. */
  overflowChains: Map<number, number[]>;
  /** Leaf pages of every b-tree (for statistics). */
  leafPageCount: number;
}

const textDecoder = new TextDecoder();

/** The full payload of a cell, following its overflow chain. */
export function readPayload(
  src: PageSource,
  page: Uint8Array,
  cell: ReturnType<typeof parseCell>,
): Uint8Array {
  const out = new Uint8Array(cell.payloadSize);
  out.set(page.subarray(cell.payloadStart, cell.payloadStart + cell.localSize));
  let filled = cell.localSize;
  let next = cell.overflowPage;
  const cap = overflowCapacity(src.usableSize);
  let hops = 0;
  while (filled < cell.payloadSize) {
    if (next === 0 || next > src.pageCount || ++hops > src.pageCount) {
      throw new SqliteAdapterError(
        `overflow chain ends early or loops at page ${next}: the database is corrupt`,
      );
    }
    const ov = src.read(next);
    const take = Math.min(cap, cell.payloadSize - filled);
    out.set(ov.subarray(4, 4 + take), filled);
    filled += take;
    next = be32(ov, 0);
  }
  return out;
}

export interface WalkOptions {
  /**
   * The caller guarantees no leaf cell of the table b-trees overflows (e.g. the writer knows its
   * largest row fits inline). Leaves are then counted, not read: SQLite b-trees are balanced, so
   * once the leftmost path gives the depth, every child of a page one level above is a leaf.
   * A sealed 1M-row shard has ~20k leaves and ~100 interior pages, so this skips ~99% of reads.
   */
  leavesCannotOverflow?: boolean;
}

export function walkBtrees(src: PageSource, options: WalkOptions = {}): BtreeLayout {
  const interior = new Set<number>();
  const schemaPages = new Set<number>();
  const chains = new Map<number, number[]>();
  const seenOverflow = new Set<number>();
  const schema: SchemaEntry[] = [];
  let leafPageCount = 0;

  const walkChain = (head: number): void => {
    if (chains.has(head)) return;
    const chain: number[] = [];
    let pgno = head;
    while (pgno !== 0) {
      if (pgno > src.pageCount || seenOverflow.has(pgno)) {
        throw new SqliteAdapterError(
          `overflow page ${pgno} is out of range or shared: the database is corrupt`,
        );
      }
      seenOverflow.add(pgno);
      chain.push(pgno);
      pgno = be32(src.read(pgno), 0);
    }
    chains.set(head, chain);
  };

  /** Levels from `root` down to its leaves (0: the root is a leaf), along the leftmost path. */
  const leafDepth = (root: number): number => {
    let depth = 0;
    let pgno = root;
    for (;;) {
      if (pgno < 1 || pgno > src.pageCount || depth > 64) {
        throw new SqliteAdapterError(`b-tree page ${pgno} (root ${root}) is out of range: corrupt`);
      }
      const page = src.read(pgno);
      const header = parsePageHeader(page, pgno);
      if (!header)
        throw new SqliteAdapterError(`page ${pgno} of b-tree ${root} is not a b-tree page: corrupt`);
      if (!header.interior) return depth;
      pgno =
        header.cellCount > 0
          ? parseCell(page, header, cellOffset(page, header, 0), src.usableSize).leftChild
          : header.rightChild;
      depth++;
    }
  };

  const walkTree = (
    root: number,
    onLeafCell?: (page: Uint8Array, cell: ReturnType<typeof parseCell>) => void,
    skipLeaves = false,
  ) => {
    const leafLevel = skipLeaves ? leafDepth(root) : -1;
    const stack = [root];
    const depths = [0];
    const visited = new Set<number>();
    while (stack.length > 0) {
      const pgno = stack.pop()!;
      const depth = depths.pop()!;
      if (pgno < 1 || pgno > src.pageCount || visited.has(pgno)) {
        throw new SqliteAdapterError(
          `b-tree page ${pgno} (root ${root}) is out of range or revisited: corrupt`,
        );
      }
      visited.add(pgno);
      if (root === 1) schemaPages.add(pgno);
      if (depth === leafLevel) {
        leafPageCount++;
        continue;
      }
      const page = src.read(pgno);
      const header: PageHeader | undefined = parsePageHeader(page, pgno);
      if (!header)
        throw new SqliteAdapterError(`page ${pgno} of b-tree ${root} is not a b-tree page: corrupt`);
      if (header.interior) interior.add(pgno);
      else leafPageCount++;
      for (let i = 0; i < header.cellCount; i++) {
        const cell = parseCell(page, header, cellOffset(page, header, i), src.usableSize);
        if (cell.overflowPage !== 0) walkChain(cell.overflowPage);
        if (header.interior) {
          stack.push(cell.leftChild);
          depths.push(depth + 1);
        } else onLeafCell?.(page, cell);
      }
      if (header.interior) {
        stack.push(header.rightChild);
        depths.push(depth + 1);
      }
    }
  };

  walkTree(1, (page, cell) => {
    const record = readPayload(src, page, cell);
    const { types, bodyStart } = recordSerialTypes(record);
    const fields: Array<string | number | null> = [];
    let at = bodyStart;
    for (const t of types) {
      const size = serialTypeSize(t);
      if (t >= 13 && t & 1) fields.push(textDecoder.decode(record.subarray(at, at + size)));
      else if ((t >= 1 && t <= 6) || t === 8 || t === 9) fields.push(decodeIntField(record, at, t));
      else fields.push(null);
      at += size;
    }
    const [type, name, , rootPage] = fields;
    if (typeof rootPage === "number" && rootPage > 0) {
      schema.push({ type: String(type), name: String(name), rootPage });
    }
  });
  // WITHOUT ROWID tables and their primary-key index share one b-tree; walk each root once.
  const roots = [...new Set(schema.map((e) => e.rootPage))].sort((a, b) => a - b);
  for (const root of roots) walkTree(root, undefined, options.leavesCannotOverflow === true);

  const heads = [...chains.keys()].sort((a, b) => a - b);
  return {
    schema,
    interiorPages: [...interior].sort((a, b) => a - b),
    schemaPages: [...schemaPages].sort((a, b) => a - b),
    overflowChains: new Map(heads.map((h) => [h, chains.get(h)!])),
    leafPageCount,
  };
}
