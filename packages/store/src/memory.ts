/**
 * `memory://name`: an in-process store with full semantics (conditions, ranges, listing), for
 * unit tests. Stores opened by the same name share their objects.
 */
import { checkConditions, notFound } from "./conditions.ts";
import { contentEtag } from "./etag.ts";
import {
  assertValidKey,
  clampRange,
  compareKeys,
  foldListing,
  isUnderSegment,
  normalizeSegmentPrefix,
} from "./keys.ts";
import { type ByteSource, chunksOf } from "./streams.ts";
import type {
  ByteRange,
  GetResult,
  ListOptions,
  ListResult,
  ObjectMeta,
  ObjectStore,
  PutOptions,
  PutResult,
  StoreCapabilities,
} from "./types.ts";

interface Entry {
  body: Uint8Array;
  etag: string;
  lastModified: Date;
}

const named = new Map<string, MemoryStore>();

export class MemoryStore implements ObjectStore {
  readonly baseUrl: string;
  readonly capabilities: StoreCapabilities = { conditionalPut: true, multipart: false };
  readonly #objects = new Map<string, Entry>();

  constructor(name = "default") {
    this.baseUrl = `memory://${name}`;
  }

  /** The process-wide store called `name` (what `openStore("memory://name")` returns). */
  static named(name: string): MemoryStore {
    let store = named.get(name);
    if (!store) {
      store = new MemoryStore(name);
      named.set(name, store);
    }
    return store;
  }

  async get(key: string, options?: { signal?: AbortSignal }): Promise<GetResult | undefined> {
    assertValidKey(key);
    options?.signal?.throwIfAborted();
    const entry = this.#objects.get(key);
    return entry && { ...meta(key, entry), body: entry.body.slice() };
  }

  async getRange(key: string, range: ByteRange, options?: { signal?: AbortSignal }): Promise<Uint8Array> {
    assertValidKey(key);
    options?.signal?.throwIfAborted();
    const entry = this.#objects.get(key);
    if (!entry) throw notFound(this.baseUrl, key);
    const [start, end] = clampRange(range, entry.body.length);
    return entry.body.slice(start, end);
  }

  async head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectMeta | undefined> {
    assertValidKey(key);
    options?.signal?.throwIfAborted();
    const entry = this.#objects.get(key);
    return entry && meta(key, entry);
  }

  async put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult> {
    assertValidKey(key);
    options?.signal?.throwIfAborted();
    const copy = body.slice();
    const etag = await contentEtag(copy);
    options?.signal?.throwIfAborted();
    // No await between the check and the write: this is what makes the condition atomic.
    checkConditions(key, this.#objects.get(key), options);
    this.#objects.set(key, { body: copy, etag, lastModified: new Date() });
    return { etag };
  }

  async putStream(
    key: string,
    body: ByteSource,
    options?: { contentType?: string; signal?: AbortSignal },
  ): Promise<PutResult> {
    assertValidKey(key);
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of chunksOf(body, options?.signal)) {
      parts.push(chunk.slice());
      size += chunk.length;
    }
    const whole = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      whole.set(part, at);
      at += part.length;
    }
    return this.put(key, whole, { signal: options?.signal });
  }

  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    options?.signal?.throwIfAborted();
    const objects: ObjectMeta[] = [];
    for (const [key, entry] of this.#objects) {
      if (key.startsWith(prefix)) objects.push(meta(key, entry));
    }
    objects.sort((a, b) => compareKeys(a.key, b.key));
    return foldListing(objects, prefix, options?.delimiter);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    this.#objects.delete(key);
  }

  async deletePrefix(prefix: string, options?: { signal?: AbortSignal }): Promise<number> {
    const segment = normalizeSegmentPrefix(prefix);
    options?.signal?.throwIfAborted();
    let deleted = 0;
    for (const key of [...this.#objects.keys()]) {
      if (isUnderSegment(key, segment)) {
        this.#objects.delete(key);
        deleted++;
      }
    }
    return deleted;
  }

  /** Drops every object (tests reuse named stores). */
  clear(): void {
    this.#objects.clear();
  }
}

function meta(key: string, entry: Entry): ObjectMeta {
  return { key, size: entry.body.length, etag: entry.etag, lastModified: entry.lastModified };
}
