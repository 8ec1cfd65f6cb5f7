/**
 * Runtime-neutral check of test/vectors/routing.json against a kernel host. Bun, Deno and Node
 * tests all call `checkRoutingVectors`; it throws on the first mismatch and returns how many
 * assertions passed. It imports nothing runtime-specific and takes the vectors as data, so each
 * runtime reads the JSON its own way.
 */
import {
  Binary,
  type DataType,
  Int8,
  Int32,
  Int64,
  LargeBinary,
  LargeUtf8,
  Uint64,
  Utf8,
  vectorFromArray,
} from "apache-arrow";

type Key = bigint | string | Uint8Array;

export interface RoutingCase {
  type: "int" | "string" | "bytes_hex" | "bytes_pattern";
  key?: string;
  length?: number;
  canonical_hex?: string;
  xxh3_64: string;
  db_id: Record<string, number>;
}

export interface RoutingVectors {
  num_dbs: number[];
  cases: RoutingCase[];
  sequences: Record<string, number[]>;
  key_encodings: { encoding: string; key?: string; key_hex?: string; hex: string }[];
  errors: { case: string; expect: string }[];
}

/** The part of `Kernel` the vectors exercise (structural, so a built copy of the package fits). */
export interface RoutingHost {
  routeBatch(keys: never, numDbs: number): Int32Array;
  routeKey(key: Key | number, numDbs: number): number;
  xxh3Batch(keys: never): BigUint64Array;
  xxh3(key: Key | number): bigint;
  encodeKey(key: Key | number, encoding: "u64be" | "u32be" | "utf8" | "raw"): Uint8Array;
  encodeKeys(keys: never, encoding: "u64be" | "u32be" | "utf8" | "raw"): { get(index: number): unknown };
}

function fail(what: string, actual: unknown, expected: unknown): never {
  throw new Error(`routing vector mismatch: ${what}: got ${String(actual)}, expected ${String(expected)}`);
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** byte[i] = (i*31+7) mod 251, the `bytes_pattern` cases. */
export function patternBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + 7) % 251;
  return out;
}

function caseKey(c: RoutingCase): Key {
  switch (c.type) {
    case "int":
      return BigInt(c.key as string);
    case "string":
      return c.key as string;
    case "bytes_hex":
      return hexToBytes(c.key as string);
    case "bytes_pattern":
      return patternBytes(c.length as number);
    default:
      throw new Error(`unknown routing case type ${String((c as RoutingCase).type)}`);
  }
}

function vector(values: readonly unknown[], type: DataType): never {
  return vectorFromArray(values as never[], type) as never;
}

/** Asserts that `fn` throws an error named `name`; returns its message. */
function expectThrows(what: string, name: string, fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    const got = (err as Error).name;
    if (got !== name) fail(`${what} error class`, got, name);
    return (err as Error).message;
  }
  return fail(what, "no error", name);
}

export function checkRoutingVectors(host: RoutingHost, vectors: RoutingVectors): { checks: number } {
  let checks = 0;
  const eq = (what: string, actual: unknown, expected: unknown) => {
    if (actual !== expected) fail(what, actual, expected);
    checks++;
  };
  if (vectors.cases.length < 30) fail("number of cases", vectors.cases.length, ">= 30");

  // Every case, one key at a time.
  for (const c of vectors.cases) {
    const key = caseKey(c);
    const label = `${c.type} ${c.key ?? c.length}`;
    eq(`xxh3(${label})`, host.xxh3(key), BigInt(c.xxh3_64));
    for (const n of vectors.num_dbs)
      eq(`routeKey(${label}, ${n})`, host.routeKey(key, n), c.db_id[String(n)]);
  }

  // The same cases as Arrow columns of every type that can hold them.
  const byType = (t: RoutingCase["type"][]) => vectors.cases.filter((c) => t.includes(c.type));
  const ints = byType(["int"]);
  const strings = byType(["string"]);
  const bytes = byType(["bytes_hex", "bytes_pattern"]);
  const nonNegative = ints.filter((c) => BigInt(c.key as string) >= 0n);
  const int32s = ints.filter((c) => BigInt.asIntN(32, BigInt(c.key as string)) === BigInt(c.key as string));
  const columns: [string, RoutingCase[], () => never][] = [
    ["Int64", ints, () => vector(ints.map(caseKey), new Int64())],
    ["Uint64", nonNegative, () => vector(nonNegative.map(caseKey), new Uint64())],
    [
      "Int32",
      int32s,
      () =>
        vector(
          int32s.map((c) => Number(c.key)),
          new Int32(),
        ),
    ],
    ["Utf8", strings, () => vector(strings.map(caseKey), new Utf8())],
    ["LargeUtf8", strings, () => vector(strings.map(caseKey), new LargeUtf8())],
    ["Binary", bytes, () => vector(bytes.map(caseKey), new Binary())],
    ["LargeBinary", bytes, () => vector(bytes.map(caseKey), new LargeBinary())],
  ];
  for (const [name, cases, make] of columns) {
    const digests = host.xxh3Batch(make());
    cases.forEach((c, i) => {
      eq(`xxh3Batch ${name} row ${i}`, digests[i], BigInt(c.xxh3_64));
    });
    for (const n of vectors.num_dbs) {
      const ids = host.routeBatch(make(), n);
      cases.forEach((c, i) => {
        eq(`routeBatch ${name} num_dbs ${n} row ${i}`, ids[i], c.db_id[String(n)]);
      });
    }
  }

  // Sequences: ints 0..N through several int widths.
  for (const [name, expected] of Object.entries(vectors.sequences)) {
    const m = /^ints_0_(\d+)_n(\d+)$/.exec(name);
    if (!m) throw new Error(`unknown routing sequence ${name}`);
    const count = Number(m[1]) + 1;
    const numDbs = Number(m[2]);
    const keys = Array.from({ length: count }, (_, i) => i);
    for (const [label, v] of [
      ["Int64", vector(keys.map(BigInt), new Int64())],
      ["Int8", vector(keys, new Int8())],
    ] as const) {
      const ids = host.routeBatch(v, numDbs);
      eq(`${name} via ${label} length`, ids.length, expected.length);
      expected.forEach((want, i) => {
        eq(`${name} via ${label} row ${i}`, ids[i], want);
      });
    }
    keys.forEach((k, i) => {
      eq(`${name} routeKey(${k})`, host.routeKey(k, numDbs), expected[i]);
    });
  }

  // Key encodings, single and batch.
  for (const e of vectors.key_encodings) {
    const enc = e.encoding as "u64be" | "u32be" | "utf8" | "raw";
    const key: Key =
      e.key_hex !== undefined
        ? hexToBytes(e.key_hex)
        : enc === "utf8"
          ? (e.key as string)
          : BigInt(e.key as string);
    eq(`encodeKey(${e.key ?? e.key_hex}, ${enc})`, bytesToHex(host.encodeKey(key, enc)), e.hex);
    const type = typeof key === "bigint" ? new Uint64() : typeof key === "string" ? new Utf8() : new Binary();
    const out = host.encodeKeys(vector([key], type), enc).get(0);
    eq(`encodeKeys(${e.key ?? e.key_hex}, ${enc})`, bytesToHex(out as Uint8Array), e.hex);
  }

  // Error cases: each named case maps to the calls that must reject.
  for (const e of vectors.errors) {
    switch (e.case) {
      case "int key 2^63 for routing": {
        const msg = expectThrows(e.case, "ConfigValidationError", () => host.routeKey(2n ** 63n, 4));
        if (!msg.includes("9223372036854775808")) fail(`${e.case} message`, msg, "the key value");
        expectThrows(`${e.case} (batch)`, "ConfigValidationError", () =>
          host.routeBatch(vector([1n, 2n ** 63n], new Uint64()), 4),
        );
        checks += 2;
        break;
      }
      case "u64be negative key":
        expectThrows(e.case, "ConfigValidationError", () => host.encodeKey(-1n, "u64be"));
        expectThrows(`${e.case} (batch)`, "ConfigValidationError", () =>
          host.encodeKeys(vector([1n, -1n], new Int64()), "u64be"),
        );
        checks += 2;
        break;
      case "u32be key 4294967296":
        expectThrows(e.case, "ConfigValidationError", () => host.encodeKey(4294967296n, "u32be"));
        expectThrows(`${e.case} (batch)`, "ConfigValidationError", () =>
          host.encodeKeys(vector([4294967296n], new Int64()), "u32be"),
        );
        checks += 2;
        break;
      default:
        throw new Error(
          `unhandled routing error vector ${JSON.stringify(e.case)}: teach check-routing.ts about it`,
        );
    }
  }
  return { checks };
}
