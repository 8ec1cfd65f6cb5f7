/**
 * The SQLite driver conformance suite (drizzle style: every driver passes the same cases).
 * Runner-neutral (node:assert), so Bun runs it for `bun`/`sqljs` and Deno for `node`.
 */
import assert from "node:assert/strict";
import type { SqliteDriver } from "../src/index.ts";

export interface DriverCase {
  name: string;
  run(driver: SqliteDriver, dir: string): void | Promise<void>;
}

const bytes = (...b: number[]) => new Uint8Array(b);

export const driverCases: DriverCase[] = [
  {
    name: "creates a file, round-trips blobs, and reopens it read-only",
    run(driver, dir) {
      const path = `${dir}/a.db`;
      const db = driver.open(path);
      db.exec("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
      const ins = db.prepare("INSERT INTO kv (k, v) VALUES (?, ?)");
      ins.run(bytes(0, 1), bytes(9, 9, 9));
      ins.run(bytes(0, 0), new Uint8Array(0));
      ins.close();
      db.close();
      const ro = driver.open(path, { readonly: true });
      const get = ro.prepare("SELECT v FROM kv WHERE k = ?");
      assert.deepEqual(new Uint8Array(get.get(bytes(0, 1))!.v as Uint8Array), bytes(9, 9, 9));
      assert.equal((get.get(bytes(0, 0))!.v as Uint8Array).length, 0);
      assert.equal(get.get(bytes(7)), undefined);
      get.close();
      ro.close();
    },
  },
  {
    name: "orders blob keys by bytes (memcmp, then length)",
    run(driver, dir) {
      const db = driver.open(`${dir}/order.db`);
      db.exec("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
      const ins = db.prepare("INSERT INTO kv (k, v) VALUES (?, ?)");
      for (const k of [bytes(0xff), bytes(0x00, 0x01), bytes(0x00), bytes(0x80, 0x00)]) ins.run(k, k);
      ins.close();
      const rows = db.prepare("SELECT k FROM kv ORDER BY k").all();
      assert.deepEqual(
        rows.map((r) => Array.from(r.k as Uint8Array)),
        [[0x00], [0x00, 0x01], [0x80, 0x00], [0xff]],
      );
      db.close();
    },
  },
  {
    name: "INSERT OR REPLACE keeps the last value",
    run(driver, dir) {
      const db = driver.open(`${dir}/replace.db`);
      db.exec("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
      const ins = db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
      ins.run(bytes(1), bytes(1));
      ins.run(bytes(1), bytes(2));
      ins.close();
      const row = db.prepare("SELECT count(*) AS n, max(v) AS v FROM kv").get()!;
      assert.equal(Number(row.n), 1);
      assert.deepEqual(Array.from(row.v as Uint8Array), [2]);
      db.close();
    },
  },
  {
    name: "applies pragmas: page_size before the first table, a non-WAL journal mode",
    run(driver, dir) {
      const path = `${dir}/pragma.db`;
      const db = driver.open(path);
      db.exec("PRAGMA page_size = 8192");
      // OFF where allowed; engines in defensive mode (Bun) keep their mode but accept MEMORY.
      const off = String(db.prepare("PRAGMA journal_mode = OFF").get()!.journal_mode).toLowerCase();
      if (off !== "off") db.exec("PRAGMA journal_mode = MEMORY");
      db.exec("CREATE TABLE t (a)");
      assert.equal(Number(db.prepare("PRAGMA page_size").get()!.page_size), 8192);
      assert.match(
        String(db.prepare("PRAGMA journal_mode").get()!.journal_mode).toLowerCase(),
        /^(off|memory)$/,
      );
      db.close();
    },
  },
  {
    name: "reports SQL errors as exceptions that name the problem",
    run(driver, dir) {
      const db = driver.open(`${dir}/err.db`);
      assert.throws(() => db.exec("SELECT * FROM missing_table"), /missing_table/);
      db.close();
    },
  },
  {
    name: "a read-only connection refuses writes",
    run(driver, dir) {
      const path = `${dir}/ro.db`;
      const db = driver.open(path);
      db.exec("CREATE TABLE t (a)");
      db.close();
      const ro = driver.open(path, { readonly: true });
      assert.throws(() => ro.exec("INSERT INTO t VALUES (1)"), /readonly|read-only|read only/i);
      ro.close();
    },
  },
  {
    name: "an immutable connection reads a file whose path needs URI escaping, and refuses writes",
    run(driver, dir) {
      const path = `${dir}/odd name %41?x=1#frag.db`;
      const db = driver.open(path);
      db.exec("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
      db.prepare("INSERT INTO kv (k, v) VALUES (?, ?)").run(bytes(1), bytes(4, 2));
      db.close();
      const ro = driver.open(path, { immutable: true });
      const get = ro.prepare("SELECT v FROM kv WHERE k = ?");
      assert.deepEqual(Array.from(get.get(bytes(1))!.v as Uint8Array), [4, 2]);
      assert.equal(get.get(bytes(2)), undefined);
      get.close();
      assert.throws(() => ro.exec("INSERT INTO kv VALUES (x'03', x'03')"), /readonly|read-only|read only/i);
      ro.close();
      // A missing file is an error, not a new empty database.
      assert.throws(() => driver.open(`${dir}/missing?.db`, { immutable: true }));
    },
  },
  {
    name: "max_page_count turns growth into 'database or disk is full'",
    run(driver, dir) {
      const db = driver.open(`${dir}/full.db`);
      db.exec("PRAGMA page_size = 4096");
      db.exec("CREATE TABLE t (a BLOB)");
      db.exec("PRAGMA max_page_count = 4");
      const ins = db.prepare("INSERT INTO t VALUES (?)");
      assert.throws(() => {
        for (let i = 0; i < 100; i++) ins.run(new Uint8Array(4000));
      }, /full/i);
      ins.close();
      db.close();
    },
  },
];
