/**
 * Follows the message framing of an Arrow IPC stream as its bytes pass through, so the end of the
 * input can be told from a cut: Arrow's reader ends quietly when the bytes stop at a message
 * boundary, and a shard written from such a stream would silently miss rows. Only the message
 * prefixes and metadata are looked at (bodies are skipped by length), nothing is copied.
 */
import { ConfigValidationError } from "@shardy/errors";
import { Message } from "apache-arrow";

const CONTINUATION = 0xffffffff;

type Phase = "length" | "metadata" | "body" | "ended";

export class IpcEndTracker {
  #phase: Phase = "length";
  /** Bytes still wanted in the current phase. */
  #want = 4;
  /** The prefix or metadata bytes gathered so far (bodies are skipped, not gathered). */
  #held: Uint8Array = new Uint8Array(8);
  #have = 0;
  #offset = 0;

  constructor(readonly what: string) {}

  get ended(): boolean {
    return this.#phase === "ended";
  }

  /** The chunks unchanged, with the framing followed as they go by. */
  async *track(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks) {
      this.#feed(chunk);
      yield chunk;
    }
  }

  /** Throws unless the stream's end-of-stream marker went by. */
  assertEnded(): void {
    if (this.ended) return;
    throw new ConfigValidationError(
      `${this.what} stopped at byte ${this.#offset} without the Arrow end-of-stream marker: the input was cut short ` +
        "(the writer died or closed the pipe early); write the whole stream and close it with the writer's end marker",
      { field: "input" },
    );
  }

  #feed(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && this.#phase !== "ended") {
      const n = Math.min(this.#want, chunk.length - at);
      if (this.#phase !== "body") {
        if (this.#held.length < this.#have + n) this.#held = grow(this.#held, this.#have + this.#want);
        this.#held.set(chunk.subarray(at, at + n), this.#have);
        this.#have += n;
      }
      at += n;
      this.#want -= n;
      if (this.#want === 0) this.#next();
    }
    this.#offset += chunk.length;
  }

  #next(): void {
    const view = new DataView(this.#held.buffer, 0, this.#have);
    if (this.#phase === "length") {
      const value = view.getUint32(this.#have - 4, true);
      if (value === CONTINUATION && this.#have === 4) {
        this.#want = 4; // the metadata length follows the continuation marker
        return;
      }
      this.#have = 0;
      if (value === 0) this.#phase = "ended";
      else this.#enter("metadata", value);
    } else if (this.#phase === "metadata") {
      const bodyLength = Number(Message.decode(this.#held.subarray(0, this.#have)).bodyLength);
      this.#have = 0;
      if (bodyLength > 0) this.#enter("body", bodyLength);
      else this.#enter("length", 4);
    } else {
      this.#enter("length", 4);
    }
  }

  #enter(phase: Phase, want: number): void {
    this.#phase = phase;
    this.#want = want;
  }
}

function grow(held: Uint8Array, size: number): Uint8Array {
  const next = new Uint8Array(Math.max(size, held.length * 2));
  next.set(held);
  return next;
}
