/**
 * Byte-exact emulation of Python's `json.dumps` for the values shardy writes into manifests,
 * `_CURRENT` and `json_cols` shard values. The reference system hashes nothing over these bytes,
 * but readers compare them (e.g. `_CURRENT` CAS, sidecar identities) and tests diff them, so they
 * must match what CPython writes, including float `repr` and `ensure_ascii` escapes.
 *
 * Number model: JS has one number type, Python has two. A `number` that is a safe integer (and not
 * -0) is a Python `int`; every other `number` is a Python `float`. `bigint` is always an `int`.
 * Wrap an integral value in `PyFloat` to force float output (`pyFloat(1)` -> `1.0`).
 */

/** A Python float whose value is integral (or that must print as a float for another reason). */
export class PyFloat {
  constructor(readonly value: number) {}
}

export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

export type PyJsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | readonly PyJsonValue[]
  | { readonly [key: string]: PyJsonValue };

export type PyJsonObject = { readonly [key: string]: PyJsonValue };

/** Python's default `(item_separator, key_separator)` when `indent` is None. */
export const DEFAULT_SEPARATORS: readonly [string, string] = [", ", ": "];
/** `separators=(",", ":")`. */
export const COMPACT_SEPARATORS: readonly [string, string] = [",", ":"];

export interface PyDumpsOptions {
  /** `sort_keys=True`: keys ordered by Unicode code point (Python `str` order), at every level. */
  sortKeys?: boolean;
  /** `separators=(item, key)`; defaults to `(", ", ": ")`. */
  separators?: readonly [string, string];
  /** `ensure_ascii` (default true, like Python): non-ASCII as `\uXXXX`, astral as surrogate pairs. */
  ensureAscii?: boolean;
}

/** `json.dumps(value, sort_keys=..., separators=..., ensure_ascii=...)` as CPython writes it. */
export function pyJsonDumps(value: PyJsonValue, options: PyDumpsOptions = {}): string {
  const [itemSep, keySep] = options.separators ?? DEFAULT_SEPARATORS;
  const ctx: DumpContext = {
    sortKeys: options.sortKeys ?? false,
    itemSep,
    keySep,
    quote: (options.ensureAscii ?? true) ? quoteAscii : quoteUnicode,
    active: new Set(),
  };
  const out: string[] = [];
  dumpValue(value, ctx, out);
  return out.join("");
}

/** `json.dumps(value, sort_keys=True)`: the manifest's JSON TEXT columns. */
export function pyJsonDumpsSorted(value: PyJsonValue): string {
  return pyJsonDumps(value, { sortKeys: true });
}

/** `json.dumps(value, sort_keys=True, separators=(",", ":"))`: `_CURRENT`, `json_cols`. */
export function pyJsonDumpsCompact(value: PyJsonValue): string {
  return pyJsonDumps(value, { sortKeys: true, separators: COMPACT_SEPARATORS });
}

interface DumpContext {
  sortKeys: boolean;
  itemSep: string;
  keySep: string;
  quote: (s: string) => string;
  /** Containers on the current path, to report cycles the way Python does instead of overflowing. */
  active: Set<object>;
}

function dumpValue(value: PyJsonValue, ctx: DumpContext, out: string[]): void {
  switch (typeof value) {
    case "string":
      out.push(ctx.quote(value));
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "bigint":
      out.push(value.toString());
      return;
    case "number":
      out.push(Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : pyFloatRepr(value));
      return;
    case "object":
      break;
    default:
      throw new TypeError(`Object of type ${typeof value} is not JSON serializable: ${String(value)}`);
  }
  if (value === null) {
    out.push("null");
    return;
  }
  if (value instanceof PyFloat) {
    out.push(pyFloatRepr(value.value));
    return;
  }
  if (ctx.active.has(value)) throw new TypeError("Circular reference detected");
  ctx.active.add(value);
  if (Array.isArray(value)) {
    dumpArray(value as readonly PyJsonValue[], ctx, out);
  } else if (isPlainObject(value)) {
    dumpObject(value as PyJsonObject, ctx, out);
  } else {
    throw new TypeError(`Object of type ${describe(value)} is not JSON serializable`);
  }
  ctx.active.delete(value);
}

function dumpArray(items: readonly PyJsonValue[], ctx: DumpContext, out: string[]): void {
  out.push("[");
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out.push(ctx.itemSep);
    dumpValue(items[i] as PyJsonValue, ctx, out);
  }
  out.push("]");
}

function dumpObject(obj: PyJsonObject, ctx: DumpContext, out: string[]): void {
  const keys = Object.keys(obj);
  if (ctx.sortKeys) keys.sort(compareCodePoints);
  out.push("{");
  let first = true;
  for (const key of keys) {
    const item = obj[key];
    if (item === undefined) {
      throw new TypeError(
        `Object value for key ${JSON.stringify(key)} is undefined; use null or omit the key`,
      );
    }
    if (!first) out.push(ctx.itemSep);
    first = false;
    out.push(ctx.quote(key), ctx.keySep);
    dumpValue(item, ctx, out);
  }
  out.push("}");
}

export function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: object): string {
  return value.constructor?.name ?? "object";
}

/**
 * Orders strings by Unicode code point, as Python compares `str`. JS `<` compares UTF-16 code
 * units, which disagrees for astral characters versus U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Inside a surrogate pair whose high half is shared, the low units order like code points.
    // If only one side continues the pair, that side holds an astral code point: it is larger.
    const prev = i > 0 ? a.charCodeAt(i - 1) : 0;
    if (prev >= 0xd800 && prev <= 0xdbff) {
      if (isLow(ca) && isLow(cb)) return ca - cb;
      if (isLow(ca)) return 1;
      if (isLow(cb)) return -1;
    }
    // Otherwise compare whole code points (a lone surrogate is its own code point, as in Python).
    return (a.codePointAt(i) as number) - (b.codePointAt(i) as number);
  }
  return a.length - b.length;
}

function isLow(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

const SHORT_ESCAPES: Record<number, string> = {
  34: '\\"',
  92: "\\\\",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  8: "\\b",
  12: "\\f",
};

// Python's ESCAPE_ASCII is `([\\"]|[^\ -~])`: everything outside printable ASCII is escaped.
const NEEDS_ASCII_ESCAPE = /[^ !#-[\]-~]/;
// Python's ESCAPE is `[\x00-\x1f\\"\b\f\n\r\t]`: control characters, quote and backslash only.
function needsUnicodeEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit < 0x20 || unit === 0x22 || unit === 0x5c) return true;
  }
  return false;
}

function hex4(unit: number): string {
  return `\\u${unit.toString(16).padStart(4, "0")}`;
}

function quoteAscii(s: string): string {
  if (!NEEDS_ASCII_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit >= 0x20 && unit <= 0x7e && unit !== 0x22 && unit !== 0x5c) {
      out += s[i];
    } else {
      // Iterating UTF-16 units yields Python's surrogate pairs for astral characters for free.
      out += SHORT_ESCAPES[unit] ?? hex4(unit);
    }
  }
  return `${out}"`;
}

function quoteUnicode(s: string): string {
  if (!needsUnicodeEscape(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit >= 0x20 && unit !== 0x22 && unit !== 0x5c) {
      out += s[i];
    } else {
      out += SHORT_ESCAPES[unit] ?? hex4(unit);
    }
  }
  return `${out}"`;
}

// ---------------------------------------------------------------------------------------------
// Floats
// ---------------------------------------------------------------------------------------------

/**
 * Python `float.__repr__` (as `json.dumps` uses it, with `NaN`/`Infinity` for non-finite values):
 * the shortest round-tripping digits, fixed notation for decimal exponents in [-5, 16), otherwise
 * `d.ddde±XX` with at least two exponent digits; fixed notation always has a fractional part.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest digits that round-trip, like repr.
  const [mantissa, expText] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const expSign = exp < 0 ? "-" : "+";
    return `${sign}${digits[0]}${frac}e${expSign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const point = exp + 1; // digits before the decimal point
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** A short rendering of a value for error messages: strings quoted, containers summarised. */
export function describeJson(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return value.toString();
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : pyFloatRepr(value);
  if (value instanceof Uint8Array) return `bytes of length ${value.length}`;
  if (value !== null && typeof value === "object") {
    try {
      const text = pyJsonDumps(value as PyJsonValue, { separators: COMPACT_SEPARATORS });
      return text.length <= 80 ? text : `${text.slice(0, 77)}...`;
    } catch {
      return Array.isArray(value) ? `an array of ${value.length}` : `a ${describe(value)}`;
    }
  }
  return String(value);
}
