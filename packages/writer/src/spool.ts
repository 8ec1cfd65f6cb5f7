/**
 * A shard's rows kept on local disk so a retry can replay them (the reference's file spool for
 * `shard_retry`): length-prefixed Arrow IPC frames appended as batches arrive.
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { ipcToBatches } from "./ipc.ts";

export class Spool {
  #fd: number | undefined;
  #frames = 0;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.#fd = openSync(path, "w");
  }

  get frames(): number {
    return this.#frames;
  }

  append(ipc: Uint8Array): void {
    if (this.#fd === undefined) throw new Error(`spool ${this.path} is closed`);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, ipc.length, true);
    writeAll(this.#fd, header);
    writeAll(this.#fd, ipc);
    this.#frames++;
  }

  /** Stops appending (idempotent). */
  seal(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** The spooled batches, one frame in memory at a time. */
  *batches(): Generator<RecordBatch> {
    this.seal();
    const fd = openSync(this.path, "r");
    try {
      let pos = 0;
      const header = new Uint8Array(4);
      for (;;) {
        if (readSync(fd, header, 0, 4, pos) < 4) return;
        const len = new DataView(header.buffer).getUint32(0, true);
        const frame = new Uint8Array(len);
        let done = 0;
        while (done < len) {
          const n = readSync(fd, frame, done, len - done, pos + 4 + done);
          if (n === 0) throw new Error(`spool ${this.path} is truncated at byte ${pos + 4 + done}`);
          done += n;
        }
        pos += 4 + len;
        yield* ipcToBatches(frame, `spool frame at byte ${pos - len - 4} of ${this.path}`);
      }
    } finally {
      closeSync(fd);
    }
  }

  remove(): void {
    this.seal();
    rmSync(this.path, { force: true });
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
