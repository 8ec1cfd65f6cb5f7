/**
 * Writes the `kv` WITHOUT ROWID table of a shard.db straight to pages, bottom-up, from rows
 * that arrive in strictly ascending key order: no SQLite, no INSERT statements.
 *
 * A WITHOUT ROWID table is an index b-tree (https://sqlite.org/fileformat.html#b_tree_pages):
 * every (k, v) record is stored exactly once, in a leaf (type 10) or as a divider of an interior
 * page (type 2, a 4-byte left child before the cell). Leaves are packed full; when a row does not
 * fit, the leaf's last row moves up as the divider and the row opens the next leaf, so no page is
 * ever left empty. Interior levels split the same way. The root is always page 2 (what
 * `sqlite_schema` names); other pages are numbered and appended in the order they complete,
 * overflow chains included, so the file is written sequentially apart from pages 1 and 2.
 */
import { ShardWriteError } from "@shardy/errors";
import { be32, localPayloadSize, PAGE_INTERIOR_INDEX, PAGE_LEAF_INDEX } from "../format/btree.ts";
import { inlinePayloadThreshold } from "../page-size.ts";
import type { LocalFs } from "../util/local-fs.ts";
import { copyBytes, WordCopier } from "./bytes.ts";
import { buildSchemaPage } from "./schema-page.ts";
import { putVarint, varintLength } from "./varint.ts";

const ROOT_PAGE = 2;
const FIRST_FREE_PAGE = 3;
const LEAF_HEADER = 8;
const INTERIOR_HEADER = 12;
/** Pages gathered before one positional write. */
const OUT_PAGES = 256;

/** One level of the tree being built: its open (rightmost) page. */
interface Level {
  page: Uint8Array;
  header: number;
  cells: number;
  /** Start of the cell content area; cells are placed downwards from the page end. */
  contentStart: number;
}

export interface BtreeBuildResult {
  pageCount: number;
  rows: number;
}

export class KvBtreeBuilder {
  readonly #fs: LocalFs;
  readonly #fd: number;
  readonly #path: string;
  readonly #usable: number;
  readonly #maxLocal: number;
  readonly #maxPages: number;
  readonly #levels: Level[] = [];
  readonly #out: Uint8Array;
  /** Page number of the first page in `#out`, and how many it holds. */
  #outFirst = FIRST_FREE_PAGE;
  #outPages = 0;
  #nextPage = FIRST_FREE_PAGE;
  #rows = 0;
  readonly #writebackBytes: number;
  #written = 0;
  #writebackFrom = 0;
  #writebackRunning = false;
  readonly #copier = new WordCopier();
  /** Record header scratch (size varint + two serial types). */
  readonly #header = new Uint8Array(19);

  /**
   * Opens `path` (truncated) for a database of `pageSize`-byte pages. `maxBytes` bounds the file
   * like SQLite's `max_page_count`: past it `add` throws a disk-full error. `writebackBytes` > 0
   * asks the kernel to write the finished pages to disk every that many bytes, in the background
   * (for a file that will be fsynced as it is: the final sync then has little left to wait for).
   */
  constructor(
    fs: LocalFs,
    path: string,
    pageSize: number,
    maxBytes = Number.POSITIVE_INFINITY,
    writebackBytes = 0,
  ) {
    this.#fs = fs;
    this.#path = path;
    this.#writebackBytes = writebackBytes;
    this.#usable = pageSize;
    this.#maxLocal = inlinePayloadThreshold(pageSize);
    this.#maxPages = Math.max(ROOT_PAGE, Math.floor(maxBytes / pageSize));
    this.#out = new Uint8Array(OUT_PAGES * pageSize);
    this.#levels.push(this.#newLevel(LEAF_HEADER));
    this.#fd = fs.openSync(path, "w");
  }

  get rows(): number {
    return this.#rows;
  }

  get pageSize(): number {
    return this.#usable;
  }

  /** Appends one row; keys must be strictly ascending (the caller sorts and de-duplicates). */
  add(key: Uint8Array, value: Uint8Array): void {
    this.addPair(key, 0, key.length, value, 0, value.length);
  }

  /** `add` for a row given as offsets into byte arrays (a `PairSink`): no views needed. */
  addPair(ks: Uint8Array, ka: number, kl: number, vs: Uint8Array, va: number, vl: number): void {
    const keyType = 2 * kl + 12;
    const valueType = 2 * vl + 12;
    const headerSize = 1 + varintLength(keyType) + varintLength(valueType);
    const payload = headerSize + kl + vl;
    const leaf = this.#levels[0]!;
    if (payload <= this.#maxLocal) {
      const size = varintLength(payload) + payload;
      if (size + 2 > leaf.contentStart - LEAF_HEADER - 2 * leaf.cells) this.#splitLeaf(leaf);
      let at = leaf.contentStart - size;
      this.#placeCell(leaf, at);
      const page = leaf.page;
      at = putVarint(page, at, payload);
      page[at++] = headerSize;
      at = putVarint(page, at, keyType);
      at = putVarint(page, at, valueType);
      copyBytes(ks, ka, page, at, kl);
      this.#copier.copy(vs, va, page, at + kl, vl);
    } else {
      this.#addSpilling(leaf, ks.subarray(ka, ka + kl), vs.subarray(va, va + vl), headerSize, payload);
    }
    this.#rows++;
  }

  /** Writes the open pages bottom-up (the top one as root page 2), then page 1. */
  finish(): BtreeBuildResult {
    let child = 0;
    const top = this.#levels.length - 1;
    for (let l = 0; l <= top; l++) {
      const level = this.#levels[l]!;
      const pgno = l === top ? ROOT_PAGE : this.#allocate(1);
      this.#emitLevel(level, pgno, child);
      child = pgno;
    }
    this.#flushOut();
    const pageCount = this.#nextPage - 1;
    this.#fs.writeSync(this.#fd, buildSchemaPage(this.#usable, pageCount, ROOT_PAGE), 0, this.#usable, 0);
    this.#fs.closeSync(this.#fd);
    return { pageCount, rows: this.#rows };
  }

  /** Closes the file after a failure (the caller removes it). */
  close(): void {
    try {
      this.#fs.closeSync(this.#fd);
    } catch {
      // Already closed by finish().
    }
  }

  /** A row whose record exceeds the inline limit: the local part here, the rest in an overflow chain. */
  #addSpilling(leaf: Level, key: Uint8Array, value: Uint8Array, headerSize: number, payload: number): void {
    const usable = this.#usable;
    const local = localPayloadSize(payload, usable, false);
    const size = varintLength(payload) + local + 4;
    if (size + 2 > leaf.contentStart - LEAF_HEADER - 2 * leaf.cells) this.#splitLeaf(leaf);
    const header = this.#header;
    let h = 0;
    header[h++] = headerSize;
    h = putVarint(header, h, 2 * key.length + 12);
    h = putVarint(header, h, 2 * value.length + 12);
    const parts = [header.subarray(0, h), key, value];

    const chainPages = Math.ceil((payload - local) / (usable - 4));
    const first = this.#allocate(chainPages);
    for (let i = 0, from = local; i < chainPages; i++) {
      const n = Math.min(usable - 4, payload - from);
      const page = this.#outSlot(first + i);
      const next = i + 1 < chainPages ? first + i + 1 : 0;
      putU32be(page, 0, next);
      copyParts(parts, from, n, page, 4);
      page.fill(0, 4 + n);
      from += n;
    }

    let at = leaf.contentStart - size;
    this.#placeCell(leaf, at);
    at = putVarint(leaf.page, at, payload);
    copyParts(parts, 0, local, leaf.page, at);
    at += local;
    putU32be(leaf.page, at, first);
  }

  /** Records a cell of `level` that starts at `at` (just below the content area). */
  #placeCell(level: Level, at: number): void {
    const ptr = level.header + 2 * level.cells;
    level.page[ptr] = at >>> 8;
    level.page[ptr + 1] = at & 0xff;
    level.contentStart = at;
    level.cells++;
  }

  /** The leaf is full: its last row becomes the divider above it, and a new leaf opens. */
  #splitLeaf(leaf: Level): void {
    const [start, end] = this.#popLastCell(leaf);
    // A copy: emitting the page zeroes the space the cell leaves.
    const divider = leaf.page.slice(start, end);
    const pgno = this.#allocate(1);
    this.#emitLevel(leaf, pgno, 0);
    this.#pushDivider(1, divider, pgno);
    this.#reset(leaf);
  }

  /** Adds (`cell`, left child `child`) to interior level `l`, splitting it the same way when full. */
  #pushDivider(l: number, cell: Uint8Array, child: number): void {
    if (l === this.#levels.length) this.#levels.push(this.#newLevel(INTERIOR_HEADER));
    const level = this.#levels[l]!;
    const size = 4 + cell.length;
    if (size + 2 > level.contentStart - INTERIOR_HEADER - 2 * level.cells) {
      const [start, end] = this.#popLastCell(level);
      const page = level.page;
      // The popped cell's left child becomes the page's right child.
      const rightChild = be32(page, start);
      const divider = page.slice(start + 4, end);
      const pgno = this.#allocate(1);
      this.#emitLevel(level, pgno, rightChild);
      this.#pushDivider(l + 1, divider, pgno);
      this.#reset(level);
    }
    const at = level.contentStart - size;
    this.#placeCell(level, at);
    const page = level.page;
    putU32be(page, at, child);
    page.set(cell, at + 4);
  }

  /** Removes the last cell of `level` (the lowest in its content area); returns its byte range. */
  #popLastCell(level: Level): [number, number] {
    const page = level.page;
    const start = level.contentStart;
    const before = level.header + 2 * (level.cells - 2);
    const end = level.cells > 1 ? (page[before]! << 8) | page[before + 1]! : this.#usable;
    level.cells--;
    level.contentStart = end;
    return [start, end];
  }

  /** Writes the header of `level`'s page and emits it as page `pgno`. */
  #emitLevel(level: Level, pgno: number, rightChild: number): void {
    const page = level.page;
    const interior = level.header === INTERIOR_HEADER;
    page[0] = interior ? PAGE_INTERIOR_INDEX : PAGE_LEAF_INDEX;
    page[1] = 0; // no freeblocks
    page[2] = 0;
    page[3] = level.cells >>> 8;
    page[4] = level.cells & 0xff;
    const cca = level.contentStart === 65536 ? 0 : level.contentStart;
    page[5] = cca >>> 8;
    page[6] = cca & 0xff;
    page[7] = 0; // no fragmented bytes
    if (interior) {
      putU32be(page, 8, rightChild);
    }
    page.fill(0, level.header + 2 * level.cells, level.contentStart);
    if (pgno === ROOT_PAGE) {
      this.#fs.writeSync(this.#fd, page, 0, this.#usable, (ROOT_PAGE - 1) * this.#usable);
    } else {
      this.#outSlot(pgno).set(page);
    }
  }

  #reset(level: Level): void {
    level.cells = 0;
    level.contentStart = this.#usable;
  }

  #newLevel(header: number): Level {
    return { page: new Uint8Array(this.#usable), header, cells: 0, contentStart: this.#usable };
  }

  /** Reserves `n` consecutive page numbers. */
  #allocate(n: number): number {
    const first = this.#nextPage;
    if (first + n - 1 > this.#maxPages) {
      throw new ShardWriteError(
        `local disk full while writing ${this.#path}: it would pass ${this.#maxPages} pages of ${this.#usable} bytes ` +
          "(maxDbBytes); free space under the writer's local_root or raise the limit, then retry",
      );
    }
    this.#nextPage += n;
    return first;
  }

  /** The output slot of page `pgno`, the next one in file order. */
  #outSlot(pgno: number): Uint8Array {
    if (this.#outPages === OUT_PAGES) this.#flushOut();
    if (pgno !== this.#outFirst + this.#outPages) {
      throw new Error(
        `b-tree builder wrote page ${pgno} out of order (expected ${this.#outFirst + this.#outPages})`,
      );
    }
    const at = this.#outPages++ * this.#usable;
    return this.#out.subarray(at, at + this.#usable);
  }

  #flushOut(): void {
    const bytes = this.#outPages * this.#usable;
    let done = 0;
    const position = (this.#outFirst - 1) * this.#usable;
    while (done < bytes) {
      done += this.#fs.writeSync(this.#fd, this.#out, done, bytes - done, position + done);
    }
    this.#outFirst += this.#outPages;
    this.#outPages = 0;
    this.#written += bytes;
    if (this.#writebackBytes > 0 && this.#written - this.#writebackFrom >= this.#writebackBytes) {
      this.#startWriteback();
    }
  }

  /**
   * `fdatasync` on a descriptor of its own, off this thread (the callback API runs it on the
   * runtime's I/O pool), so the builder's own descriptor can close at any time. One at a time;
   * failures are ignored: it is only a head start for the final sync.
   */
  #startWriteback(): void {
    if (this.#writebackRunning) return;
    this.#writebackRunning = true;
    this.#writebackFrom = this.#written;
    const fs = this.#fs;
    const done = () => {
      this.#writebackRunning = false;
    };
    fs.open(this.#path, "r", (openErr, fd) => {
      if (openErr) return done();
      fs.fdatasync(fd, () => fs.close(fd, done));
    });
  }
}

function putU32be(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** Copies `n` bytes starting at `from` of the concatenation of `parts` to `dst[at..]`. */
function copyParts(parts: Uint8Array[], from: number, n: number, dst: Uint8Array, at: number): void {
  let skip = from;
  let left = n;
  for (const part of parts) {
    if (left === 0) return;
    if (skip >= part.length) {
      skip -= part.length;
      continue;
    }
    const take = Math.min(part.length - skip, left);
    dst.set(part.subarray(skip, skip + take), at);
    at += take;
    left -= take;
    skip = 0;
  }
}
