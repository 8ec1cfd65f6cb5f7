/**
 * Reads back, in key order, the rows of a `kv` b-tree this package wrote (`KvBtreeBuilder`), as
 * one sorted run of the final merge. A shard writer streams rows straight into a b-tree while
 * they arrive in ascending key order; when the order breaks, that b-tree becomes the oldest run.
 */
import {
  cellOffset,
  type PageHeader,
  parseCell,
  parsePageHeader,
  readVarint,
  serialTypeSize,
} from "../format/btree.ts";
import type { FilePageSource } from "../format/file-source.ts";
import { openFilePageSource } from "../format/file-source.ts";
import { readPayload } from "../format/walk.ts";
import type { SortedRun } from "./spill.ts";

/** The `kv` table's root page: `KvBtreeBuilder` always puts it on page 2. */
const KV_ROOT_PAGE = 2;

interface Frame {
  page: Uint8Array;
  header: PageHeader;
  /** Next cell to emit (interior pages: after the subtree on its left). */
  cell: number;
  /** Interior pages: the subtree left of `cell` has been entered. */
  descended: boolean;
}

export class BtreeRunReader implements SortedRun {
  buf: Uint8Array = new Uint8Array(0);
  at = 0;
  keyLength = 0;
  valueLength = 0;
  readonly #src: FilePageSource;
  readonly #stack: Frame[] = [];

  private constructor(
    src: FilePageSource,
    readonly runIndex: number,
  ) {
    this.#src = src;
    this.#push(KV_ROOT_PAGE);
  }

  static open(path: string, runIndex: number): BtreeRunReader {
    return new BtreeRunReader(openFilePageSource(path), runIndex);
  }

  /** In-order traversal: an interior cell's row comes after its left subtree, before the next. */
  next(): boolean {
    const stack = this.#stack;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const cells = top.header.cellCount;
      if (!top.header.interior) {
        if (top.cell < cells) {
          this.#emit(top, top.cell++);
          return true;
        }
        stack.pop();
        continue;
      }
      if (!top.descended) {
        top.descended = true;
        const child =
          top.cell < cells
            ? parseCell(
                top.page,
                top.header,
                cellOffset(top.page, top.header, top.cell),
                this.#src.usableSize,
              ).leftChild
            : top.header.rightChild;
        this.#push(child);
        continue;
      }
      if (top.cell < cells) {
        this.#emit(top, top.cell++);
        top.descended = false;
        return true;
      }
      stack.pop();
    }
    return false;
  }

  close(): void {
    this.#src.close();
  }

  #push(pgno: number): void {
    const page = this.#src.read(pgno);
    const header = parsePageHeader(page, pgno);
    if (!header) throw new Error(`page ${pgno} of a streamed shard run is not a b-tree page`);
    this.#stack.push({ page, header, cell: 0, descended: false });
  }

  /** Points `buf`/`at` at the key of cell `i`; the value follows it. */
  #emit(frame: Frame, i: number): void {
    const cell = parseCell(
      frame.page,
      frame.header,
      cellOffset(frame.page, frame.header, i),
      this.#src.usableSize,
    );
    let record: Uint8Array;
    let base: number;
    if (cell.overflowPage === 0) {
      record = frame.page;
      base = cell.payloadStart;
    } else {
      record = readPayload(this.#src, frame.page, cell);
      base = 0;
    }
    // Record: header size, the key's and the value's serial types (both blobs), key, value.
    const [headerSize] = readVarint(record, base);
    const [keyType, n1] = readVarint(record, base + 1);
    const [valueType] = readVarint(record, base + 1 + n1);
    this.buf = record;
    this.at = base + headerSize;
    this.keyLength = serialTypeSize(keyType);
    this.valueLength = serialTypeSize(valueType);
  }
}
