/**
 * Builds the sidecar content of a finished shard.db: the pages dbstat would list as `internal`
 * plus every `sqlite_schema` page, and all overflow chains (reference-format §6.1).
 */
import { SidecarUnavailableError } from "@shardy/errors";
import { openFilePageSource } from "../format/file-source.ts";
import { type WalkOptions, walkBtrees } from "../format/walk.ts";
import type { SidecarContent } from "./format.ts";

export function buildSidecarContent(dbPath: string, options: WalkOptions = {}): SidecarContent {
  const src = openFilePageSource(dbPath);
  try {
    if (src.header.reservedBytes !== 0) {
      throw new SidecarUnavailableError(
        `${dbPath} reserves ${src.header.reservedBytes} bytes per page; the sidecar needs 0 reserved bytes`,
      );
    }
    const layout = walkBtrees(src, options);
    const selected = [...new Set([...layout.interiorPages, ...layout.schemaPages])].sort((a, b) => a - b);
    const pages = new Map<number, Uint8Array>();
    for (const pgno of selected) pages.set(pgno, src.read(pgno));
    return { pageSize: src.pageSize, pages, chains: layout.overflowChains };
  } finally {
    src.close();
  }
}
