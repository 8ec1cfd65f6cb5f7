import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  COMPACT_SEPARATORS,
  compareCodePoints,
  PyFloat,
  type PyJsonValue,
  pyFloat,
  pyFloatRepr,
  pyJsonDumps,
  pyJsonDumpsCompact,
  pyJsonDumpsSorted,
} from "../src/index.ts";
import { runPythonCode } from "./helpers/python.ts";

describe("pyJsonDumps: documented Python outputs", () => {
  test("json_cols example of the reference spec (§5.2)", () => {
    const row = { name: "Zoë", id: 1, n: null, score: pyFloat(1), big: 1e16, tags: ["x"] };
    expect(pyJsonDumpsCompact(row)).toBe(
      '{"big":1e+16,"id":1,"n":null,"name":"Zo\\u00eb","score":1.0,"tags":["x"]}',
    );
  });

  test("float repr: exponent thresholds, .0 suffix, non-finite tokens", () => {
    const cases: [number, string][] = [
      [1.5e-7, "1.5e-07"],
      [1e16, "1e+16"],
      [1e15, "1000000000000000.0"],
      [0.0001, "0.0001"],
      [0.00001, "1e-05"],
      [123.456, "123.456"],
      [-2.5, "-2.5"],
      [5e-324, "5e-324"],
      [1.7976931348623157e308, "1.7976931348623157e+308"],
      [Number.NaN, "NaN"],
      [Number.POSITIVE_INFINITY, "Infinity"],
      [Number.NEGATIVE_INFINITY, "-Infinity"],
      [-0, "-0.0"],
      [0, "0.0"],
    ];
    for (const [x, want] of cases) expect(pyFloatRepr(x)).toBe(want);
  });

  test("numbers: safe integers are ints, bigints exact, PyFloat forces a float", () => {
    expect(pyJsonDumps([1, -7, 2 ** 53 - 1, 2n ** 64n - 1n, -(2n ** 63n), pyFloat(3), 0.5, 2 ** 60])).toBe(
      "[1, -7, 9007199254740991, 18446744073709551615, -9223372036854775808, 3.0, 0.5, 1.152921504606847e+18]",
    );
  });

  test("ensure_ascii escapes: short escapes, \\u00XX controls, DEL, surrogate pairs", () => {
    expect(pyJsonDumps('"\\\n\r\t\b\f\u0001\u001f\u007f é😀')).toBe(
      '"\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f \\u00e9\\ud83d\\ude00"',
    );
    expect(pyJsonDumps('"\\\n\u0001\u007fé😀', { ensureAscii: false })).toBe('"\\"\\\\\\n\\u0001\u007fé😀"');
  });

  test("separators and sort_keys apply at every level", () => {
    const v = { b: [1, { z: 1, a: 2 }], a: {} };
    expect(pyJsonDumps(v)).toBe('{"b": [1, {"z": 1, "a": 2}], "a": {}}');
    expect(pyJsonDumpsSorted(v)).toBe('{"a": {}, "b": [1, {"a": 2, "z": 1}]}');
    expect(pyJsonDumps(v, { sortKeys: true, separators: COMPACT_SEPARATORS })).toBe(
      '{"a":{},"b":[1,{"a":2,"z":1}]}',
    );
  });

  test("sort_keys uses code point order, not UTF-16 order", () => {
    const astral = "\u{1F600}";
    const bmpHigh = "\uFF61";
    expect([astral, bmpHigh].sort(compareCodePoints)).toEqual([bmpHigh, astral]);
    expect(pyJsonDumpsSorted({ [astral]: 1, [bmpHigh]: 2 })).toBe('{"\\uff61": 2, "\\ud83d\\ude00": 1}');
  });

  test("values Python cannot serialize are TypeErrors", () => {
    expect(() => pyJsonDumps(new Uint8Array(1) as unknown as PyJsonValue)).toThrow("not JSON serializable");
    expect(() => pyJsonDumps({ a: undefined } as unknown as PyJsonValue)).toThrow("undefined");
    const cyclic: PyJsonValue[] = [];
    cyclic.push(cyclic);
    expect(() => pyJsonDumps(cyclic)).toThrow("Circular reference");
  });
});

// ---------------------------------------------------------------------------------------------
// Differential test against CPython's json.dumps
// ---------------------------------------------------------------------------------------------

/** Lossless transport of our value model to Python: ints and floats tagged, strings as UTF-16 units. */
function transport(v: PyJsonValue): unknown {
  if (v === null || typeof v === "boolean") return v;
  if (typeof v === "bigint") return { i: v.toString() };
  if (typeof v === "number" && Number.isSafeInteger(v) && !Object.is(v, -0)) return { i: String(v) };
  if (typeof v === "number" || v instanceof PyFloat) {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, typeof v === "number" ? v : v.value);
    return { f: Buffer.from(view.buffer).toString("hex") };
  }
  if (typeof v === "string") return { s: units(v) };
  if (Array.isArray(v)) return { a: v.map(transport) };
  return { o: Object.entries(v).map(([k, x]) => [units(k), transport(x as PyJsonValue)]) };
}

function units(s: string): number[] {
  return Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));
}

const PY_DUMPS = `
import sys, json, struct
def s(u): return b"".join(x.to_bytes(2, "little") for x in u).decode("utf-16-le", "surrogatepass")
def dec(t):
    if t is None or isinstance(t, bool): return t
    if "i" in t: return int(t["i"])
    if "f" in t: return struct.unpack(">d", bytes.fromhex(t["f"]))[0]
    if "s" in t: return s(t["s"])
    if "a" in t: return [dec(x) for x in t["a"]]
    return {s(k): dec(v) for k, v in t["o"]}
for line in sys.stdin:
    r = json.loads(line)
    out = json.dumps(dec(r["v"]), sort_keys=r["sort"], separators=tuple(r["sep"]) if r["sep"] else None, ensure_ascii=r["ascii"])
    print(out.encode("utf-16-le", "surrogatepass").hex())
`;

function fromUtf16Hex(hex: string): string {
  const bytes = Buffer.from(hex, "hex");
  let out = "";
  for (let i = 0; i < bytes.length; i += 2) out += String.fromCharCode(bytes[i]! | (bytes[i + 1]! << 8));
  return out;
}

const trickyFloats = fc.constantFrom(
  1e16,
  1e15,
  9999999999999998,
  0.0001,
  0.00001,
  1e22,
  1e21,
  5e-324,
  2.2250738585072014e-308,
  1.7976931348623157e308,
  0.1,
  1 / 3,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  123456789012345680000,
);

const codeUnitString = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)),
});
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  codeUnitString,
  fc.string({ unit: "grapheme" }),
);

const jsonValue: fc.Arbitrary<PyJsonValue> = fc.letrec<{ value: PyJsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
    fc.double(),
    fc.double().map(pyFloat),
    trickyFloats,
    trickyFloats.map(pyFloat),
    anyString,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(anyString, tie("value"), { maxKeys: 4 }),
  ),
})).value;

describe("pyJsonDumps matches CPython json.dumps byte for byte", () => {
  test("a few hundred generated values with random options", () => {
    const seed = Number(process.env.SHARDY_TEST_SEED ?? Date.now() % 2 ** 31);
    const cases = fc.sample(
      fc.record({
        value: jsonValue,
        sortKeys: fc.boolean(),
        compact: fc.boolean(),
        ensureAscii: fc.boolean(),
      }),
      { numRuns: 400, seed },
    );
    const stdin = cases
      .map((c) =>
        JSON.stringify({
          v: transport(c.value),
          sort: c.sortKeys,
          sep: c.compact ? [",", ":"] : null,
          ascii: c.ensureAscii,
        }),
      )
      .join("\n");
    const lines = runPythonCode(PY_DUMPS, stdin).trim().split("\n");
    expect(lines.length).toBe(cases.length);
    cases.forEach((c, i) => {
      const ours = pyJsonDumps(c.value, {
        sortKeys: c.sortKeys,
        separators: c.compact ? COMPACT_SEPARATORS : undefined,
        ensureAscii: c.ensureAscii,
      });
      const theirs = fromUtf16Hex(lines[i] ?? "");
      if (ours !== theirs) {
        throw new Error(
          `mismatch (seed ${seed}, case ${i}):\n ours:   ${JSON.stringify(ours)}\n python: ${JSON.stringify(theirs)}`,
        );
      }
    });
  });
});
