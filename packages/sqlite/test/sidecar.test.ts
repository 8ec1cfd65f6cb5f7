import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { SidecarUnavailableError } from "@shardy/errors";
import {
  buildSidecarContent,
  decodeSidecar,
  encodeSidecar,
  encodeSidecarBody,
  openFilePageSource,
  restorePageGap,
  stripPageGap,
  walkBtrees,
  zstdDecompress,
} from "../src/index.ts";
import { patternBytes, removeTempDirs, tempDir, u64 } from "./helpers.ts";

afterAll(removeTempDirs);

/** A b-tree leaf page (type 13) with `cells` cell pointers and content starting at `cca`. */
function leafPage(size: number, cells: number, cca: number, seed: number, base = 0): Uint8Array {
  const page = patternBytes(size, seed);
  page[base] = 13;
  page[base + 3] = cells >> 8;
  page[base + 4] = cells & 0xff;
  page[base + 5] = cca >> 8;
  page[base + 6] = cca & 0xff;
  return page;
}

describe("gap stripping", () => {
  test("stores page[:cpa_end] + page[cca:] and restores the gap as zeros", () => {
    const page = leafPage(4096, 10, 3000, 3);
    const stored = stripPageGap(page, 2);
    expect(stored.length).toBe(4096 - (3000 - (8 + 20)));
    const restored = restorePageGap(stored, 2, 4096);
    expect(restored.subarray(0, 28)).toEqual(page.subarray(0, 28));
    expect(restored.subarray(28, 3000).every((b) => b === 0)).toBe(true);
    expect(restored.subarray(3000)).toEqual(page.subarray(3000));
  });

  test("page 1 keeps its 100-byte database header; non-b-tree pages are stored whole", () => {
    const page1 = patternBytes(4096, 9);
    page1.set([5, 0, 0, 0, 2, 0x0f, 0x00], 100); // interior table page, 2 cells, cca 3840
    const stored = stripPageGap(page1, 1);
    expect(stored.length).toBe(4096 - (3840 - (100 + 12 + 4)));
    expect(restorePageGap(stored, 1, 4096).subarray(0, 116)).toEqual(page1.subarray(0, 116));
    const overflow = patternBytes(4096, 4);
    overflow[0] = 0; // an overflow page: first byte is part of the next-page pointer
    expect(stripPageGap(overflow, 9)).toBe(overflow);
  });

  test("a cell content offset of 0 means 65536", () => {
    const page = leafPage(65536, 1, 0, 5);
    expect(stripPageGap(page, 3).length).toBe(8 + 2);
  });
});

describe("sidecar v8 encoding", () => {
  const content = () => ({
    pageSize: 4096,
    pages: new Map([
      [1, leafPage(4096, 1, 4000, 1, 100)],
      [7, leafPage(4096, 3, 3500, 2)],
    ]),
    chains: new Map([
      [20, [20, 21, 22]],
      [9, [9]],
    ]),
  });

  test("prefix layout: magic, version 8, LE body size, LE page size, tag length, tag", () => {
    const bytes = encodeSidecar(content(), '"abc"');
    const body = encodeSidecarBody(content());
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("SQPC");
    expect(bytes[4]).toBe(8);
    const view = new DataView(bytes.buffer);
    expect(Number(view.getBigUint64(5, true))).toBe(body.length);
    expect(view.getUint32(13, true)).toBe(4096);
    expect(bytes[17]).toBe(5);
    expect(new TextDecoder().decode(bytes.subarray(18, 23))).toBe('"abc"');
    // zstd frame magic 0xFD2FB528 (LE) with the content-checksum flag (bit 2 of the descriptor).
    expect(Array.from(bytes.subarray(23, 27))).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    expect((bytes[27]! >> 2) & 1).toBe(1);
    expect(zstdDecompress(bytes.subarray(23))).toEqual(body);
  });

  test("body layout: pagenos, offsets, chain heads ascending, CSR chain offsets, then pages", () => {
    const body = encodeSidecarBody(content());
    const view = new DataView(body.buffer);
    const words = Array.from({ length: 12 }, (_, i) => view.getUint32(i * 4, true));
    const stored1 = 4096 - (4000 - 110); // page 1: header at 100, 8-byte leaf header, 1 pointer
    const stored7 = 4096 - (3500 - 14);
    expect(words).toEqual([2, 1, 7, 0, stored1, stored1 + stored7, 2, 9, 20, 0, 1, 4]);
    expect(Array.from({ length: 4 }, (_, i) => view.getUint32(48 + i * 4, true))).toEqual([9, 20, 21, 22]);
    expect(body.length).toBe(64 + stored1 + stored7);
  });

  test("decode inverts encode; the tag binds the sidecar to one ETag", () => {
    const decoded = decodeSidecar(encodeSidecar(content(), '"etag-1"'));
    expect(decoded.dbTag).toBe('"etag-1"');
    expect(decoded.pageSize).toBe(4096);
    expect([...decoded.chains.entries()]).toEqual([
      [9, [9]],
      [20, [20, 21, 22]],
    ]);
    const original = content().pages.get(7)!;
    const page7 = decoded.pages.get(7)!;
    expect(page7.subarray(0, 14)).toEqual(original.subarray(0, 14));
    expect(page7.subarray(3500)).toEqual(original.subarray(3500));
  });

  test("an ETag longer than 255 bytes is dropped (unbound sidecar)", () => {
    const bytes = encodeSidecar(content(), `"${"x".repeat(300)}"`);
    expect(bytes[17]).toBe(0);
    expect(decodeSidecar(bytes).dbTag).toBe("");
  });

  test("malformed sidecars are refused with the reason", () => {
    const good = encodeSidecar(content(), '"t"');
    const bad = (mutate: (b: Uint8Array) => Uint8Array) => () => decodeSidecar(mutate(good.slice()));
    expect(bad((b) => b.subarray(0, 10))).toThrow(/shorter than the 18-byte prefix/);
    expect(
      bad((b) => {
        b[0] = 0x58;
        return b;
      }),
    ).toThrow(/magic is not "SQPC"/);
    expect(
      bad((b) => {
        b[4] = 7;
        return b;
      }),
    ).toThrow(/format_version 7 is not 8/);
    expect(
      bad((b) => {
        new DataView(b.buffer).setUint32(13, 3000, true);
        return b;
      }),
    ).toThrow(/page_size 3000/);
    expect(bad((b) => b.subarray(0, b.length - 5))).toThrow(SidecarUnavailableError);
  });
});

describe("b-tree walk (what dbstat would report)", () => {
  test("finds interior pages, schema pages and every overflow chain of a real database", () => {
    const path = `${tempDir("walk")}/w.db`;
    const db = new Database(path, { create: true });
    db.exec("PRAGMA page_size = 4096");
    db.exec("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
    db.exec("CREATE TABLE other (a INTEGER PRIMARY KEY, b TEXT)");
    db.exec("BEGIN");
    const ins = db.prepare("INSERT INTO kv VALUES (?, ?)");
    const big = new Set<number>();
    for (let i = 0; i < 4000; i++) {
      const isBig = i % 37 === 0;
      if (isBig) big.add(i);
      ins.run(u64(i), patternBytes(isBig ? 9000 : 60, i + 1));
    }
    const ins2 = db.prepare("INSERT INTO other VALUES (?, ?)");
    for (let i = 0; i < 300; i++) ins2.run(i, "t".repeat(i % 5 === 0 ? 5000 : 10));
    ins.finalize();
    ins2.finalize();
    db.exec("COMMIT");
    db.close();

    const src = openFilePageSource(path);
    const layout = walkBtrees(src);
    src.close();
    expect(layout.schema.map((e) => e.name).sort()).toEqual(["kv", "other"]);
    expect(layout.schemaPages).toEqual([1]);
    expect(layout.interiorPages.length).toBeGreaterThan(3);
    // Index cell of ~9012 bytes on 4096-byte pages: 828 bytes stay local (SQLite's K formula),
    // 8184 spill = 2 overflow pages of 4092. Table leaf cell of ~5004 bytes: 912 local, 1 page.
    const chainLengths = [...layout.overflowChains.values()].map((c) => c.length);
    expect(chainLengths.filter((n) => n === 2).length).toBe(big.size);
    expect(chainLengths.filter((n) => n === 1).length).toBe(60);
    expect(chainLengths.length).toBe(big.size + 60);
    const heads = [...layout.overflowChains.keys()];
    expect(heads).toEqual([...heads].sort((a, b) => a - b));
    // Every page is accounted for exactly once: b-tree pages + overflow pages = file.
    const overflowPages = chainLengths.reduce((a, b) => a + b, 0);
    const total = layout.interiorPages.length + layout.leafPageCount + overflowPages;
    expect(total).toBe(Bun.file(path).size / 4096);

    const sidecar = buildSidecarContent(path);
    expect([...sidecar.pages.keys()]).toEqual(
      [...new Set([1, ...layout.interiorPages])].sort((a, b) => a - b),
    );
  });

  test("leavesCannotOverflow skips leaf reads and finds the same interior pages", () => {
    const path = `${tempDir("walk-skip")}/shard.db`;
    const db = new Database(path, { create: true });
    db.exec("PRAGMA page_size = 4096");
    db.exec("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
    db.exec("BEGIN");
    const ins = db.prepare("INSERT INTO kv VALUES (?, ?)");
    // Three levels: enough rows that interior pages have interior parents.
    for (let i = 0; i < 60_000; i++) ins.run(u64(i * 7919), patternBytes(40 + (i % 30), i + 1));
    ins.finalize();
    db.exec("COMMIT");
    db.close();

    const reads = (skip: boolean) => {
      const src = openFilePageSource(path);
      let count = 0;
      const counted = {
        ...src,
        read: (pgno: number) => {
          count++;
          return src.read(pgno);
        },
      };
      const layout = walkBtrees(counted, { leavesCannotOverflow: skip });
      src.close();
      return { layout, count };
    };
    const full = reads(false);
    const skipped = reads(true);
    expect(skipped.layout.interiorPages).toEqual(full.layout.interiorPages);
    expect(skipped.layout.leafPageCount).toBe(full.layout.leafPageCount);
    expect(skipped.layout.overflowChains.size).toBe(0);
    expect(full.layout.interiorPages.length).toBeGreaterThan(20);
    // The full walk reads every page; the skipping one reads page 1, the interior pages and the
    // leftmost root-to-leaf probe (at most a handful of pages on a tree this size).
    expect(full.count).toBe(1 + full.layout.interiorPages.length + full.layout.leafPageCount - 1);
    expect(skipped.count).toBeLessThanOrEqual(1 + full.layout.interiorPages.length + 6);
    const sidecar = buildSidecarContent(path, { leavesCannotOverflow: true });
    expect([...sidecar.pages.keys()]).toEqual([1, ...full.layout.interiorPages]);
  });
});
