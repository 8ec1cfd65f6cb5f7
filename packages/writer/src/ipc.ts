/** Record batches <-> Arrow IPC stream bytes (worker messages, spools, `shardy write-shard` stdin). */
import { ConfigValidationError } from "@shardy/errors";
import { type RecordBatch, RecordBatchReader, RecordBatchStreamWriter } from "apache-arrow";

/** One batch as a self-contained IPC stream (schema + batch + end marker). */
export function batchToIpc(batch: RecordBatch): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  writer.write(batch);
  writer.finish();
  return writer.toUint8Array(true);
}

/** Every batch of one IPC stream held in memory. */
export function ipcToBatches(bytes: Uint8Array, what = "Arrow IPC message"): RecordBatch[] {
  try {
    return [...RecordBatchReader.from(bytes)] as RecordBatch[];
  } catch (cause) {
    throw new ConfigValidationError(`${what} is not a valid Arrow IPC stream: ${(cause as Error).message}`, {
      field: "input",
      cause,
    });
  }
}

/**
 * Batches of an IPC stream arriving in chunks (stdin, a socket): one batch in memory at a time.
 * A truncated or corrupt stream is a `ConfigValidationError` naming the batch it broke in.
 */
export async function* readIpcStream(
  chunks: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  what = "Arrow IPC stream",
): AsyncGenerator<RecordBatch> {
  let reader: Awaited<ReturnType<typeof RecordBatchReader.from>>;
  try {
    reader = await RecordBatchReader.from(chunks as AsyncIterable<Uint8Array>);
  } catch (cause) {
    throw new ConfigValidationError(`${what}: not an Arrow IPC stream: ${(cause as Error).message}`, {
      field: "input",
      cause,
    });
  }
  const it = reader[Symbol.asyncIterator]();
  for (let index = 0; ; index++) {
    let next: IteratorResult<RecordBatch>;
    try {
      next = await it.next();
    } catch (cause) {
      throw new ConfigValidationError(
        `${what}: record batch ${index} is malformed: ${(cause as Error).message}`,
        {
          field: "input",
          cause,
        },
      );
    }
    if (next.done) return;
    yield next.value;
  }
}
