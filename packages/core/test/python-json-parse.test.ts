import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PyFloat, PyJsonSyntaxError, type PyJsonValue, pyJsonDumps, pyJsonLoads } from "../src/index.ts";
import { runPythonCode } from "./helpers/python.ts";

describe("pyJsonLoads", () => {
  test("integers beyond 2^53 stay exact; safe ones are numbers in auto mode", () => {
    expect(pyJsonLoads("[18446744073709551615, -9223372036854775808, 42, -0]")).toEqual([
      18446744073709551615n,
      -9223372036854775808n,
      42,
      0,
    ]);
    expect(pyJsonLoads("[1, 2]", { ints: "bigint" })).toEqual([1n, 2n]);
  });

  test("Python's non-finite tokens and float forms", () => {
    const v = pyJsonLoads("[NaN, Infinity, -Infinity, 1.5e-07, 1e+16, 1.0]") as number[];
    expect(Number.isNaN(v[0])).toBe(true);
    expect(v.slice(1)).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5e-7, 1e16, 1]);
  });

  test("preserveFloats keeps integral floats as PyFloat so they dump back unchanged", () => {
    const text = '{"a": 1.0, "b": 1, "c": 2.5, "d": 1e+16}';
    const v = pyJsonLoads(text, { preserveFloats: true }) as Record<string, PyJsonValue>;
    expect(v.a).toBeInstanceOf(PyFloat);
    expect(v.b).toBe(1);
    expect(pyJsonDumps(v)).toBe(text);
  });

  test("escapes, surrogates, unicode and the __proto__ key", () => {
    const v = pyJsonLoads(
      '{"__proto__": 1, "s": "a\\u00e9\\ud83d\\ude00\\ud800\\/\\n\\"", "t": "é😀"}',
    ) as Record<string, PyJsonValue>;
    expect(Object.keys(v)).toEqual(["__proto__", "s", "t"]);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(v.s).toBe('aé😀\ud800/\n"');
    expect(v.t).toBe("é😀");
  });

  test("duplicate keys: last value wins (like dict)", () => {
    expect(pyJsonLoads('{"a": 1, "b": 2, "a": 3}')).toEqual({ a: 3, b: 2 });
  });

  test("malformed input is a PyJsonSyntaxError with a position", () => {
    for (const bad of [
      "",
      "{",
      "[1,]",
      "01",
      "1 2",
      '"\u0001"',
      '"\\x"',
      "{'a': 1}",
      "nul",
      "-",
      "[1 2]",
      '{"a" 1}',
    ]) {
      expect(() => pyJsonLoads(bad)).toThrow(PyJsonSyntaxError);
    }
  });

  test("round-trips whatever CPython writes (generated documents)", () => {
    const seed = Number(process.env.SHARDY_TEST_SEED ?? Date.now() % 2 ** 31);
    const docs = fc.sample(
      fc.record({
        ints: fc.array(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), { maxLength: 5 }),
        floats: fc.array(fc.double({ noNaN: true }), { maxLength: 5 }),
        text: fc.string({ unit: "binary" }),
      }),
      { numRuns: 100, seed },
    );
    const stdin = docs
      .map((d) =>
        JSON.stringify({
          ints: d.ints.map(String),
          floats: d.floats.map((f) => (Object.is(f, -0) ? "-0.0" : String(f))),
          text: d.text,
        }),
      )
      .join("\n");
    // Python parses our transport, then writes real JSON with big ints and its float repr.
    const out = runPythonCode(
      `import sys, json
for line in sys.stdin:
    d = json.loads(line)
    print(json.dumps({"ints": [int(i) for i in d["ints"]], "floats": [float(f) for f in d["floats"]], "text": d["text"]}))`,
      stdin,
    )
      .trim()
      .split("\n");
    docs.forEach((d, i) => {
      const parsed = pyJsonLoads(out[i] ?? "", { ints: "bigint" }) as {
        ints: bigint[];
        floats: number[];
        text: string;
      };
      expect(parsed.ints, `seed ${seed} case ${i}`).toEqual(d.ints);
      expect(parsed.floats, `seed ${seed} case ${i}`).toEqual(d.floats);
      expect(parsed.text).toBe(d.text);
    });
  });
});
