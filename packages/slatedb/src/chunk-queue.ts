/**
 * A bounded hand-off between the synchronous SST builder and an upload that consumes an async
 * iterable (`ObjectStore.putStream`). The producer checks `full` and awaits `drained()`.
 */
export class ChunkQueue implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private ended = false;
  private failure: unknown;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(readonly maxBufferedBytes: number) {}

  get bufferedBytes(): number {
    return this.bytes;
  }

  get full(): boolean {
    return this.bytes >= this.maxBufferedBytes;
  }

  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error("ChunkQueue.push after end");
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.wakeConsumer?.();
  }

  end(): void {
    this.ended = true;
    this.wakeConsumer?.();
  }

  /** Makes the consumer stop with `reason` (the upload then fails and cleans up). */
  fail(reason: unknown): void {
    this.failure = reason ?? new Error("upload aborted");
    this.ended = true;
    this.chunks = [];
    this.bytes = 0;
    this.wakeConsumer?.();
    this.wakeProducer?.();
  }

  /** Resolves once the buffer is below its bound (or the queue failed). */
  async drained(): Promise<void> {
    while (this.bytes >= this.maxBufferedBytes && this.failure === undefined) {
      await new Promise<void>((resolve) => {
        this.wakeProducer = resolve;
      });
      this.wakeProducer = undefined;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      const next = this.chunks.shift();
      if (next !== undefined) {
        this.bytes -= next.length;
        if (this.bytes < this.maxBufferedBytes) this.wakeProducer?.();
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
      this.wakeConsumer = undefined;
    }
  }
}
