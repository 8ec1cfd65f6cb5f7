/**
 * The IPC messages of an Arrow file as a synchronous stream of large positioned reads, for
 * Arrow's synchronous stream reader. Arrow's own reader over a `FileHandle` awaits one small
 * read after another and costs about eight times the CPU of the bytes it reads.
 *
 * The file format (`ARROW1` magic, messages, footer) is read through its footer: the schema,
 * then every dictionary block, then every record batch block, each block one read. A stream
 * (`.arrows`) is read front to back in 8 MiB chunks.
 *
 * With `reuseBuffers`, record batch blocks are read into a ring of two buffers: batch `n` stays
 * valid while the reader decodes batch `n + 1`, and no longer. Dictionaries (which later batches
 * refer to) and stream chunks always get memory of their own.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { Message } from "apache-arrow";
// The footer codec is not in Arrow's main entry point; the package exports its modules ("./*").
import { Footer } from "apache-arrow/ipc/metadata/file";

const MAGIC = "ARROW1";
/** Magic plus padding at the start of a file. */
const FILE_HEADER_BYTES = 8;
/** Footer length (int32) plus the closing magic. */
const FILE_TRAILER_BYTES = 4 + MAGIC.length;
const STREAM_CHUNK_BYTES = 8 << 20;
const CONTINUATION = 0xffffffff;

/** Where reading failed, for `not a readable Arrow IPC file` messages. */
export class IpcReadError extends Error {
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(message);
  }
}

/** Byte chunks of `file`'s IPC stream: the schema message first, then the batches (and dictionaries). */
export function* ipcMessageChunks(
  file: string,
  options: { reuseBuffers?: boolean } = {},
): Generator<Uint8Array> {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    if (size >= FILE_HEADER_BYTES && hasMagic(readAt(fd, 0, MAGIC.length))) {
      yield* fileFormatChunks(fd, size, options.reuseBuffers ? new BufferRing() : undefined);
    } else {
      yield* streamChunks(fd, size);
    }
  } finally {
    closeSync(fd);
  }
}

function* fileFormatChunks(fd: number, size: number, ring: BufferRing | undefined): Generator<Uint8Array> {
  if (
    size < FILE_HEADER_BYTES + FILE_TRAILER_BYTES ||
    !hasMagic(readAt(fd, size - MAGIC.length, MAGIC.length))
  ) {
    throw new IpcReadError(
      "footer",
      "the file starts like an Arrow IPC file but has no closing ARROW1 magic (truncated?)",
    );
  }
  const footerLength = new DataView(readAt(fd, size - FILE_TRAILER_BYTES, 4).buffer).getInt32(0, true);
  const footerStart = size - FILE_TRAILER_BYTES - footerLength;
  if (footerLength <= 0 || footerStart < FILE_HEADER_BYTES) {
    throw new IpcReadError("footer", `footer length ${footerLength} does not fit a ${size}-byte file`);
  }
  let footer: InstanceType<typeof Footer>;
  try {
    footer = Footer.decode(readAt(fd, footerStart, footerLength));
  } catch (cause) {
    throw new IpcReadError("footer", (cause as Error).message);
  }
  yield frameMessage(Message.encode(Message.from(footer.schema)));
  for (const [kind, blocks] of [
    ["dictionary batch", footer.dictionaryBatches()],
    ["record batch", footer.recordBatches()],
  ] as const) {
    let index = 0;
    for (const block of blocks) {
      const length = block.metaDataLength + block.bodyLength;
      if (block.offset < FILE_HEADER_BYTES || block.offset + length > footerStart) {
        throw new IpcReadError(
          `${kind} ${index}`,
          `block [${block.offset}, +${length}) lies outside the file's data`,
        );
      }
      yield readAt(fd, block.offset, length, kind === "record batch" ? ring?.next(length) : undefined);
      index++;
    }
  }
}

function* streamChunks(fd: number, size: number): Generator<Uint8Array> {
  for (let pos = 0; pos < size; pos += STREAM_CHUNK_BYTES) {
    yield readAt(fd, pos, Math.min(STREAM_CHUNK_BYTES, size - pos));
  }
}

/** `length` bytes at `position`, into `into` or a buffer of their own (batches keep views into it). */
function readAt(fd: number, position: number, length: number, into?: Uint8Array): Uint8Array {
  const out = into ?? new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0)
      throw new IpcReadError("read", `the file ended at byte ${position + done}, inside a message`);
    done += n;
  }
  return out;
}

/** Two buffers used in turn, each grown to the largest block it held. */
class BufferRing {
  readonly #buffers: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
  #turn = 0;

  next(length: number): Uint8Array {
    const i = this.#turn;
    this.#turn ^= 1;
    if (this.#buffers[i]!.length < length) this.#buffers[i] = new Uint8Array(length);
    return this.#buffers[i]!.subarray(0, length);
  }
}

function hasMagic(bytes: Uint8Array): boolean {
  return String.fromCharCode(...bytes.subarray(0, MAGIC.length)) === MAGIC;
}

/** An encapsulated IPC message: continuation marker, padded metadata length, metadata. */
function frameMessage(metadata: Uint8Array): Uint8Array {
  const padded = (metadata.length + 7) & ~7;
  const out = new Uint8Array(8 + padded);
  const view = new DataView(out.buffer);
  view.setUint32(0, CONTINUATION, true);
  view.setInt32(4, padded, true);
  out.set(metadata, 8);
  return out;
}
