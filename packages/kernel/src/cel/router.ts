/**
 * CEL routing (reference-format §4.2): direct mode (the integer result is the shard id, no
 * modulo; writers discover `num_dbs` and require consecutive ids), categorical mode (the result
 * is a token, its index in `routing_values` is the shard id), inferred categorical tokens, and
 * key-only vs multi-column evaluation contexts; plus the `cel_sharding_by_columns` builder.
 */
import { ConfigValidationError, ShardAssignmentError } from "@shardy/errors";
import { chunksOf, describeJs, type KeyColumn, lengthOf } from "../columns.ts";
import type { Kernel } from "../kernel.ts";
import type { CelColumnType } from "./columns.ts";
import { type CelProgram, type CelScalar, compileCel } from "./program.ts";
import { CelTag, type CelValue, renderCelValue } from "./values.ts";

/** A categorical routing token: int (bigint), string or bytes. */
export type CelToken = bigint | string | Uint8Array;

export interface CelRoutingSpec {
  readonly celExpr: string;
  readonly celColumns: Readonly<Record<string, CelColumnType>>;
  /** Categorical tokens (index = shard id); `null`/absent for direct mode. */
  readonly routingValues?: readonly CelToken[] | null;
}

export interface CelRouterOptions {
  /** Shard count of the snapshot being read: direct ids at or above it are rejected. */
  readonly numDbs?: number;
}

const ROUTABLE = new Set(["int", "uint", "string", "bytes", "dyn"]);

function tokenKind(t: unknown): "int" | "str" | "bytes" | undefined {
  if (typeof t === "bigint") return "int";
  if (typeof t === "string") return "str";
  if (t instanceof Uint8Array) return "bytes";
  return undefined;
}

function showToken(t: CelToken): string {
  if (typeof t === "bigint") return String(t);
  if (typeof t === "string") return JSON.stringify(t);
  return renderCelValue({ type: "bytes", value: t });
}

/** Checks categorical tokens: each int/str/bytes, one kind, unique. */
export function checkRoutingValues(values: readonly unknown[]): readonly CelToken[] {
  const seen = new Set<string>();
  let kind: string | undefined;
  values.forEach((v, i) => {
    const k = tokenKind(v);
    if (k === undefined) {
      throw new ConfigValidationError(
        `routing_values[${i}] must be an int (bigint), string or bytes token, got ${describeJs(v)}`,
        { field: "routing_values" },
      );
    }
    if (kind !== undefined && k !== kind) {
      throw new ConfigValidationError(
        `routing_values must all share one type; [${i}] is ${k}, earlier ones are ${kind}`,
        { field: "routing_values" },
      );
    }
    kind = k;
    const id = `${k}:${v instanceof Uint8Array ? [...v].join(",") : String(v)}`;
    if (seen.has(id)) {
      throw new ConfigValidationError(
        `routing_values must be unique; ${showToken(v as CelToken)} repeats at [${i}]`,
        {
          field: "routing_values",
        },
      );
    }
    seen.add(id);
  });
  return values as readonly CelToken[];
}

/** Compares strings by Unicode code point (Python's order, not JS's UTF-16 order). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = (x.value.codePointAt(0) as number) - (y.value.codePointAt(0) as number);
    if (d !== 0) return d;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/**
 * Inferred categorical routing values: the distinct tokens sorted as Python sorts them (ints
 * numerically, strings by code point, bytes lexicographically). Mixed kinds are rejected.
 */
export function inferRoutingValues(tokens: Iterable<CelToken>): CelToken[] {
  const ints = new Set<bigint>();
  const strs = new Set<string>();
  const bytes = new Map<string, Uint8Array>();
  for (const t of tokens) {
    if (typeof t === "bigint") ints.add(t);
    else if (typeof t === "string") strs.add(t);
    else if (t instanceof Uint8Array) bytes.set([...t].join(","), t);
    else {
      throw new ConfigValidationError(
        `inferred routing tokens must be int, string or bytes, got ${describeJs(t)}; make the CEL expression return a token`,
      );
    }
  }
  const kinds = [ints.size > 0, strs.size > 0, bytes.size > 0].filter(Boolean).length;
  if (kinds > 1) {
    throw new ConfigValidationError(
      "inferred routing tokens mix types (ints, strings, bytes); make the CEL expression return one type",
    );
  }
  if (ints.size > 0) return [...ints].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (strs.size > 0) return [...strs].sort(compareCodePoints);
  return [...bytes.values()].sort(compareBytes);
}

/**
 * Direct mode: the shard count implied by the ids a writer assigned, `max + 1`, requiring every
 * id in `0..max` to occur (reference `discover_cel_num_dbs`). No rows gives 1.
 */
export function discoverDirectNumDbs(ids: Int32Array | Iterable<Int32Array>): number {
  const batches = ids instanceof Int32Array ? [ids] : ids;
  let max = -1;
  const seen = new Uint8Array(1024);
  let present = seen;
  for (const batch of batches) {
    for (const id of batch) {
      if (id < 0) {
        throw new ShardAssignmentError(
          `CEL shard id ${id} is negative; direct routing needs ids 0..num_dbs-1`,
        );
      }
      if (id >= present.length) {
        const grown = new Uint8Array(Math.max(present.length * 2, id + 1));
        grown.set(present);
        present = grown;
      }
      present[id] = 1;
      if (id > max) max = id;
    }
  }
  if (max < 0) return 1;
  const missing: number[] = [];
  for (let i = 0; i <= max && missing.length < 10; i++) if (present[i] === 0) missing.push(i);
  if (missing.length > 0) {
    throw new ShardAssignmentError(
      `CEL direct routing produced non-consecutive shard IDs: max id ${max} but no rows for ${missing.join(", ")}${missing.length === 10 ? ", ..." : ""}; ids must cover 0..${max} (use categorical routing_values for sparse tokens)`,
    );
  }
  return max + 1;
}

/** The tokens of every row of a batch result (for inference). */
function tokenOf(v: CelValue, row: number, expr: string): CelToken {
  switch (v.type) {
    case "int":
    case "uint":
      return v.value;
    case "string":
    case "bytes":
      return v.value;
    default:
      throw new ConfigValidationError(
        `CEL expression ${JSON.stringify(expr)} returned ${v.type} ${renderCelValue(v)} at row ${row}; routing tokens must be int, uint, string or bytes`,
        { field: "cel_expr" },
      );
  }
}

/** Routes rows or lookups with a CEL sharding spec. Dispose when done. */
export class CelRouter {
  readonly program: CelProgram;
  readonly mode: "direct" | "categorical";
  /** `cel_columns` is exactly `{key}`: a lookup key alone can be routed. */
  readonly keyOnly: boolean;
  readonly routingValues: readonly CelToken[] | null;
  /** Categorical: `max(1, len(routing_values))`; direct: the reader's `numDbs`, else `null` (data decides). */
  readonly numDbs: number | null;

  constructor(
    kernel: Kernel,
    readonly spec: CelRoutingSpec,
    options: CelRouterOptions = {},
  ) {
    const values = spec.routingValues ?? null;
    if (values !== null && !Array.isArray(values)) {
      throw new ConfigValidationError(`routing_values must be a list, got ${describeJs(values)}`, {
        field: "routing_values",
      });
    }
    this.routingValues = values === null ? null : checkRoutingValues(values);
    this.program = compileCel(kernel, spec.celExpr, { ...spec.celColumns });
    if (!ROUTABLE.has(this.program.resultType)) {
      this.program.dispose();
      throw new ConfigValidationError(
        `CEL routing expression ${JSON.stringify(spec.celExpr)} returns ${this.program.resultType}; it must return int or uint (a shard id) or int, uint, string or bytes (a routing token)`,
        { field: "cel_expr" },
      );
    }
    this.mode = this.routingValues === null ? "direct" : "categorical";
    if (this.routingValues !== null) this.program.setRoutingValues(this.routingValues);
    const names = Object.keys(spec.celColumns);
    this.keyOnly = names.length === 1 && names[0] === "key";
    this.numDbs =
      this.routingValues !== null ? Math.max(1, this.routingValues.length) : (options.numDbs ?? null);
  }

  dispose(): void {
    this.program.dispose();
  }

  /**
   * Writers: the shard id of every row. An unknown categorical token is a
   * ShardAssignmentError naming the row and the token.
   */
  assignBatch(columns: Record<string, KeyColumn>, out?: Int32Array): Int32Array {
    const ids = this.program.routeBatch(columns, out);
    const first = Object.keys(this.spec.celColumns)[0] as string;
    const rows = lengthOf(chunksOf(columns[first] as KeyColumn));
    if (this.mode === "categorical") {
      const row = ids.subarray(0, rows).indexOf(-1);
      if (row >= 0) {
        const token = this.program.evalBatch(columns).get(row);
        throw new ShardAssignmentError(
          `CEL routing token ${renderCelValue(token)} at row ${row} is not among the ${this.routingValues?.length} routing_values; add it to routing_values or fix the expression ${JSON.stringify(this.spec.celExpr)}`,
        );
      }
    } else {
      this.checkRange(ids.subarray(0, rows));
    }
    return ids;
  }

  /** Readers: the shard id of every row, -1 where a categorical token is unknown (a miss). */
  routeBatch(columns: Record<string, KeyColumn>, out?: Int32Array): Int32Array {
    const ids = this.program.routeBatch(columns, out);
    if (this.mode === "direct") this.checkRange(ids);
    return ids;
  }

  private checkRange(ids: Int32Array): void {
    const n = this.numDbs;
    if (n === null) return;
    for (let i = 0; i < ids.length; i++) {
      if ((ids[i] as number) >= n) {
        throw new ShardAssignmentError(
          `CEL shard id ${ids[i]} at row ${i} is outside the snapshot's ${n} shards (0..${n - 1})`,
        );
      }
    }
  }

  private one(id: number): number | null {
    if (id < 0) return null;
    if (this.mode === "direct" && this.numDbs !== null && id >= this.numDbs) {
      throw new ShardAssignmentError(`CEL shard id ${id} is outside the snapshot's ${this.numDbs} shards`);
    }
    return id;
  }

  /**
   * Readers, key-only mode: the shard of a lookup key, or `null` when its categorical token is
   * unknown (a miss). Multi-column specs need `routeContext`.
   */
  routeKey(key: CelScalar): number | null {
    if (!this.keyOnly) {
      throw new ConfigValidationError(
        `CEL sharding over columns ${Object.keys(this.spec.celColumns).join(", ")} cannot route a key alone; pass routing_context with a value for each`,
        { field: "routing_context" },
      );
    }
    return this.one(this.program.routeRow({ key }));
  }

  /** Readers, multi-column mode: the shard for a routing context, `null` for an unknown token. */
  routeContext(context: Record<string, CelScalar>): number | null {
    return this.one(this.program.routeRow(context));
  }

  /** Writers, inferred categorical: the sorted distinct tokens of every row. */
  inferRoutingValues(batches: Iterable<Record<string, KeyColumn>>): CelToken[] {
    const tokens: CelToken[] = [];
    const ints = new Set<bigint>();
    const strs = new Set<string>();
    const dec = new TextDecoder();
    for (const columns of batches) {
      const r = this.program.evalBatch(columns);
      for (let i = 0; i < r.length; i++) {
        const tag = r.tags[i];
        if (tag === CelTag.int || tag === CelTag.uint) {
          const v = tag === CelTag.int ? (r.values[i] as bigint) : BigInt.asUintN(64, r.values[i] as bigint);
          if (!ints.has(v)) {
            ints.add(v);
            tokens.push(v);
          }
        } else if (tag === CelTag.string) {
          const s = dec.decode(r.data.subarray(r.offsets[i], r.offsets[i + 1]));
          if (!strs.has(s)) {
            strs.add(s);
            tokens.push(s);
          }
        } else {
          tokens.push(tokenOf(r.get(i), i, this.spec.celExpr));
        }
      }
    }
    return inferRoutingValues(tokens);
  }
}

export interface CelColumnSpec {
  readonly name: string;
  readonly type: CelColumnType;
}

export interface CelShardingByColumnsOptions {
  /** Hash into this many shards; `null`/absent: route by the concatenated value (inferred categorical). */
  readonly numShards?: number | null;
  /** Between column values, default `":"`. */
  readonly separator?: string;
}

/** The sharding config `cel_sharding_by_columns` builds (core's `CelShardingConfig` shape). */
export interface CelShardingByColumns {
  cel_expr: string;
  cel_columns: Record<string, CelColumnType>;
  routing_values: null;
  infer_routing_values_from_data: boolean;
}

/**
 * `cel_sharding_by_columns(*cols, num_shards=None, separator=":")` (§4.2): one column hashes as
 * `shard_hash(col) % Nu` (non int/uint/string/bytes columns through `string()`); several
 * concatenate `a + ":" + string(b)` first. Without `numShards` the expression is the value
 * itself and the routing values are inferred from the data.
 */
export function celShardingByColumns(
  ...args: readonly (CelColumnSpec | CelShardingByColumnsOptions)[]
): CelShardingByColumns {
  const last = args[args.length - 1];
  const hasOptions = last !== undefined && !("name" in last);
  const options = (hasOptions ? last : {}) as CelShardingByColumnsOptions;
  const cols = (hasOptions ? args.slice(0, -1) : args) as readonly CelColumnSpec[];
  if (cols.length === 0) {
    throw new ConfigValidationError(
      'cel_sharding_by_columns needs at least one column, e.g. {name: "region", type: "string"}',
    );
  }
  const separator = options.separator ?? ":";
  if (typeof separator !== "string") {
    throw new ConfigValidationError(`separator must be a string, got ${describeJs(separator)}`);
  }
  const n = options.numShards ?? null;
  if (n !== null && (!Number.isSafeInteger(n) || n < 1)) {
    throw new ConfigValidationError(`numShards must be a positive integer, got ${n}`, {
      field: "num_shards",
    });
  }
  const columns: Record<string, CelColumnType> = {};
  for (const c of cols) {
    if (!c || typeof c.name !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.name)) {
      throw new ConfigValidationError(
        `cel_sharding_by_columns columns must be {name, type} with a CEL identifier name, got ${JSON.stringify(c)}`,
      );
    }
    if (c.name in columns) throw new ConfigValidationError(`column ${c.name} is given twice`);
    columns[c.name] = c.type;
  }
  let value: string;
  if (cols.length === 1) {
    const c = cols[0] as CelColumnSpec;
    const direct = c.type === "int" || c.type === "uint" || c.type === "string" || c.type === "bytes";
    value = direct ? c.name : `string(${c.name})`;
  } else {
    value = cols
      .map((c) => (c.type === "string" ? c.name : `string(${c.name})`))
      .join(` + ${JSON.stringify(separator)} + `);
  }
  return {
    cel_expr: n === null ? value : `shard_hash(${value}) % ${n}u`,
    cel_columns: columns,
    routing_values: null,
    infer_routing_values_from_data: n === null,
  };
}
