/** A `PageSource` over a local SQLite file, read page by page with positioned reads. */
import { localFs } from "../util/local-fs.ts";
import { type DbHeader, parseDbHeader } from "./header.ts";
import type { PageSource } from "./walk.ts";

export interface FilePageSource extends PageSource {
  readonly header: DbHeader;
  readonly fileSize: number;
  close(): void;
}

export function openFilePageSource(path: string): FilePageSource {
  const fs = localFs();
  const fd = fs.openSync(path, "r");
  try {
    const fileSize = fs.fstatSync(fd).size;
    const head = new Uint8Array(100);
    fs.readSync(fd, head, 0, 100, 0);
    const header = parseDbHeader(head, path);
    const pageSize = header.pageSize;
    const pageCount = Math.floor(fileSize / pageSize);
    return {
      header,
      fileSize,
      pageSize,
      usableSize: pageSize - header.reservedBytes,
      pageCount,
      read(pgno: number): Uint8Array {
        const page = new Uint8Array(pageSize);
        const n = fs.readSync(fd, page, 0, pageSize, (pgno - 1) * pageSize);
        if (n !== pageSize)
          throw new Error(`${path}: short read of page ${pgno} (${n} of ${pageSize} bytes)`);
        return page;
      },
      close: () => fs.closeSync(fd),
    };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}
