/**
 * An optional LRU of get answers per snapshot. Snapshots are immutable, so an answer stays right
 * for as long as the same manifest is served: the cache is keyed by the served manifest ref and
 * dropped whole when a refresh or rollback swaps in another one. Absent keys are cached too.
 */

interface Tally {
  inc(): void;
}

export class ValueCache {
  readonly #capacity: number;
  readonly #hits: Tally | undefined;
  readonly #misses: Tally | undefined;
  #ref = "";
  #entries = new Map<string, Uint8Array | null>();

  constructor(capacity: number, counters: { hits?: Tally; misses?: Tally } = {}) {
    this.#capacity = capacity;
    this.#hits = counters.hits;
    this.#misses = counters.misses;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached answer (`null` = absent), or `undefined` when not cached for `ref`. */
  get(ref: string, key: string): Uint8Array | null | undefined {
    if (ref !== this.#ref) {
      this.#ref = ref;
      this.#entries = new Map();
    }
    const v = this.#entries.get(key);
    if (v === undefined) {
      this.#misses?.inc();
      return undefined;
    }
    // Map order is insertion order: re-inserting marks the entry most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, v);
    this.#hits?.inc();
    return v;
  }

  set(ref: string, key: string, value: Uint8Array | null): void {
    if (ref !== this.#ref) return;
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }
}
