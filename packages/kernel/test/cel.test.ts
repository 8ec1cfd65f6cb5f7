/**
 * The TS host of the kernel's CEL: compile errors with carets, batch evaluation over every
 * column type (chunked, sliced, with nulls), per-row evaluation, routing modes (§4.2), the
 * reference's CEL smoke scenarios, the builder, and the @shardy/core config hook.
 */
import { describe, expect, test } from "bun:test";
import { setDefaultCelExprCheck, validateCelConfig } from "@shardy/core";
import { ConfigValidationError, ShardAssignmentError } from "@shardy/errors";
import {
  Binary,
  Bool,
  Float32,
  Float64,
  Int32,
  Int64,
  makeVector,
  Uint16,
  Uint64,
  Utf8,
  Vector,
  vectorFromArray,
} from "apache-arrow";
import {
  CelRouter,
  type CelValue,
  celExprCheck,
  celShardingByColumns,
  discoverDirectNumDbs,
  inferRoutingValues,
  loadKernel,
  renderCelValue,
} from "../src/index.ts";

const kernel = await loadKernel();
const ints = (xs: (number | bigint)[]) => vectorFromArray(xs.map(BigInt), new Int64());

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

describe("compile errors", () => {
  test("`key % 16u` with key int: operator position, caret and both fixes (seed-notes item 1)", () => {
    const e = thrown(() => kernel.compileCel("key % 16u", { key: "int" }));
    expect(e).toBeInstanceOf(ConfigValidationError);
    expect((e as ConfigValidationError).field).toBe("cel_expr");
    expect(e.message).toContain("found no matching overload for '_%_' applied to '(int, uint)'");
    expect(e.message).toContain("`uint(key) % 16u`");
    expect(e.message).toContain("`key % 16`");
    expect(e.message).toContain("(column 5)\n  key % 16u\n      ^");
  });

  test("caret under the right spot after multi-byte characters and on later lines", () => {
    const e = thrown(() => kernel.compileCel("region == 'é€😀' &&\n  regoin == 'x'", { region: "string" }));
    expect(e.message).toContain("undeclared reference to 'regoin'");
    expect(e.message).toContain("(line 2, column 3)\n    regoin == 'x'\n    ^");
  });

  test("syntax errors, bad regexes, bad column declarations", () => {
    expect(thrown(() => kernel.compileCel("key +", { key: "int" })).message).toContain("syntax error");
    expect(thrown(() => kernel.compileCel("s.matches('(')", { s: "string" })).message).toContain(
      "invalid regular expression",
    );
    expect(() => kernel.compileCel("key", { key: "float" as never })).toThrow("must be one of int, uint");
    expect(() => kernel.compileCel("x", { "bad-name": "int" })).toThrow("not a CEL identifier");
  });

  test("static result types", () => {
    expect(kernel.compileCel("shard_hash(key) % 16u", { key: "int" }).resultType).toBe("uint");
    expect(kernel.compileCel("region == 'eu' ? 0 : 1", { region: "string" }).resultType).toBe("int");
    expect(kernel.compileCel("dyn(key)", { key: "int" }).resultType).toBe("dyn");
  });
});

describe("evaluation", () => {
  test("every column type, mixed chunking, an Arrow slice", () => {
    const p = kernel.compileCel(
      "string(i) + '|' + string(u) + '|' + string(d) + '|' + s + '|' + string(b) + '|' + string(f)",
      { i: "int", u: "uint", d: "double", s: "string", b: "bytes", f: "bool" },
    );
    const enc = new TextEncoder();
    const boolAll = vectorFromArray([true, false, true, true, false, false, true], new Bool());
    const cols = {
      i: makeVector(new Int8Array([-1, 2, -3, 4, 5, 6])).concat(makeVector(new Int8Array([7]))),
      u: vectorFromArray([1n, 2n, 18446744073709551615n, 4n, 5n, 6n, 7n], new Uint64()),
      d: vectorFromArray([0.5, -1.25, 3, 1e300, 0.1, 2, -0], new Float64()),
      s: vectorFromArray(["a", "é", "€", "😀", "", "x", "y"], new Utf8()).slice(0, 7),
      b: vectorFromArray(
        ["p", "q", "r", "s", "t", "u", "v"].map((c) => enc.encode(c)),
        new Binary(),
      ),
      f: boolAll.slice(0, 7),
      extra: vectorFromArray([1, 2, 3], new Int32()),
    };
    const r = p.evalBatch(cols);
    const got = Array.from({ length: 7 }, (_, i) => r.get(i));
    expect(got.map((v) => (v.type === "string" ? v.value : v.type))).toEqual([
      "-1|1|0.5|a|p|true",
      "2|2|-1.25|é|q|false",
      "-3|18446744073709551615|3|€|r|true",
      "4|4|1e+300|😀|s|true",
      "5|5|0.1||t|false",
      "6|6|2|x|u|false",
      "7|7|-0|y|v|true",
    ]);
    // A slice that starts mid-byte in the boolean bitmap.
    const q = kernel.compileCel("f ? 1 : 0", { f: "bool" });
    const sliced = boolAll.slice(3, 7);
    const rq = q.evalBatch({ f: sliced });
    expect(Array.from({ length: 4 }, (_, i) => rq.get(i))).toEqual(
      [true, false, false, true].map((b) => ({ type: "int", value: b ? 1n : 0n })),
    );
    const fl = kernel
      .compileCel("d * 2.0", { d: "double" })
      .evalBatch({ d: vectorFromArray([1.5], new Float32()) });
    expect(fl.get(0)).toEqual({ type: "double", value: 3 });
  });

  test("runtime errors name the row and the column values", () => {
    const p = kernel.compileCel("100 / (key - 3)", { key: "int" });
    const e = thrown(() => p.evalBatch({ key: ints([1, 2, 3, 4]) }));
    expect(e).toBeInstanceOf(ShardAssignmentError);
    expect(e.message).toBe('CEL expression "100 / (key - 3)" failed at row 2 (key=3): division by zero');
    const o = kernel.compileCel("key * 2", { key: "int" });
    expect(() => o.evalRow({ key: 2n ** 62n })).toThrow(
      "for key=4611686018427387904: integer overflow in _*_",
    );
    const nulls = vectorFromArray([1n, null, 3n], new Int64());
    expect(() => o.evalBatch({ key: nulls })).toThrow("at row 1 (key=null): column 'key' is null");
    const big = vectorFromArray([1n, 18446744073709551615n], new Uint64());
    expect(() => o.evalBatch({ key: big })).toThrow("does not fit CEL int; declare the column uint");
  });

  test("column checks: missing, wrong Arrow type, different lengths", () => {
    const p = kernel.compileCel("a + b", { a: "int", b: "int" });
    expect(() => p.evalBatch({ a: ints([1]) })).toThrow("CEL column 'b' is missing");
    expect(() => p.evalBatch({ a: ints([1]), b: vectorFromArray(["x"], new Utf8()) })).toThrow(
      "is declared int but its Arrow type is Utf8",
    );
    expect(() => p.evalBatch({ a: ints([1]), b: ints([1, 2]) })).toThrow("different lengths");
    expect(p.evalBatch({ a: vectorFromArray([1, 2], new Uint16()), b: ints([10, 20]) }).get(1)).toEqual({
      type: "int",
      value: 22n,
    });
  });

  test("evalRow takes JS values per declared type", () => {
    const p = kernel.compileCel("s + string(i) + string(u) + string(b)", {
      s: "string",
      i: "int",
      u: "uint",
      b: "bytes",
    });
    expect(p.evalRow({ s: "x", i: -5, u: 7n, b: new TextEncoder().encode("!") })).toEqual({
      type: "string",
      value: "x-57!",
    });
    expect(() => p.evalRow({ s: "x", i: 1.5, u: 7n, b: new Uint8Array() })).toThrow("declared int");
    expect(() => p.evalRow({ s: "x", i: 1, u: -1n, b: new Uint8Array() })).toThrow("within [0,");
    expect(() => p.evalRow({ s: "x", i: 1, u: 1n })).toThrow("CEL column 'b' has no value");
  });

  test("timestamps and durations: batch rows, encoded values, rendering", () => {
    const p = kernel.compileCel("timestamp(key) + duration('-1.5s')", { key: "int" });
    const r = p.evalBatch({ key: ints([0, 1234567890]) });
    expect(r.get(0)).toEqual({ type: "timestamp", value: -1_500_000_000n });
    expect(r.get(1)).toEqual({ type: "timestamp", value: 1_234_567_888_500_000_000n });
    const env = kernel.compileCelEnv("t - timestamp(0) + d", {
      t: "google.protobuf.Timestamp",
      d: "google.protobuf.Duration",
    });
    expect(env.resultType).toBe("google.protobuf.Duration");
    const got = env.evalValues({
      t: { type: "timestamp", value: -1n },
      d: { type: "duration", value: -2_000_000_001n },
    });
    expect(got).toEqual({ type: "duration", value: -2_000_000_002n });
    expect(renderCelValue(got)).toBe('duration("-2.000000002s")');
    expect(renderCelValue({ type: "timestamp", value: -1n })).toBe(
      'timestamp("1969-12-31T23:59:59.999999999Z")',
    );
    const bad = kernel.compileCel("timestamp(key).getHours('Europe/Paris')", { key: "int" });
    expect(() => bad.evalBatch({ key: ints([1]) })).toThrow("IANA zone names need a time zone database");
  });

  test("messages of declared types: literals, bindings, results", () => {
    const types = [
      "@message shop.Order",
      "@field 1 id implicit int64",
      "@field 2 region explicit string 6575", // proto2 default "eu"
      "@field 3 lines repeated message:shop.Line",
      "@message shop.Line",
      "@field 1 sku implicit string",
      "@field 2 qty implicit uint32",
    ].join("\n");
    const p = kernel.compileCelEnv(
      "[o.region, Order{id: o.id + 1, lines: o.lines + [Line{sku: 'b', qty: 2u}]}]",
      { o: "shop.Order" },
      { container: "shop", types },
    );
    const order: CelValue = {
      type: "message",
      typeName: "shop.Order",
      value: [
        [1, { type: "int", value: 7n }],
        [3, { type: "list", value: [{ type: "message", typeName: "shop.Line", value: [] }] }],
      ],
    };
    const got = p.evalValues({ o: order });
    expect(got).toEqual({
      type: "list",
      value: [
        { type: "string", value: "eu" },
        {
          type: "message",
          typeName: "shop.Order",
          value: [
            [1, { type: "int", value: 8n }],
            [
              3,
              {
                type: "list",
                value: [
                  { type: "message", typeName: "shop.Line", value: [] },
                  {
                    type: "message",
                    typeName: "shop.Line",
                    value: [
                      [1, { type: "string", value: "b" }],
                      [2, { type: "uint", value: 2n }],
                    ],
                  },
                ],
              },
            ],
          ],
        },
      ],
    });
    if (got.type !== "list") throw new Error("want a list");
    expect(renderCelValue(got.value[1] as CelValue)).toStartWith("shop.Order{1: 8, 3: [");
    const bad = kernel.compileCelEnv("Order{id: 1}.nope", {}, { container: "shop", types, unchecked: true });
    expect(() => bad.evalValues({})).toThrow("no such field: nope");
    expect(() => kernel.compileCelEnv("Order{nope: 1}", {}, { container: "shop", types })).toThrow(
      "no such field 'nope' in message 'shop.Order'",
    );
    expect(() => kernel.compileCelEnv("1", {}, { types: "@field 1 x implicit int64" })).toThrow(
      ConfigValidationError,
    );
  });

  test("large batches span several kernel calls", () => {
    const n = 200_000;
    const keys = ints(Array.from({ length: n }, (_, i) => i));
    const ids = kernel.compileCel("shard_hash(key) % 7u", { key: "int" }).routeBatch({ key: keys });
    expect(Array.from(ids)).toEqual(Array.from(kernel.routeBatch(keys, 7)));
    const r = kernel.compileCel("string(key)", { key: "int" }).evalBatch({ key: keys });
    expect(r.get(n - 1)).toEqual({ type: "string", value: String(n - 1) });
    expect(r.offsets[n]).toBe(r.data.length);
  });
});

describe("routing (§4.2)", () => {
  const keys = ints([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

  test("smoke: key % 3, shard_hash(key) % 3u (= HASH with 3 shards), uint(key) (10 shards)", () => {
    const mod = new CelRouter(kernel, { celExpr: "key % 3", celColumns: { key: "int" } });
    expect(Array.from(mod.assignBatch({ key: keys }))).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    const hash = new CelRouter(kernel, { celExpr: "shard_hash(key) % 3u", celColumns: { key: "int" } });
    const ids = hash.assignBatch({ key: keys });
    expect(Array.from(ids)).toEqual([2, 2, 1, 1, 0, 2, 0, 2, 0, 0]);
    expect(Array.from(ids)).toEqual(Array.from(kernel.routeBatch(keys, 3)));
    expect(discoverDirectNumDbs(ids)).toBe(3);
    const ident = new CelRouter(kernel, { celExpr: "uint(key)", celColumns: { key: "int" } });
    const idIds = ident.assignBatch({ key: keys });
    expect(discoverDirectNumDbs([idIds.subarray(0, 5), idIds.subarray(5)])).toBe(10);
    expect(hash.keyOnly).toBe(true);
    expect(hash.mode).toBe("direct");
    expect(hash.routeKey(4n)).toBe(0);
    for (const r of [mod, hash, ident]) r.dispose();
  });

  test("direct mode: no modulo, consecutive ids required, negative ids rejected", () => {
    expect(() => discoverDirectNumDbs(new Int32Array([0, 2, 2]))).toThrow(ShardAssignmentError);
    expect(() => discoverDirectNumDbs(new Int32Array([0, 2, 2]))).toThrow("non-consecutive shard IDs");
    expect(discoverDirectNumDbs(new Int32Array([]))).toBe(1);
    const neg = new CelRouter(kernel, { celExpr: "key - 5", celColumns: { key: "int" } });
    expect(() => neg.assignBatch({ key: keys })).toThrow("gave an invalid shard id at row 0 (key=0)");
    const reader = new CelRouter(kernel, { celExpr: "key", celColumns: { key: "int" } }, { numDbs: 4 });
    expect(reader.routeKey(3n)).toBe(3);
    expect(() => reader.routeKey(4n)).toThrow("outside the snapshot's 4 shards");
    expect(() => new CelRouter(kernel, { celExpr: "key > 3", celColumns: { key: "int" } })).toThrow(
      "returns bool; it must return int or uint",
    );
  });

  test("categorical with routing context: `group`, routing values [a, b]", () => {
    const r = new CelRouter(kernel, {
      celExpr: "group",
      celColumns: { group: "string" },
      routingValues: ["a", "b"],
    });
    expect(r.mode).toBe("categorical");
    expect(r.numDbs).toBe(2);
    expect(r.keyOnly).toBe(false);
    const group = vectorFromArray(["a", "b", "b", "a"], new Utf8());
    expect(Array.from(r.assignBatch({ group }))).toEqual([0, 1, 1, 0]);
    expect(r.routeContext({ group: "b" })).toBe(1);
    expect(r.routeContext({ group: "zzz" })).toBeNull();
    expect(() => r.routeKey("a")).toThrow("cannot route a key alone; pass routing_context");
    const bad = vectorFromArray(["a", "c"], new Utf8());
    expect(() => r.assignBatch({ group: bad })).toThrow(
      'CEL routing token "c" at row 1 is not among the 2 routing_values',
    );
    expect(Array.from(r.routeBatch({ group: bad }))).toEqual([0, -1]);
    r.dispose();
  });

  test("categorical int tokens match uint results; bad routing values are rejected", () => {
    const r = new CelRouter(kernel, {
      celExpr: "key % 2 == 0 ? 10u : 20u",
      celColumns: { key: "int" },
      routingValues: [20n, 10n],
    });
    expect(Array.from(r.assignBatch({ key: ints([0, 1]) }))).toEqual([1, 0]);
    expect(
      () => new CelRouter(kernel, { celExpr: "key", celColumns: { key: "int" }, routingValues: [1n, "a"] }),
    ).toThrow("share one type");
    expect(
      () => new CelRouter(kernel, { celExpr: "key", celColumns: { key: "int" }, routingValues: [1n, 1n] }),
    ).toThrow("unique");
  });

  test("inferred categorical: distinct tokens in Python order (code points, not UTF-16)", () => {
    const r = new CelRouter(kernel, { celExpr: "region", celColumns: { region: "string" } });
    const batch1 = { region: vectorFromArray(["😀", "b", "\uffff"], new Utf8()) };
    const batch2 = { region: vectorFromArray(["a", "b", "😀"], new Utf8()) };
    // JS sort would put "😀" (UTF-16 D83D) before "\uffff"; Python puts U+FFFF first.
    expect(r.inferRoutingValues([batch1, batch2])).toEqual(["a", "b", "\uffff", "😀"]);
    expect(inferRoutingValues([3n, -1n, 10n, 3n])).toEqual([-1n, 3n, 10n]);
    expect(inferRoutingValues([new Uint8Array([2]), new Uint8Array([1, 5]), new Uint8Array([1])])).toEqual([
      new Uint8Array([1]),
      new Uint8Array([1, 5]),
      new Uint8Array([2]),
    ]);
    expect(() => inferRoutingValues([1n, "a"])).toThrow("mix types");
    const d = new CelRouter(kernel, { celExpr: "dyn(x > 1)", celColumns: { x: "int" } });
    expect(() => d.inferRoutingValues([{ x: ints([1]) }])).toThrow("returned bool false at row 0");
  });

  test("cel_sharding_by_columns builder", () => {
    expect(celShardingByColumns({ name: "key", type: "int" }, { numShards: 8 })).toEqual({
      cel_expr: "shard_hash(key) % 8u",
      cel_columns: { key: "int" },
      routing_values: null,
      infer_routing_values_from_data: false,
    });
    expect(celShardingByColumns({ name: "price", type: "double" }, { numShards: 4 }).cel_expr).toBe(
      "shard_hash(string(price)) % 4u",
    );
    const multi = celShardingByColumns(
      { name: "region", type: "string" },
      { name: "tier", type: "int" },
      { numShards: 8 },
    );
    expect(multi.cel_expr).toBe('shard_hash(region + ":" + string(tier)) % 8u');
    const inferred = celShardingByColumns(
      { name: "region", type: "string" },
      { name: "tier", type: "int" },
      { separator: "/" },
    );
    expect(inferred).toEqual({
      cel_expr: 'region + "/" + string(tier)',
      cel_columns: { region: "string", tier: "int" },
      routing_values: null,
      infer_routing_values_from_data: true,
    });
    // What the builder makes compiles and routes.
    const r = new CelRouter(kernel, { celExpr: multi.cel_expr, celColumns: multi.cel_columns });
    const ids = r.assignBatch({ region: vectorFromArray(["eu"], new Utf8()), tier: ints([1]) });
    expect(ids[0]).toBe(Number(kernel.xxh3("eu:1") % 8n));
    expect(() => celShardingByColumns({ numShards: 2 })).toThrow("at least one column");
    expect(() => celShardingByColumns({ name: "a", type: "int" }, { numShards: 0 })).toThrow(
      "positive integer",
    );
  });
});

describe("@shardy/core config validation hook", () => {
  const base = { s3_prefix: "s3://bucket/prefix" };

  test("validateCelConfig rejects expressions that do not compile or cannot route", () => {
    const check = celExprCheck(kernel);
    const e = thrown(() =>
      validateCelConfig(
        { ...base, cel_expr: "key % 16u", cel_columns: { key: "int" } },
        { checkCelExpr: check },
      ),
    );
    expect(e).toBeInstanceOf(ConfigValidationError);
    expect(e.message).toContain("`uint(key) % 16u`");
    expect(() =>
      validateCelConfig(
        { ...base, cel_expr: "key > 1", cel_columns: { key: "int" } },
        { checkCelExpr: check },
      ),
    ).toThrow("returns bool");
    const ok = validateCelConfig(
      { ...base, cel_expr: "shard_hash(key) % 16u", cel_columns: { key: "int" } },
      { checkCelExpr: check },
    );
    expect(ok.sharding.cel_expr).toBe("shard_hash(key) % 16u");
  });

  test("setDefaultCelExprCheck makes the check apply without options", () => {
    const cfg = { ...base, cel_expr: "key % 16u", cel_columns: { key: "int" } };
    expect(validateCelConfig(cfg).sharding.cel_expr).toBe("key % 16u");
    setDefaultCelExprCheck(celExprCheck(kernel));
    try {
      expect(() => validateCelConfig(cfg)).toThrow("found no matching overload for '_%_'");
    } finally {
      setDefaultCelExprCheck(undefined);
    }
  });
});

test("a disposed program refuses to run", () => {
  const p = kernel.compileCel("key", { key: "int" });
  p.dispose();
  expect(() => p.evalRow({ key: 1n })).toThrow("was disposed");
  expect(Vector.isVector(ints([1]))).toBe(true);
});
