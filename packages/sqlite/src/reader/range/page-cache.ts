/**
 * Pages of one remote shard.db held in memory: pinned pages (page 1 and the sidecar's interior
 * pages, never evicted) and a bounded LRU of everything else fetched by range requests.
 */
export class PageCache {
  readonly #pinned = new Map<number, Uint8Array>();
  readonly #lru = new Map<number, Uint8Array>();

  constructor(readonly capacity: number) {}

  get pinnedCount(): number {
    return this.#pinned.size;
  }

  get cachedCount(): number {
    return this.#lru.size;
  }

  pin(pgno: number, page: Uint8Array): void {
    this.#lru.delete(pgno);
    this.#pinned.set(pgno, page);
  }

  isPinned(pgno: number): boolean {
    return this.#pinned.has(pgno);
  }

  has(pgno: number): boolean {
    return this.#pinned.has(pgno) || this.#lru.has(pgno);
  }

  /** The page, refreshing its LRU position; `undefined` on a miss. */
  get(pgno: number): Uint8Array | undefined {
    const pinned = this.#pinned.get(pgno);
    if (pinned) return pinned;
    const page = this.#lru.get(pgno);
    if (page) {
      this.#lru.delete(pgno);
      this.#lru.set(pgno, page);
    }
    return page;
  }

  put(pgno: number, page: Uint8Array): void {
    if (this.#pinned.has(pgno)) return;
    this.#lru.delete(pgno);
    this.#lru.set(pgno, page);
    while (this.#lru.size > this.capacity) {
      const oldest = this.#lru.keys().next().value as number;
      this.#lru.delete(oldest);
    }
  }
}
