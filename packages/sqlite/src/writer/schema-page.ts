/**
 * Page 1 of a shard.db written without SQLite: the 100-byte database header and the
 * `sqlite_schema` table b-tree holding the one `kv` row, as SQLite itself writes them after
 * `CREATE TABLE kv (...) WITHOUT ROWID` (a WITHOUT ROWID primary key has no separate autoindex
 * row: the table is its own index). https://sqlite.org/fileformat.html#the_database_header
 */
import { PAGE_LEAF_TABLE } from "../format/btree.ts";
import { SQLITE_MAGIC } from "../format/header.ts";
import { putVarint, varintLength } from "./varint.ts";

/** The `sql` column SQLite stores for the reference's `CREATE TABLE IF NOT EXISTS kv ...`. */
export const KV_TABLE_SQL = "CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID";
/**
 * SQLITE_VERSION_NUMBER recorded as the last writer (header offset 96). The file format has
 * been stable across 3.x; readers only report this number.
 */
export const WRITER_VERSION_NUMBER = 3_046_000;
const SCHEMA_FORMAT = 4;
const TEXT_ENCODING_UTF8 = 1;
/** One transaction wrote the file: change counter, schema cookie and version-valid-for all 1. */
const CHANGE_COUNTER = 1;

/** Page 1 of a database of `pageCount` pages whose `kv` b-tree is rooted at `kvRoot`. */
export function buildSchemaPage(pageSize: number, pageCount: number, kvRoot: number): Uint8Array {
  const page = new Uint8Array(pageSize);
  const view = new DataView(page.buffer);
  for (let i = 0; i < 16; i++) page[i] = SQLITE_MAGIC.charCodeAt(i);
  view.setUint16(16, pageSize === 65536 ? 1 : pageSize);
  page[18] = 1; // file format write version: legacy (rollback journal)
  page[19] = 1; // read version
  page[20] = 0; // reserved bytes per page
  page[21] = 64; // max embedded payload fraction
  page[22] = 32; // min embedded payload fraction
  page[23] = 32; // leaf payload fraction
  view.setUint32(24, CHANGE_COUNTER);
  view.setUint32(28, pageCount);
  view.setUint32(40, 1); // schema cookie
  view.setUint32(44, SCHEMA_FORMAT);
  view.setUint32(56, TEXT_ENCODING_UTF8);
  view.setUint32(92, CHANGE_COUNTER); // version-valid-for: the page count at 28 is current
  view.setUint32(96, WRITER_VERSION_NUMBER);

  // sqlite_schema row 1: ('table', 'kv', 'kv', kvRoot, sql).
  const enc = new TextEncoder();
  const texts = [enc.encode("table"), enc.encode("kv"), enc.encode("kv")];
  const sql = enc.encode(KV_TABLE_SQL);
  const rootType = kvRoot <= 0x7f ? 1 : kvRoot <= 0x7fff ? 2 : kvRoot <= 0x7fffff ? 3 : 4;
  const rootBytes = rootType; // serial types 1..4 are 1..4 bytes wide
  const types = [...texts.map((t) => 2 * t.length + 13), rootType, 2 * sql.length + 13];
  let headerSize = 1 + types.reduce((s, t) => s + varintLength(t), 0);
  if (headerSize > 0x7f) headerSize++; // a header this long needs a two-byte size varint
  const payload = headerSize + texts.reduce((s, t) => s + t.length, 0) + rootBytes + sql.length;
  const cellSize = varintLength(payload) + 1 /* rowid 1 */ + payload;
  let at = pageSize - cellSize;
  const cellStart = at;
  at = putVarint(page, at, payload);
  at = putVarint(page, at, 1);
  at = putVarint(page, at, headerSize);
  for (const t of types) at = putVarint(page, at, t);
  for (const t of texts) {
    page.set(t, at);
    at += t.length;
  }
  for (let i = rootBytes - 1; i >= 0; i--) page[at + rootBytes - 1 - i] = (kvRoot >>> (8 * i)) & 0xff;
  at += rootBytes;
  page.set(sql, at);

  // The b-tree page header follows the database header.
  page[100] = PAGE_LEAF_TABLE;
  view.setUint16(103, 1); // one cell
  view.setUint16(105, cellStart);
  view.setUint16(108, cellStart); // the cell pointer array
  return page;
}
