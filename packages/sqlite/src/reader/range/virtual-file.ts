/**
 * The bytes of a remote shard.db as sql.js sees them. sql.js keeps files in Emscripten's MEMFS,
 * whose file node takes ownership of the array passed to `new SQL.Database(data)` through
 * `data.slice(0, n)` and serves every read through `contents.subarray(start, end)`. Handing it
 * this object instead makes SQLite's reads come straight from the page cache: a synchronous
 * read-only VFS without patching sql.js.
 *
 * A page that is not cached is either synthesized (an overflow page whose content only feeds a
 * key comparison, see descent.ts) or read as zeros and recorded as a miss; the reader then
 * discards that query's result, fetches the missed pages and runs the query again on a fresh
 * connection, so no zero page survives in SQLite's own cache.
 */
import type { PageCache } from "./page-cache.ts";

export interface SynthesisPlan {
  /** Overflow page -> next page in its chain (0 for the last), from the sidecar. */
  next: Map<number, number>;
  /** Pages whose real bytes the query returns: never synthesized. */
  real: Set<number>;
}

export class VirtualDbFile {
  readonly misses = new Set<number>();
  /** Synthetic pages handed to the current connection (they may sit in SQLite's page cache). */
  readonly synthesized = new Set<number>();
  /** Set per query by the reader; `undefined` disables synthesis. */
  synthesis: SynthesisPlan | undefined;

  constructor(
    readonly length: number,
    readonly pageSize: number,
    private readonly cache: PageCache,
  ) {}

  subarray(start: number, end: number): Uint8Array {
    const from = Math.max(0, start);
    const to = Math.min(end, this.length);
    const out = new Uint8Array(Math.max(0, to - from));
    const size = this.pageSize;
    let pos = from;
    while (pos < to) {
      const pgno = Math.floor(pos / size) + 1;
      const pageStart = (pgno - 1) * size;
      const take = Math.min(to, pageStart + size) - pos;
      const page = this.cache.get(pgno) ?? this.#synthesize(pgno);
      if (page) out.set(page.subarray(pos - pageStart, pos - pageStart + take), pos - from);
      else this.misses.add(pgno);
      pos += take;
    }
    return out;
  }

  /** MEMFS calls `slice(0, length)` once to take ownership of the file contents. */
  slice(start = 0, end = this.length): VirtualDbFile | Uint8Array {
    return start === 0 && end >= this.length ? this : this.subarray(start, end);
  }

  #synthesize(pgno: number): Uint8Array | undefined {
    const plan = this.synthesis;
    if (!plan || plan.real.has(pgno)) return undefined;
    const next = plan.next.get(pgno);
    if (next === undefined) return undefined;
    const page = new Uint8Array(this.pageSize);
    new DataView(page.buffer).setUint32(0, next);
    this.synthesized.add(pgno);
    return page;
  }
}
