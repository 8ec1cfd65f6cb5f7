/** A byte-bounded LRU of decoded blocks, keyed by SST and block number. */
import type { Block } from "./sst/block-reader.ts";

export class BlockCache {
  private readonly map = new Map<number, Block>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get(key: number): Block | undefined {
    const b = this.map.get(key);
    if (b !== undefined) {
      this.map.delete(key);
      this.map.set(key, b);
    }
    return b;
  }

  set(key: number, block: Block): void {
    if (this.maxBytes <= 0) return;
    const size = block.data.byteLength + 2 * block.offsets.length + 64;
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.bytes -= old.data.byteLength + 2 * old.offsets.length + 64;
    }
    this.map.set(key, block);
    this.bytes += size;
    while (this.bytes > this.maxBytes && this.map.size > 1) {
      const [k, b] = this.map.entries().next().value as [number, Block];
      this.map.delete(k);
      this.bytes -= b.data.byteLength + 2 * b.offsets.length + 64;
    }
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
