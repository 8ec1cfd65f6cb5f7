/**
 * Compiled CEL programs in the kernel: compile once (errors become a ConfigValidationError with
 * a caret under the offending spot), then evaluate per row over Arrow columns or over one set
 * of JS values. Runtime errors name the row and the column values.
 */
import { ConfigValidationError, ShardAssignmentError, ShardyError } from "@shardy/errors";
import { Vector } from "apache-arrow";
import { ErrorCode, type KernelExports } from "../abi.ts";
import { describeJs, type KeyColumn } from "../columns.ts";
import type { Block, KernelHeap } from "../heap.ts";
import type { Kernel } from "../kernel.ts";
import {
  CEL_COLUMN_TYPES,
  type CelColumnType,
  type CelInputColumn,
  CelStager,
  celInputColumns,
  locate,
} from "./columns.ts";
import {
  ByteWriter,
  CEL_ABSENT,
  type CelValue,
  encodeValue,
  readSecondsNanos,
  renderCelValue,
  TAG_NAMES,
  ValueReader,
} from "./values.ts";

/** A JS value for a CEL column: int/uint as bigint (or a safe-integer number), double as number. */
export type CelScalar = bigint | number | string | Uint8Array | boolean;

/** What the kernel host of one `Kernel` keeps for CEL calls. */
interface CelHost {
  readonly ex: KernelExports;
  readonly heap: KernelHeap;
  readonly input: Block;
  readonly tags: Block;
  readonly vals: Block;
  readonly offsets: Block;
  readonly out: Block;
  readonly stager: CelStager;
}

const hosts = new WeakMap<Kernel, CelHost>();

function hostOf(kernel: Kernel): CelHost {
  let h = hosts.get(kernel);
  if (!h) {
    const { ex, heap } = kernel.internals;
    h = {
      ex,
      heap,
      input: heap.block(),
      tags: heap.block(),
      vals: heap.block(),
      offsets: heap.block(),
      out: heap.block(),
      stager: new CelStager(heap),
    };
    hosts.set(kernel, h);
  }
  return h;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function text(h: CelHost): Uint8Array {
  const ptr = h.ex.kernel_cel_text_ptr();
  const len = h.ex.kernel_cel_text_len();
  return h.heap.u8.slice(ptr, ptr + len);
}

function copyIn(h: CelHost, bytes: Uint8Array, block: Block = h.input): number {
  const ptr = h.heap.ensure(block, Math.max(bytes.length, 1));
  h.heap.u8.set(bytes, ptr);
  return ptr;
}

/** Compile-time error kinds (ABI.md). */
const COMPILE_KINDS: Record<number, string> = {
  1: "syntax error",
  2: "undeclared reference",
  3: "type error",
  4: "invalid regular expression",
  5: "bad declaration",
};

/** The line of `expr` holding byte offset `pos`, and a caret under it. */
export function caretLine(expr: string, bytePos: number): string {
  const bytes = encoder.encode(expr);
  const at = decoder.decode(bytes.subarray(0, Math.min(bytePos, bytes.length))).length;
  const lineStart = expr.lastIndexOf("\n", at - 1) + 1;
  const nl = expr.indexOf("\n", at);
  const line = expr.slice(lineStart, nl < 0 ? expr.length : nl);
  const col = at - lineStart;
  const lineNo = expr.slice(0, lineStart).split("\n").length;
  const where = expr.includes("\n") ? ` (line ${lineNo}, column ${col + 1})` : ` (column ${col + 1})`;
  return `${where}\n  ${line}\n  ${" ".repeat(col)}^`;
}

export interface CelCompileOptions {
  /** Namespace for name resolution (conformance `container`). */
  readonly container?: string;
  /** Skip type checking: unknown names and type errors surface when evaluated. */
  readonly unchecked?: boolean;
  /**
   * Protobuf message and enum types the expression may use (`@message`/`@field`/`@enum`/`@value`
   * lines, ABI.md "Message types").
   */
  readonly types?: string;
}

const registry =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry<{ ex: KernelExports; handle: number }>(({ ex, handle }) =>
        ex.kernel_cel_free(handle),
      )
    : undefined;

/**
 * Compiles `expr` with variables of any CEL type (`int`, `list(string)`, `map(string, int)`,
 * `dyn`, ...). `compileCel` is the routing entry point; this one serves conformance and tools.
 */
export function compileCelEnv(
  kernel: Kernel,
  expr: string,
  declarations: Record<string, string>,
  options: CelCompileOptions = {},
): CelProgram {
  if (typeof expr !== "string") {
    throw new ConfigValidationError(`CEL expression must be a string, got ${describeJs(expr)}`, {
      field: "cel_expr",
    });
  }
  const h = hostOf(kernel);
  const names = Object.keys(declarations);
  let decl = names.map((n) => `${n} ${declarations[n]}`).join("\n");
  if (options.container) decl += `\n@container ${options.container}`;
  if (options.types) decl += `\n${options.types}`;
  const src = encoder.encode(expr);
  const declBytes = encoder.encode(decl);
  // Two inputs at once: the expression goes to the output block, the declarations to input.
  const srcPtr = copyIn(h, src, h.out);
  const declPtr = copyIn(h, declBytes, h.input);
  const handle = h.ex.kernel_cel_compile(
    srcPtr,
    src.length,
    declPtr,
    declBytes.length,
    options.unchecked ? 1 : 0,
  );
  if (handle === 0) {
    const kind = h.ex.kernel_cel_error_kind();
    const pos = h.ex.kernel_cel_error_pos();
    const msg = decoder.decode(text(h));
    if (kind === 5) {
      throw new ConfigValidationError(
        `CEL declaration '${decl.split("\n")[pos - 1] ?? ""}' is invalid: ${msg}; use identifiers and CEL types`,
        { field: "cel_columns" },
      );
    }
    throw new ConfigValidationError(
      `CEL expression ${JSON.stringify(expr)} does not compile: ${COMPILE_KINDS[kind] ?? "error"}: ${msg}${caretLine(expr, pos)}`,
      { field: "cel_expr" },
    );
  }
  h.ex.kernel_cel_type(handle);
  const resultType = decoder.decode(text(h));
  return new CelProgram(
    h,
    handle,
    expr,
    names.map((n) => [n, declarations[n] as string] as const),
    resultType,
  );
}

/** Compiles a routing expression over `cel_columns` (types int, uint, double, string, bytes, bool). */
export function compileCel(kernel: Kernel, expr: string, columns: Record<string, CelColumnType>): CelProgram {
  if (typeof columns !== "object" || columns === null || Object.keys(columns).length === 0) {
    throw new ConfigValidationError(
      `cel_columns must name at least one column, e.g. {"key": "int"}; got ${describeJs(columns)}`,
      { field: "cel_columns" },
    );
  }
  for (const [name, type] of Object.entries(columns)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ConfigValidationError(
        `cel_columns name ${JSON.stringify(name)} is not a CEL identifier (letters, digits, _; not starting with a digit); rename the column`,
        { field: `cel_columns.${name}` },
      );
    }
    if (!CEL_COLUMN_TYPES.includes(type)) {
      throw new ConfigValidationError(
        `cel_columns.${name} must be one of ${CEL_COLUMN_TYPES.join(", ")}, got ${JSON.stringify(type)}`,
        { field: `cel_columns.${name}` },
      );
    }
  }
  return compileCelEnv(kernel, expr, columns);
}

/** Per-row results of `evalBatch`. */
export interface CelBatchResult {
  readonly length: number;
  /** Result type per row (`CelTag`: 0 null, 1 bool, 2 int, 3 uint, 4 double, 5 string, 6 bytes, 7 list, 8 map, 9 type, 10 timestamp, 11 duration, 12 message). */
  readonly tags: Uint8Array;
  /** int and bool values; uint, double as their 64 bits (see `get`); string/bytes/timestamp/duration data lengths. */
  readonly values: BigInt64Array;
  /** Arrow binary offsets (`length + 1`) into `data` for string, bytes, timestamp and duration rows (the last two: i64 seconds, i32 nanoseconds). */
  readonly offsets: Int32Array;
  readonly data: Uint8Array;
  /** The value of row `i` (lists, maps and types are reported by type only). */
  get(i: number): CelValue;
}

function batchValue(r: Omit<CelBatchResult, "get">, i: number): CelValue {
  const tag = r.tags[i] as number;
  const raw = r.values[i] as bigint;
  switch (tag) {
    case 0:
      return { type: "null" };
    case 1:
      return { type: "bool", value: raw !== 0n };
    case 2:
      return { type: "int", value: raw };
    case 3:
      return { type: "uint", value: BigInt.asUintN(64, raw) };
    case 4: {
      const dv = new DataView(new ArrayBuffer(8));
      dv.setBigInt64(0, raw, true);
      return { type: "double", value: dv.getFloat64(0, true) };
    }
    case 5:
    case 6: {
      const bytes = r.data.slice(r.offsets[i] as number, r.offsets[i + 1] as number);
      return tag === 5 ? { type: "string", value: decoder.decode(bytes) } : { type: "bytes", value: bytes };
    }
    case 10:
    case 11: {
      const at = r.offsets[i] as number;
      const value = readSecondsNanos(new DataView(r.data.buffer, r.data.byteOffset + at, 12), 0);
      return { type: tag === 10 ? "timestamp" : "duration", value };
    }
    default:
      throw new ConfigValidationError(
        `row ${i} evaluated to a ${TAG_NAMES[tag] ?? "value"}; evaluate it with evalRow to get the whole value`,
      );
  }
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** A JS value for a declared column as the CEL value it stands for. */
export function celScalar(name: string, type: string, v: CelScalar): CelValue {
  const bad = (want: string) =>
    new ConfigValidationError(
      `CEL column '${name}' is declared ${type}, so its value must be ${want}; got ${describeJs(v)} ${typeof v === "object" ? "" : String(v)}`.trim(),
    );
  switch (type) {
    case "int":
    case "uint": {
      let n: bigint;
      if (typeof v === "bigint") n = v;
      else if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
      else throw bad("a bigint (or a safe-integer number)");
      const [lo, hi] = type === "int" ? [I64_MIN, I64_MAX] : [0n, U64_MAX];
      if (n < lo || n > hi) throw bad(`within [${lo}, ${hi}]`);
      return { type, value: n };
    }
    case "double":
      if (typeof v !== "number") throw bad("a number");
      return { type: "double", value: v };
    case "string":
      if (typeof v !== "string") throw bad("a string");
      return { type: "string", value: v };
    case "bytes":
      if (!(v instanceof Uint8Array)) throw bad("a Uint8Array");
      return { type: "bytes", value: v };
    case "bool":
      if (typeof v !== "boolean") throw bad("a boolean");
      return { type: "bool", value: v };
    default:
      throw new ConfigValidationError(
        `CEL variable '${name}' has type ${type}; pass CelValue objects to evalValues for it`,
      );
  }
}

/** A compiled expression. Not thread-safe (it lives in one kernel instance); dispose when done. */
export class CelProgram {
  private live = true;

  constructor(
    private readonly h: CelHost,
    private readonly handle: number,
    /** The source expression. */
    readonly expr: string,
    /** Declared variables, in order. */
    readonly declarations: readonly (readonly [string, string])[],
    /** Static result type: `int`, `uint`, `string`, `list(int)`, ..., or `dyn`. */
    readonly resultType: string,
  ) {
    registry?.register(this, { ex: h.ex, handle }, this);
  }

  /** Frees the program in the kernel. */
  dispose(): void {
    if (!this.live) return;
    this.live = false;
    registry?.unregister(this);
    this.h.ex.kernel_cel_free(this.handle);
  }

  private check(): void {
    if (!this.live)
      throw new ShardyError(`CEL program ${JSON.stringify(this.expr)} was disposed; compile it again`);
  }

  private columnDecls(): (readonly [string, CelColumnType])[] {
    return this.declarations.map(([n, t]) => {
      if (!CEL_COLUMN_TYPES.includes(t as CelColumnType)) {
        throw new ConfigValidationError(
          `CEL variable '${n}' has type ${t}, which no Arrow column carries; use evalValues`,
        );
      }
      return [n, t as CelColumnType] as const;
    });
  }

  /**
   * Categorical routing tokens for `routeBatch`/`routeRow` (a token's index is its shard id;
   * unknown tokens give -1). `null` returns to direct mode (the integer result is the id).
   */
  setRoutingValues(tokens: readonly (bigint | string | Uint8Array)[] | null): void {
    this.check();
    const w = new ByteWriter();
    if (tokens === null) {
      w.u32(0xffff_ffff);
    } else {
      w.u32(tokens.length);
      for (const t of tokens) {
        if (typeof t === "bigint")
          encodeValue(w, t < 0n || t <= I64_MAX ? { type: "int", value: t } : { type: "uint", value: t });
        else if (typeof t === "string") encodeValue(w, { type: "string", value: t });
        else if (t instanceof Uint8Array) encodeValue(w, { type: "bytes", value: t });
        else
          throw new ConfigValidationError(
            `routing values must be bigint, string or Uint8Array, got ${describeJs(t)}`,
          );
      }
    }
    const bytes = w.finish();
    const rc = this.h.ex.kernel_cel_set_routing(this.handle, copyIn(this.h, bytes), bytes.length);
    if (rc !== 0) throw this.failure(rc, undefined);
  }

  /** Evaluates every row of the declared columns (extra entries in `columns` are ignored). */
  evalBatch(columns: Record<string, KeyColumn>): CelBatchResult {
    this.check();
    const { cols, rows } = celInputColumns(this.columnDecls(), columns);
    const tags = new Uint8Array(rows);
    const values = new BigInt64Array(rows);
    const offsets = new Int32Array(rows + 1);
    const parts: Uint8Array[] = [];
    let dataLen = 0;
    const { ex, heap } = this.h;
    for (const chunk of this.h.stager.stage(cols, rows)) {
      const n = chunk.rows;
      const tPtr = heap.ensure(this.h.tags, Math.max(n, 8));
      const vPtr = heap.ensure(this.h.vals, n * 8);
      const oPtr = heap.ensure(this.h.offsets, (n + 1) * 4);
      const rc = ex.kernel_cel_eval_batch(this.handle, chunk.descs, cols.length, n, tPtr, vPtr, oPtr);
      if (rc !== 0) throw this.failure(rc, { cols, start: chunk.start });
      const buf = heap.memoryBuffer;
      tags.set(new Uint8Array(buf, tPtr, n), chunk.start);
      values.set(new BigInt64Array(buf, vPtr, n), chunk.start);
      const o = new Int32Array(buf, oPtr, n + 1);
      for (let i = 1; i <= n; i++) offsets[chunk.start + i] = dataLen + (o[i] as number);
      const used = o[n] as number;
      if (used > 0) {
        const ptr = ex.kernel_cel_text_ptr();
        parts.push(heap.u8.slice(ptr, ptr + used));
        dataLen += used;
      }
    }
    const data = new Uint8Array(dataLen);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    const base = { length: rows, tags, values, offsets, data };
    return { ...base, get: (i: number) => batchValue(base, i) };
  }

  /**
   * Shard id of every row: the integer result (direct mode), or the index of the result in the
   * routing values (categorical mode; -1 for a token not among them). Pass `out` to reuse it.
   */
  routeBatch(columns: Record<string, KeyColumn>, out?: Int32Array): Int32Array {
    this.check();
    const { cols, rows } = celInputColumns(this.columnDecls(), columns);
    if (out !== undefined && (!(out instanceof Int32Array) || out.length < rows)) {
      throw new ConfigValidationError(`out must be an Int32Array of at least ${rows} elements`);
    }
    const result = out ?? new Int32Array(rows);
    const { ex, heap } = this.h;
    for (const chunk of this.h.stager.stage(cols, rows)) {
      const ptr = heap.ensure(this.h.out, Math.max(chunk.rows * 4, 8));
      const rc = ex.kernel_cel_route_batch(this.handle, chunk.descs, cols.length, chunk.rows, ptr);
      if (rc !== 0) throw this.failure(rc, { cols, start: chunk.start });
      result.set(new Int32Array(heap.memoryBuffer, ptr, chunk.rows), chunk.start);
    }
    return result;
  }

  /** Evaluates one row given as JS values, one per declared column. */
  evalRow(values: Record<string, CelScalar>): CelValue {
    return this.evalValues(this.rowValues(values));
  }

  /** Routes one row (see `routeBatch`): the shard id, -1 for an unknown categorical token. */
  routeRow(values: Record<string, CelScalar>): number {
    return this.call(this.rowValues(values), true).shard;
  }

  /** Evaluates with CEL values for the declared variables (missing = unbound). */
  evalValues(values: Record<string, CelValue | undefined>): CelValue {
    return this.call(values, false).value;
  }

  private rowValues(values: Record<string, CelScalar>): Record<string, CelValue> {
    if (typeof values !== "object" || values === null) {
      throw new ConfigValidationError(
        `row values must be an object of column -> value, got ${describeJs(values)}`,
      );
    }
    const out: Record<string, CelValue> = {};
    for (const [n, t] of this.declarations) {
      const v = values[n];
      if (v === undefined) {
        throw new ConfigValidationError(
          `CEL column '${n}' has no value; pass every cel_columns entry (${this.declarations.map(([d]) => d).join(", ")})`,
          { field: "routing_context" },
        );
      }
      out[n] = celScalar(n, t, v);
    }
    return out;
  }

  private call(
    values: Record<string, CelValue | undefined>,
    route: boolean,
  ): { value: CelValue; shard: number } {
    this.check();
    const w = new ByteWriter();
    for (const [n] of this.declarations) {
      const v = values[n];
      if (v === undefined) w.u8(CEL_ABSENT);
      else encodeValue(w, v);
    }
    const bytes = w.finish();
    const ptr = copyIn(this.h, bytes);
    const rc = route
      ? this.h.ex.kernel_cel_route_values(this.handle, ptr, bytes.length)
      : this.h.ex.kernel_cel_eval_values(this.handle, ptr, bytes.length);
    if (rc !== 0) throw this.failure(rc, { values });
    const r = new ValueReader(text(this.h));
    const value = r.value();
    return { value, shard: route ? r.i32() : -1 };
  }

  /** Turns a failed call into a typed error naming the row and the column values. */
  private failure(
    rc: number,
    ctx:
      | { cols: readonly CelInputColumn[]; start: number }
      | { values: Record<string, CelValue | undefined> }
      | undefined,
  ): ShardyError {
    const { ex } = this.h;
    const msg = decoder.decode(text(this.h));
    let where = "";
    if (ctx && "cols" in ctx) {
      const row = ex.kernel_error_row();
      if (row !== 0xffff_ffff) {
        const global = ctx.start + row;
        const shown = ctx.cols.map((c) => `${c.name}=${renderColumnValue(c, global)}`).join(", ");
        where = ` at row ${global} (${shown})`;
      }
    } else if (ctx && "values" in ctx) {
      const shown = this.declarations
        .map(([n]) => `${n}=${ctx.values[n] ? renderCelValue(ctx.values[n] as CelValue) : "(unbound)"}`)
        .join(", ");
      if (shown) where = ` for ${shown}`;
    }
    const expr = JSON.stringify(this.expr);
    switch (rc) {
      case ErrorCode.CEL_EVAL:
        return new ShardAssignmentError(`CEL expression ${expr} failed${where}: ${msg}`);
      case ErrorCode.CEL_RESULT_TYPE:
        return new ConfigValidationError(
          `CEL expression ${expr} cannot route${where}: ${msg}; make the expression return a shard id or a token`,
          { field: "cel_expr" },
        );
      case ErrorCode.CEL_SHARD_RANGE:
        return new ShardAssignmentError(
          `CEL expression ${expr} gave an invalid shard id${where}: ${msg}; direct routing needs ids 0..num_dbs-1`,
        );
      case ErrorCode.UNSUPPORTED_TYPE:
        return new ConfigValidationError(`CEL expression ${expr}: ${msg}`, { field: "cel_columns" });
      case ErrorCode.BAD_OFFSETS:
        return new ConfigValidationError(
          `a CEL column is malformed${where}: its offsets decrease or point outside the data buffer; rebuild the Arrow array`,
        );
      case ErrorCode.CEL_BAD_INPUT:
        return new ConfigValidationError(`CEL input rejected by the kernel: ${msg}`);
      default:
        return new ShardyError(
          `shardy kernel rejected a CEL call with code ${rc} (${msg}); this is a bug in @shardy/kernel, please report it`,
        );
    }
  }
}

function renderColumnValue(c: CelInputColumn, row: number): string {
  const at = locate(c.chunks, row);
  if (!at) return "?";
  const v = new Vector([at.data]).get(at.local) as unknown;
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v);
  if (v instanceof Uint8Array) return renderCelValue({ type: "bytes", value: v });
  return String(v);
}

export { CEL_COLUMN_TYPES, type CelColumnType };
