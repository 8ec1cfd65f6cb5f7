import { open } from "node:fs/promises";
import { ConfigValidationError } from "@shardy/errors";

const CHUNK = 1 << 20;

/** The bytes of `path` in chunks of up to 1 MiB (one buffer in flight: bounded memory). */
export async function* fileChunks(path: string, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const handle = await open(path, "r");
  try {
    for (;;) {
      signal?.throwIfAborted();
      const buffer = new Uint8Array(CHUNK);
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) return;
      yield bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Decoded text of `path` in chunks, rejecting invalid UTF-8 with the byte offset (the caller adds
 * the line it had reached).
 */
export async function* fileText(
  path: string,
  signal?: AbortSignal,
): AsyncGenerator<{ text: string; bytes: number }> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let offset = 0;
  for await (const chunk of fileChunks(path, signal)) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch (cause) {
      throw new ConfigValidationError(
        `${path}: invalid UTF-8 in the bytes ${offset}..${offset + chunk.length}; the file must be UTF-8 text`,
        { field: "inputs", cause },
      );
    }
    offset += chunk.length;
    yield { text, bytes: chunk.length };
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch (cause) {
    throw new ConfigValidationError(
      `${path}: the file ends inside a UTF-8 character; it must be UTF-8 text`,
      {
        field: "inputs",
        cause,
      },
    );
  }
  if (tail) yield { text: tail, bytes: 0 };
}
