/** Abort-aware helpers for streamed uploads, shared by the drivers. */
import { ConfigValidationError } from "@shardy/errors";

export type ByteSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Settles like `promise`, or rejects with `signal.reason` as soon as the signal aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** Resolves after `ms`, or rejects with `signal.reason` when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return raceAbort(new Promise<void>((resolve) => setTimeout(resolve, ms)), signal);
}

function checkChunk(chunk: unknown): Uint8Array {
  if (!(chunk instanceof Uint8Array)) {
    throw new ConfigValidationError(
      `putStream body must yield Uint8Array chunks, got ${Object.prototype.toString.call(chunk)}; encode strings with TextEncoder`,
      { field: "body" },
    );
  }
  return chunk;
}

/**
 * Yields the chunks of `body`. Every wait races the signal, so a stalled source cannot hang an
 * aborted upload; on abort or early exit the source is cancelled.
 */
export async function* chunksOf(body: ByteSource, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  if (body instanceof ReadableStream) {
    const reader = body.getReader();
    let finished = false;
    try {
      while (true) {
        const { done, value } = await raceAbort(reader.read(), signal);
        if (done) {
          finished = true;
          return;
        }
        yield checkChunk(value);
      }
    } finally {
      if (!finished) reader.cancel(signal?.reason).catch(() => {});
      try {
        reader.releaseLock();
      } catch {
        // A read still pending after an abort keeps the lock on some runtimes; the stream is cancelled anyway.
      }
    }
  }
  const iterator = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    while (true) {
      const { done, value } = await raceAbort(iterator.next(), signal);
      if (done) {
        finished = true;
        return;
      }
      yield checkChunk(value);
    }
  } finally {
    // Not awaited: a source suspended in its own await would otherwise hang the abort.
    if (!finished) iterator.return?.()?.catch(() => {});
  }
}

/** A web ReadableStream over `chunksOf(body, signal)`, for consumers that want a stream. */
export function abortableStream(body: ByteSource, signal?: AbortSignal): ReadableStream<Uint8Array> {
  const chunks = chunksOf(body, signal);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await chunks.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
