/** An `SstOutput` that hands chunks to an async consumer (an upload, a file) through a bounded queue. */
import { ChunkQueue } from "./chunk-queue.ts";
import type { SstOutput } from "./snapshot-builder.ts";

export function queuedOutput(
  maxBufferedBytes: number,
  consume: (chunks: AsyncIterable<Uint8Array>) => Promise<void>,
): SstOutput {
  const queue = new ChunkQueue(maxBufferedBytes);
  const done = consume(queue).then(
    () => undefined,
    (e: unknown) => {
      queue.fail(e);
      throw e;
    },
  );
  done.catch(() => {}); // surfaced through finish()
  return {
    write: (chunk) => queue.push(chunk),
    get full() {
      return queue.full;
    },
    drained: () => queue.drained(),
    finish: async () => {
      queue.end();
      await done;
    },
    abort: async (reason) => {
      queue.fail(reason);
      await done.catch(() => {});
    },
  };
}
