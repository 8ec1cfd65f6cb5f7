/**
 * Sidecar gap stripping (reference-format §6.1): a b-tree page's unallocated middle (between the
 * cell pointer array and the cell content area) is dropped when stored and zero-filled on load.
 */
import { be16 } from "../format/btree.ts";

function gapBounds(page: Uint8Array, pgno: number): [number, number] | undefined {
  const base = pgno === 1 ? 100 : 0;
  const type = page[base];
  let headerSize: number;
  if (type === 2 || type === 5) headerSize = 12;
  else if (type === 10 || type === 13) headerSize = 8;
  else return undefined;
  const nCells = be16(page, base + 3);
  const cca = be16(page, base + 5) || 65536;
  const cpaEnd = base + headerSize + 2 * nCells;
  if (cca < cpaEnd || cca > page.length) return undefined;
  return [cpaEnd, cca];
}

/** The stored form of `page`: `page[:cpa_end] + page[cca:]`, or the whole page when not a b-tree page. */
export function stripPageGap(page: Uint8Array, pgno: number): Uint8Array {
  const bounds = gapBounds(page, pgno);
  if (!bounds) return page;
  const [cpaEnd, cca] = bounds;
  const out = new Uint8Array(page.length - (cca - cpaEnd));
  out.set(page.subarray(0, cpaEnd));
  out.set(page.subarray(cca), cpaEnd);
  return out;
}

/** Rebuilds a full page from its stored form. */
export function restorePageGap(stored: Uint8Array, pgno: number, pageSize: number): Uint8Array {
  if (stored.length === pageSize) return stored;
  const base = pgno === 1 ? 100 : 0;
  const type = stored[base];
  const headerSize = type === 2 || type === 5 ? 12 : 8;
  const nCells = be16(stored, base + 3);
  const cpaEnd = base + headerSize + 2 * nCells;
  const page = new Uint8Array(pageSize);
  page.set(stored.subarray(0, cpaEnd));
  page.set(stored.subarray(cpaEnd), pageSize - (stored.length - cpaEnd));
  return page;
}
