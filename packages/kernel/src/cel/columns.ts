/**
 * CEL input columns: which Arrow types fit each `cel_columns` type, and staging of several
 * columns over the same row range (their chunking may differ) as one descriptor array.
 */
import { ConfigValidationError } from "@shardy/errors";
import { type Data, type DataType, type Float, Precision, Type } from "apache-arrow";
import { DESCRIPTOR_SIZE, TypeCode } from "../abi.ts";
import {
  CHUNK_ROWS,
  chunksOf,
  describeJs,
  type KeyColumn,
  type KeyColumnType,
  keyColumnType,
  lengthOf,
  Stager,
} from "../columns.ts";
import type { Block, KernelHeap } from "../heap.ts";

/** The column types of `cel_columns` (reference-format §4.2). */
export type CelColumnType = "int" | "uint" | "double" | "string" | "bytes" | "bool";
export const CEL_COLUMN_TYPES: readonly CelColumnType[] = [
  "int",
  "uint",
  "double",
  "string",
  "bytes",
  "bool",
];

const ACCEPTS: Record<CelColumnType, string> = {
  int: "Int8..Int64 or Uint8..Uint64",
  uint: "Uint8..Uint64 or Int8..Int64",
  double: "Float32 or Float64",
  string: "Utf8 or LargeUtf8",
  bytes: "Binary, LargeBinary, Utf8 or LargeUtf8",
  bool: "Bool",
};

/** The kernel view of an Arrow type for a column declared `decl`, or why it does not fit. */
export function celColumnKernelType(decl: CelColumnType, type: DataType): KeyColumnType | string {
  const name = String(type);
  const kt = keyColumnType(type);
  const bad = `is declared ${decl} but its Arrow type is ${name}; CEL ${decl} columns take ${ACCEPTS[decl]} (cast the column)`;
  switch (decl) {
    case "int":
    case "uint":
      return kt && kt.width > 0 ? kt : bad;
    case "string":
      return kt?.isString ? kt : bad;
    case "bytes":
      return kt && kt.offsetWidth > 0 ? kt : bad;
    case "double": {
      if (type.typeId !== Type.Float) return bad;
      const p = (type as Float).precision;
      if (p === Precision.DOUBLE)
        return { code: TypeCode.float64, name, width: 8, offsetWidth: 0, isString: false };
      if (p === Precision.SINGLE)
        return { code: TypeCode.float32, name, width: 4, offsetWidth: 0, isString: false };
      return bad;
    }
    case "bool":
      return type.typeId === Type.Bool
        ? { code: TypeCode.bool, name, width: 0, offsetWidth: 0, isString: false, bitPacked: true }
        : bad;
  }
}

/** One declared column's data, checked against its declaration. */
export interface CelInputColumn {
  readonly name: string;
  readonly decl: CelColumnType;
  readonly chunks: readonly Data[];
  readonly types: readonly KeyColumnType[];
}

/** Resolves every declared column in `columns` (extra columns are ignored). */
export function celInputColumns(
  decls: readonly (readonly [string, CelColumnType])[],
  columns: Record<string, KeyColumn>,
): { cols: CelInputColumn[]; rows: number } {
  if (typeof columns !== "object" || columns === null) {
    throw new ConfigValidationError(
      `CEL columns must be an object of column name -> Arrow Vector, got ${describeJs(columns)}`,
    );
  }
  const cols: CelInputColumn[] = [];
  let rows = -1;
  for (const [name, decl] of decls) {
    const col = columns[name];
    if (col === undefined) {
      throw new ConfigValidationError(
        `CEL column '${name}' is missing; pass every cel_columns entry (${decls.map(([n]) => n).join(", ")}), got ${Object.keys(columns).join(", ") || "none"}`,
        { field: "cel_columns" },
      );
    }
    const chunks = chunksOf(col);
    const types = chunks.map((d) => {
      const t = celColumnKernelType(decl, d.type);
      if (typeof t === "string")
        throw new ConfigValidationError(`CEL column '${name}' ${t}`, { field: "cel_columns" });
      return t;
    });
    const n = lengthOf(chunks);
    if (rows >= 0 && n !== rows) {
      throw new ConfigValidationError(
        `CEL columns have different lengths: '${cols[0]?.name}' has ${rows} rows, '${name}' has ${n}; pass columns of one table`,
      );
    }
    rows = n;
    cols.push({ name, decl, chunks, types });
  }
  return { cols, rows: Math.max(rows, 0) };
}

/** Rows staged for one kernel call: `descs` points at one descriptor per column. */
export interface StagedRows {
  readonly descs: number;
  readonly start: number;
  readonly rows: number;
}

/** Where a global row lives: the chunk and the row inside it. */
export function locate(chunks: readonly Data[], row: number): { data: Data; local: number } | undefined {
  let base = 0;
  for (const data of chunks) {
    if (row < base + data.length) return { data, local: row - base };
    base += data.length;
  }
  return undefined;
}

/**
 * Stages aligned row ranges of several columns: each call covers rows that sit in one chunk
 * of every column, at most `CHUNK_ROWS` (fewer when a column's value bytes run over budget).
 */
export class CelStager {
  private readonly stagers: Stager[] = [];
  private readonly descs: Block;

  constructor(private readonly heap: KernelHeap) {
    this.descs = heap.block();
  }

  *stage(cols: readonly CelInputColumn[], rows: number): Generator<StagedRows> {
    while (this.stagers.length < cols.length) this.stagers.push(new Stager(this.heap));
    const cursor = cols.map(() => ({ chunk: 0, offset: 0 }));
    for (let start = 0; start < rows; ) {
      let n = Math.min(CHUNK_ROWS, rows - start);
      cols.forEach((c, i) => {
        const cur = cursor[i] as { chunk: number; offset: number };
        while ((c.chunks[cur.chunk]?.length ?? 0) - cur.offset <= 0) {
          cur.chunk++;
          cur.offset = 0;
        }
        n = Math.min(n, (c.chunks[cur.chunk] as Data).length - cur.offset);
      });
      const staged = cols.map((c, i) => {
        const cur = cursor[i] as { chunk: number; offset: number };
        return (this.stagers[i] as Stager).stage(
          c.chunks[cur.chunk] as Data,
          c.types[cur.chunk] as KeyColumnType,
          cur.offset,
          n,
        );
      });
      for (const s of staged) n = Math.min(n, s.rows);
      const descs = this.heap.ensure(this.descs, Math.max(DESCRIPTOR_SIZE * cols.length, 8));
      const u8 = this.heap.u8;
      const view = this.heap.view;
      staged.forEach((s, i) => {
        u8.copyWithin(descs + i * DESCRIPTOR_SIZE, s.desc, s.desc + DESCRIPTOR_SIZE);
        view.setUint32(descs + i * DESCRIPTOR_SIZE + 4, n, true);
      });
      yield { descs, start, rows: n };
      for (const cur of cursor) cur.offset += n;
      start += n;
    }
  }
}
