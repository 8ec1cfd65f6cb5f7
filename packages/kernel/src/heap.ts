import { ShardyError } from "@shardy/errors";
import type { KernelExports } from "./abi.ts";

/** A block of kernel memory reused across calls; it only ever grows. */
export interface Block {
  ptr: number;
  size: number;
}

/**
 * Scratch memory inside the kernel's linear memory. Blocks are kept and reused between calls so
 * steady-state batches allocate nothing; views are re-created whenever memory has grown (growth
 * detaches the old ArrayBuffer).
 */
export class KernelHeap {
  private buffer: ArrayBuffer | undefined;
  private u8View = new Uint8Array(0);
  private dataView = new DataView(new ArrayBuffer(0));

  constructor(private readonly exports: KernelExports) {}

  block(): Block {
    return { ptr: 0, size: 0 };
  }

  /** Makes `block` at least `size` bytes (contents are not kept) and returns its pointer. */
  ensure(block: Block, size: number): number {
    if (block.size >= size && block.ptr !== 0) return block.ptr;
    if (block.ptr !== 0) this.exports.kernel_free(block.ptr, block.size);
    // Grow geometrically so a slowly rising size does not reallocate on every call.
    const want = Math.max(size, block.size * 2, 64);
    const ptr = this.exports.kernel_alloc(want);
    if (ptr === 0) {
      block.ptr = 0;
      block.size = 0;
      throw new ShardyError(
        `shardy kernel could not allocate ${want} bytes of WASM memory; process the keys in smaller batches`,
      );
    }
    block.ptr = ptr;
    block.size = want;
    return ptr;
  }

  /** Byte view of the whole linear memory, valid until the next call that may allocate. */
  get u8(): Uint8Array {
    this.refresh();
    return this.u8View;
  }

  get view(): DataView {
    this.refresh();
    return this.dataView;
  }

  get memoryBuffer(): ArrayBuffer {
    this.refresh();
    return this.buffer as ArrayBuffer;
  }

  private refresh(): void {
    const buffer = this.exports.memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.u8View = new Uint8Array(buffer);
      this.dataView = new DataView(buffer);
    }
  }
}
