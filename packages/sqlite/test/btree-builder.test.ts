/**
 * The direct b-tree writer against real SQLite: every file it writes must pass
 * `PRAGMA integrity_check`, hold exactly the rows it was given, read back through SQLite (Bun's
 * and Python's), the sidecar builder and the range reader, and carry the page 1 SQLite writes.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compareBytes } from "../src/format/btree.ts";
import { inlinePayloadThreshold } from "../src/page-size.ts";
import { localFs } from "../src/util/local-fs.ts";
import { KvBtreeBuilder } from "../src/writer/btree-builder.ts";
import { buildSchemaPage } from "../src/writer/schema-page.ts";
import { patternBytes, removeTempDirs, tempDir, u64, valueFor } from "./helpers.ts";

afterAll(removeTempDirs);

type Row = [Uint8Array, Uint8Array];

function build(dir: string, name: string, pageSize: number, rows: Row[]): string {
  const path = join(dir, name);
  const b = new KvBtreeBuilder(localFs(), path, pageSize);
  for (const [k, v] of rows) b.add(k, v);
  const { pageCount, rows: n } = b.finish();
  expect(n).toBe(rows.length);
  expect(readFileSync(path).length).toBe(pageCount * pageSize);
  return path;
}

/** Opens with SQLite and checks structure, every row (one scan) and point lookups. */
function verify(path: string, rows: Row[]): void {
  const db = new Database(path, { readonly: true });
  try {
    expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
    expect(db.query("SELECT count(*) AS n FROM kv").get()).toEqual({ n: rows.length });
    const scanned = db.query("SELECT k, v FROM kv ORDER BY k").all() as { k: Uint8Array; v: Uint8Array }[];
    let mismatches = 0;
    scanned.forEach((r, i) => {
      const [k, v] = rows[i]!;
      if (compareBytes(r.k, k) !== 0 || compareBytes(r.v, v) !== 0) mismatches++;
    });
    expect(mismatches).toBe(0);
    const get = db.query("SELECT v FROM kv WHERE k = ?");
    const step = Math.max(1, Math.floor(rows.length / 2000));
    for (let i = 0; i < rows.length; i += step) {
      const got = get.get(rows[i]![0]) as { v: Uint8Array } | null;
      if (!got || compareBytes(got.v, rows[i]![1]) !== 0) mismatches++;
    }
    expect(mismatches).toBe(0);
  } finally {
    db.close();
  }
}

/** Rows of every length class at `pageSize`, in key order. */
function mixedRows(pageSize: number, n: number): Row[] {
  const inline = inlinePayloadThreshold(pageSize);
  const sizes = [
    0,
    1,
    64,
    inline - 30,
    inline - 12,
    inline - 11,
    inline,
    inline + 1,
    3 * pageSize + 17,
    9 * pageSize,
  ];
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    // Keys of varying length (prefix order still ascending): u64 then 0..3000 extra bytes.
    const extra = i % 97 === 5 ? 3000 : i % 7;
    const key = new Uint8Array(8 + extra);
    key.set(u64(i));
    key.set(patternBytes(extra, i + 7), 8);
    rows.push([key, valueFor(i, Math.max(0, sizes[i % sizes.length]! - (i % 3)))]);
  }
  return rows;
}

describe("KvBtreeBuilder", () => {
  const dir = tempDir("btree");

  test("page 1 is the page SQLite writes for the kv schema (header counters aside)", () => {
    for (const pageSize of [4096, 65536]) {
      const ref = join(dir, `ref-${pageSize}.db`);
      const db = new Database(ref);
      db.exec(`PRAGMA page_size = ${pageSize}`);
      db.exec("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
      const schema = db.query("SELECT type, name, tbl_name, rootpage FROM sqlite_schema").all();
      db.close();
      // No separate autoindex row: the WITHOUT ROWID table is its own primary-key index.
      expect(schema).toEqual([{ type: "table", name: "kv", tbl_name: "kv", rootpage: 2 }]);
      const theirs = readFileSync(ref).subarray(0, pageSize);
      const ours = buildSchemaPage(pageSize, 2, 2);
      const masked = (p: Uint8Array) => {
        const c = Uint8Array.from(p);
        for (const at of [24, 92, 96]) c.fill(0, at, at + 4); // change counter, valid-for, version
        return c;
      };
      expect(Buffer.from(masked(ours)).equals(Buffer.from(masked(theirs)))).toBe(true);
      expect(ours.subarray(24, 28)).toEqual(ours.subarray(92, 96)); // page count trusted
    }
  });

  test("empty, one-row and single-leaf tables", () => {
    for (const n of [0, 1, 40]) {
      const rows: Row[] = Array.from({ length: n }, (_, i) => [u64(i), valueFor(i)]);
      verify(build(dir, `small-${n}.db`, 4096, rows), rows);
    }
  });

  test("many rows of every length class, at every page size", () => {
    for (const pageSize of [4096, 8192, 16384, 32768, 65536]) {
      const rows = mixedRows(pageSize, pageSize === 4096 ? 5000 : 600);
      verify(build(dir, `mixed-${pageSize}.db`, pageSize, rows), rows);
    }
  }, 60_000);

  test("deep trees: short keys and tiny values give several interior levels", () => {
    const rows: Row[] = Array.from({ length: 300_000 }, (_, i) => [u64(i), new Uint8Array(0)]);
    const path = build(dir, "deep.db", 4096, rows);
    verify(path, rows);
    const db = new Database(path, { readonly: true });
    const root = readFileSync(path).subarray(4096, 8192);
    expect(root[0]).toBe(2); // an interior index page
    db.close();
  }, 60_000);

  test("long keys fill interior pages and split them", () => {
    const rows: Row[] = Array.from({ length: 4000 }, (_, i) => {
      const key = new Uint8Array(900);
      key.set(u64(i));
      key.set(patternBytes(892, i), 8);
      return [key, valueFor(i, 10)];
    });
    verify(build(dir, "longkeys.db", 4096, rows), rows);
  });

  test("same rows as an SQL-built file of the same rows", () => {
    const rows = mixedRows(4096, 3000);
    const ours = build(dir, "cmp-ours.db", 4096, rows);
    const ref = join(dir, "cmp-sql.db");
    const db = new Database(ref);
    db.exec("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
    const ins = db.prepare("INSERT INTO kv (k, v) VALUES (?, ?)");
    db.transaction(() => {
      for (const [k, v] of rows) ins.run(k, v);
    })();
    db.close();
    const dump = (path: string) => {
      const d = new Database(path, { readonly: true });
      const all = (d.query("SELECT k, v FROM kv ORDER BY k").all() as { k: Uint8Array; v: Uint8Array }[]).map(
        (r) => `${Buffer.from(r.k).toString("hex")}=${Buffer.from(r.v).toString("hex")}`,
      );
      d.close();
      return all;
    };
    expect(dump(ours)).toEqual(dump(ref));
  });

  test("Python's sqlite3 reads it: integrity, every row, dbstat", () => {
    const rows = mixedRows(8192, 800);
    const path = build(dir, "python.db", 8192, rows);
    const expected = createHash("sha256");
    for (const [k, v] of rows) expected.update(k).update(v);
    const script = [
      "import sqlite3, sys, hashlib",
      "c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)",
      "print(c.execute('PRAGMA integrity_check').fetchone()[0])",
      "h = hashlib.sha256()",
      "n = 0",
      "for k, v in c.execute('SELECT k, v FROM kv ORDER BY k'):",
      "    h.update(k); h.update(v); n += 1",
      "print(n); print(h.hexdigest())",
      "print(dict(c.execute('SELECT pagetype, count(*) FROM dbstat GROUP BY pagetype').fetchall()))",
      "print(c.execute('SELECT sum(pgsize) FROM dbstat').fetchone()[0])",
    ].join("\n");
    const python = join(import.meta.dir, "../../../.venv/bin/python");
    const out = Bun.spawnSync([python, "-c", script, path]);
    expect(out.stderr.toString()).toBe("");
    const [check, n, digest, pageTypes, bytes] = out.stdout.toString().trim().split("\n");
    expect(check).toBe("ok");
    expect(Number(n)).toBe(rows.length);
    expect(digest).toBe(expected.digest("hex"));
    // dbstat sees the interior pages, the leaves and the overflow chains of the long values.
    for (const type of ["internal", "leaf", "overflow"]) expect(pageTypes).toContain(`'${type}'`);
    expect(Number(bytes)).toBe(readFileSync(path).length);
  });

  test("writebackBytes syncs finished pages in the background; the file is the same", async () => {
    const real = localFs();
    const synced: number[] = [];
    let pending = 0;
    const settled: (() => void)[] = [];
    // The real filesystem, recording each background sync: open, fdatasync, close.
    const fs = Object.assign(Object.create(real), {
      open(path: string, flags: string, cb: (err: Error | null, fd: number) => void) {
        pending++;
        real.open(path, flags, cb);
      },
      fdatasync(fd: number, cb: (err: Error | null) => void) {
        real.fdatasync(fd, (err) => {
          if (!err) synced.push(fd);
          cb(err);
        });
      },
      close(fd: number, cb: (err: Error | null) => void) {
        real.close(fd, (err) => {
          cb(err);
          if (--pending === 0) for (const resolve of settled.splice(0)) resolve();
        });
      },
    });
    const rows: Row[] = Array.from({ length: 60_000 }, (_, i) => [u64(i), valueFor(i, 100)]);
    const path = join(dir, "writeback.db");
    const b = new KvBtreeBuilder(fs, path, 4096, Number.POSITIVE_INFINITY, 1 << 20);
    for (const [k, v] of rows) b.add(k, v);
    b.finish();
    if (pending > 0) await new Promise<void>((resolve) => settled.push(resolve));
    expect(synced.length).toBeGreaterThan(0);
    verify(path, rows);
    expect(readFileSync(path)).toEqual(readFileSync(build(dir, "no-writeback.db", 4096, rows)));
  });

  test("rows arrive sorted: keys compare in SQLite's BINARY order", () => {
    const keys = [
      new Uint8Array(0),
      Uint8Array.of(0),
      Uint8Array.of(0, 0),
      Uint8Array.of(1),
      Uint8Array.of(255),
    ];
    for (let i = 1; i < keys.length; i++) expect(compareBytes(keys[i - 1]!, keys[i]!)).toBeLessThan(0);
    const rows: Row[] = keys.map((k, i) => [k, valueFor(i, 5)]);
    verify(build(dir, "binary-order.db", 4096, rows), rows);
  });
});
