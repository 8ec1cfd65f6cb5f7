/**
 * The few file operations the local writer needs, behind an interface so runtimes without
 * `node:fs` can supply their own. `nodeLocalFs` works in Bun, Deno and Node.
 */

export interface LocalFile {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface LocalFs {
  mkdirp(path: string): Promise<void>;
  /** Creates (or truncates) a file for sequential writes. With `exclusive`, fails if it exists. */
  create(path: string, options?: { exclusive?: boolean }): Promise<LocalFile>;
  /** The file's bytes as a stream of chunks. */
  read(path: string): AsyncIterable<Uint8Array>;
  readAll(path: string): Promise<Uint8Array>;
  size(path: string): Promise<number>;
  /** Removes a file or directory tree; no error when it does not exist. */
  remove(path: string): Promise<void>;
}

export const nodeLocalFs: LocalFs = {
  async mkdirp(path) {
    const fs = await import("node:fs/promises");
    await fs.mkdir(path, { recursive: true });
  },
  async create(path, options = {}) {
    const fs = await import("node:fs/promises");
    const handle = await fs.open(path, options.exclusive ? "wx" : "w");
    return {
      async write(chunk) {
        let at = 0;
        while (at < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, at, chunk.length - at);
          at += bytesWritten;
        }
      },
      close: () => handle.close(),
    };
  },
  async *read(path) {
    const fs = await import("node:fs/promises");
    const handle = await fs.open(path, "r");
    try {
      for (;;) {
        const buf = new Uint8Array(1 << 20);
        const { bytesRead } = await handle.read(buf, 0, buf.length, null);
        if (bytesRead === 0) return;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  },
  async readAll(path) {
    const fs = await import("node:fs/promises");
    return new Uint8Array(await fs.readFile(path));
  },
  async size(path) {
    const fs = await import("node:fs/promises");
    return (await fs.stat(path)).size;
  },
  async remove(path) {
    const fs = await import("node:fs/promises");
    await fs.rm(path, { recursive: true, force: true });
  },
};
