import { describe, expect, test } from "bun:test";
import { ConfigValidationError } from "@shardy/errors";
import {
  Binary,
  Bool,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  makeData,
  Null,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";
import { ValueSpec } from "../src/index.ts";

const dec = new TextDecoder();

function values(spec: ValueSpec, batch: RecordBatch): string[] {
  const out = spec.encode(batch) as { offsets: Int32Array; data: Uint8Array };
  return Array.from({ length: batch.numRows }, (_, i) =>
    dec.decode(out.data.subarray(out.offsets[i]!, out.offsets[i + 1]!)),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: columns of any Arrow type
function batchOf(columns: Record<string, Vector<any>>): RecordBatch {
  return new Table(columns).batches[0]!;
}

describe("json_cols", () => {
  test("the spec's example, byte for byte (sorted keys, compact, ensure_ascii, 1.0, 1e+16, null, lists)", () => {
    const batch = batchOf({
      name: vectorFromArray(["Zoë"], new Utf8()),
      id: vectorFromArray([1n], new Int64()),
      score: vectorFromArray([1.0], new Float64()),
      big: vectorFromArray([1e16], new Float64()),
      n: vectorFromArray([null], new Null()),
      tags: vectorFromArray([["x"]], new List(new Field("item", new Utf8(), true))),
    });
    expect(values(ValueSpec.jsonCols(), batch)).toEqual([
      '{"big":1e+16,"id":1,"n":null,"name":"Zo\\u00eb","score":1.0,"tags":["x"]}',
    ]);
    expect(ValueSpec.jsonCols().description).toBe("json_cols:all");
  });

  test("projection: listed columns only, a missing one is null, the shard-id column is dropped from all", () => {
    const batch = batchOf({
      id: vectorFromArray([7n], new Int64()),
      a: vectorFromArray(["x"], new Utf8()),
      _shard_id: vectorFromArray([2], new Int32()),
    });
    const spec = ValueSpec.jsonCols(["missing", "a"]);
    expect(spec.description).toBe("json_cols:missing,a");
    expect(values(spec, batch)).toEqual(['{"a":"x","missing":null}']);
    const all = ValueSpec.jsonCols().encode(batch, { excludeColumn: "_shard_id" }) as {
      offsets: Int32Array;
      data: Uint8Array;
    };
    expect(dec.decode(all.data)).toBe('{"a":"x","id":7}');
  });

  test("bytes columns are rejected like Python's json.dumps (TypeError there)", () => {
    const batch = batchOf({ b: vectorFromArray([new Uint8Array([1])], new Binary()) });
    expect(() => ValueSpec.jsonCols().encode(batch)).toThrow(ConfigValidationError);
    expect(() => ValueSpec.jsonCols().encode(batch)).toThrow(/bytes are not JSON serializable/);
  });

  test("matches CPython json.dumps on generated rows (ints beyond 2^53, float repr, unicode, nesting)", () => {
    // A seeded generator of awkward values; Python gets exact bit patterns for floats.
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const floats = [
      0.1,
      1.0,
      -0.0,
      1e16,
      1e-7,
      123456789.125,
      5e-324,
      1e22,
      1.7976931348623157e308,
      2 ** 53,
      0.5,
      NaN,
      Infinity,
      -Infinity,
      1e-5,
      1e-4,
      9999999999999998,
    ];
    const strings = [
      "",
      "plain",
      'quote " and \\ backslash',
      "tab\tnew\nline\u0001",
      "é ü ñ",
      "😀 astral",
      "\u2028\u2029",
      "\ud7ff\ue000",
    ];
    const n = 200;
    const ints: (bigint | null)[] = [];
    const dbl: (number | null)[] = [];
    const f32: (number | null)[] = [];
    const str: (string | null)[] = [];
    const bools: (boolean | null)[] = [];
    const lists: (number[] | null)[] = [];
    const structs: ({ x: bigint; s: string } | null)[] = [];
    for (let i = 0; i < n; i++) {
      const nul = rand() < 0.1;
      ints.push(
        nul ? null : BigInt(Math.floor((rand() - 0.5) * 2 ** 30)) * BigInt(Math.floor(rand() * 2 ** 33)),
      );
      dbl.push(
        rand() < 0.1
          ? null
          : rand() < 0.5
            ? floats[i % floats.length]!
            : (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20),
      );
      f32.push(rand() < 0.1 ? null : Math.fround((rand() - 0.5) * 1000));
      str.push(rand() < 0.1 ? null : strings[i % strings.length]! + String(i));
      bools.push(rand() < 0.1 ? null : rand() < 0.5);
      lists.push(rand() < 0.1 ? null : [rand(), 1.0, 2.5].slice(0, 1 + (i % 3)));
      structs.push(
        rand() < 0.1 ? null : { x: BigInt(i) * 10n ** 15n, s: strings[(i + 3) % strings.length]! },
      );
    }
    const batch = batchOf({
      i: vectorFromArray(ints, new Int64()),
      d: vectorFromArray(dbl, new Float64()),
      f: vectorFromArray(f32, new Float32()),
      s: vectorFromArray(str, new Utf8()),
      ключ: vectorFromArray(bools, new Bool()),
      l: vectorFromArray(lists, new List(new Field("item", new Float64(), true))),
      st: vectorFromArray(
        structs,
        new Struct([new Field("x", new Int64(), true), new Field("s", new Utf8(), true)]),
      ),
    });
    const ours = values(ValueSpec.jsonCols(), batch);

    // Tagged rows for Python: floats as exact IEEE-754 bits, ints as decimal text.
    const bits = (x: number) => {
      const b = new DataView(new ArrayBuffer(8));
      b.setFloat64(0, x);
      return b.getBigUint64(0).toString(16).padStart(16, "0");
    };
    const tag = (v: unknown): unknown => {
      if (v === null) return null;
      if (typeof v === "bigint") return { i: v.toString() };
      if (typeof v === "number") return { f: bits(v) };
      if (typeof v === "boolean" || typeof v === "string") return v;
      if (Array.isArray(v)) return v.map(tag);
      return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, tag(x)]));
    };
    const rows = Array.from({ length: n }, (_, r) => ({
      i: tag(ints[r]),
      d: tag(dbl[r]),
      f: tag(f32[r]),
      s: tag(str[r]),
      ключ: tag(bools[r]),
      l: tag(lists[r]),
      st: tag(structs[r]),
    }));
    const py = `
import json, struct, sys
def dec(v):
    if isinstance(v, dict):
        if set(v) == {"i"}: return int(v["i"])
        if set(v) == {"f"}: return struct.unpack(">d", bytes.fromhex(v["f"]))[0]
        return {k: dec(x) for k, x in v.items()}
    if isinstance(v, list): return [dec(x) for x in v]
    return v
for row in json.loads(sys.stdin.read()):
    print(json.dumps(dec(row), sort_keys=True, separators=(",", ":")))
`;
    const proc = Bun.spawnSync(["python3", "-c", py], { stdin: Buffer.from(JSON.stringify(rows)) });
    if (proc.exitCode !== 0) {
      throw new Error(`python3 is needed for this cross-check and failed: ${proc.stderr.toString()}`);
    }
    const theirs = proc.stdout.toString().trimEnd().split("\n");
    expect(theirs.length).toBe(n);
    for (let r = 0; r < n; r++) expect(ours[r]).toBe(theirs[r]!);
  });
});

describe("binary_col", () => {
  test("bytes as is, strings as UTF-8, null as empty; description and wire round trip", () => {
    const batch = batchOf({
      b: vectorFromArray([new Uint8Array([104, 105]), null, new Uint8Array(0)], new Binary()),
      s: vectorFromArray(["é", null, "x"], new Utf8()),
    });
    expect(values(ValueSpec.binaryCol("b"), batch)).toEqual(["hi", "", ""]);
    expect(values(ValueSpec.binaryCol("s"), batch)).toEqual(["é", "", "x"]);
    const spec = ValueSpec.binaryCol("b");
    expect(spec.description).toBe("binary_col:b");
    expect(ValueSpec.fromWire(spec.toWire()).description).toBe("binary_col:b");
    expect(ValueSpec.parse("binary_col:b").description).toBe("binary_col:b");
    expect(ValueSpec.parse("json_cols:a,b").columns()).toEqual(["a", "b"]);
    expect(() => ValueSpec.parse("nope")).toThrow(ConfigValidationError);
  });

  test("a non-binary column and a missing column are typed errors", () => {
    const batch = batchOf({ n: vectorFromArray([1n], new Int64()) });
    expect(() => ValueSpec.binaryCol("n").encode(batch)).toThrow(/Arrow type Int64/);
    expect(() => ValueSpec.binaryCol("zz").encode(batch)).toThrow(/"zz" is not in the input/);
  });

  test("a sliced column keeps only its rows", () => {
    const data = vectorFromArray(["a", "bb", "ccc", "dddd"], new Utf8()).data[0]!.slice(1, 2);
    const batch = new RecordBatch(
      new Schema([new Field("s", new Utf8(), true)]),
      makeData({
        type: new Struct([new Field("s", new Utf8(), true)]),
        length: 2,
        nullCount: 0,
        children: [data],
      }),
    );
    expect(values(ValueSpec.binaryCol("s"), batch)).toEqual(["bb", "ccc"]);
  });
});

describe("callable encoder", () => {
  test("gets rows as objects (64-bit ints as bigint) and must return bytes", () => {
    const batch = batchOf({
      id: vectorFromArray([1n, 2n], new Int64()),
      s: vectorFromArray(["a", "b"], new Utf8()),
    });
    const spec = ValueSpec.callableEncoder((row, i) =>
      new TextEncoder().encode(`${row.id as bigint}:${row.s}:${i}`),
    );
    expect(values(spec, batch)).toEqual(["1:a:0", "2:b:1"]);
    expect(spec.transferable).toBe(false);
    expect(() => spec.toWire()).toThrow(ConfigValidationError);
    const bad = ValueSpec.callableEncoder(() => "nope" as unknown as Uint8Array);
    expect(() => bad.encode(batch)).toThrow(/must return a Uint8Array/);
  });
});
