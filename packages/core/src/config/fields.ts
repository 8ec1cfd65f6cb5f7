/**
 * Small checkers for untrusted config input. Every failure is a `ConfigValidationError` whose
 * message names the field (snake_case dotted path), shows the value and says what to do, and
 * whose `field` is that path.
 */
import { ConfigValidationError } from "@shardy/errors";
import { describeJson, isPlainObject, PyFloat } from "../json/python-json.ts";

export type Obj = Record<string, unknown>;

export function fail(path: string, message: string): never {
  throw new ConfigValidationError(`${path} ${message}`, { field: path });
}

/** A value as the user would recognise it in a message. */
export function show(value: unknown): string {
  if (value === null) return "null";
  return describeJson(value);
}

export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

export function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value) && isPlainObject(value);
}

export function expectObject(value: unknown, path: string, what = "an object"): Obj {
  if (!isObj(value)) fail(path, `must be ${what}, got ${show(value)}`);
  return value;
}

/** Rejects keys outside `allowed`; typos must not be silently ignored. */
export function checkKeys(
  obj: Obj,
  allowed: readonly string[],
  path: string,
  hints: Record<string, string> = {},
): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const hint = hints[key];
    fail(
      join(path, key),
      hint ?? `is not a known field; known fields${path ? ` of ${path}` : ""}: ${allowed.join(", ")}`,
    );
  }
}

/** `undefined` and `null` both mean "not given", like a Python keyword left at its None default. */
export function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** An integer as number; safe-range bigints are accepted (JSON readers may produce them). */
export function intValue(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (
    typeof value === "bigint" &&
    value >= BigInt(Number.MIN_SAFE_INTEGER) &&
    value <= BigInt(Number.MAX_SAFE_INTEGER)
  ) {
    return Number(value);
  }
  return undefined;
}

export function int(value: unknown, path: string, min: number, fix: string): number {
  const n = intValue(value);
  if (n === undefined || n < min) fail(path, `must be an integer >= ${min}, got ${show(value)}; ${fix}`);
  return n;
}

/** Any real number: number, safe bigint, or a `PyFloat` (wire JSON keeps Python's `2.0` as one). */
export function numberValue(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (value instanceof PyFloat) return value.value;
  return intValue(value);
}

export function positiveNumber(value: unknown, path: string, fix: string): number {
  const n = numberValue(value);
  if (n === undefined || !Number.isFinite(n) || n <= 0) {
    fail(path, `must be a number > 0, got ${show(value)}; ${fix}`);
  }
  return n;
}

export function str(value: unknown, path: string, fix: string): string {
  if (typeof value !== "string") fail(path, `must be a string, got ${show(value)}; ${fix}`);
  return value;
}

export function bool(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") fail(path, `must be true or false, got ${show(value)}`);
  return value;
}

export function oneOf<T extends string | number>(value: unknown, allowed: readonly T[], path: string): T {
  if (!allowed.includes(value as T)) {
    fail(path, `must be one of ${allowed.map((a) => show(a)).join(", ")}, got ${show(value)}`);
  }
  return value as T;
}

const SAFE_SEGMENT_RE = /^[A-Za-z0-9._-]+$/;

/**
 * One path segment of `[A-Za-z0-9._-]`, not containing `..` (the reference's `_validate_segment`);
 * the same rule keeps run ids safe inside keys and prefix deletes.
 */
export function segment(value: unknown, path: string, example: string): string {
  const fix = `use e.g. ${JSON.stringify(example)}`;
  if (typeof value !== "string") fail(path, `must be a string path segment, got ${show(value)}; ${fix}`);
  if (value === "") fail(path, `must be non-empty; ${fix}`);
  if (value.includes("..")) fail(path, `must not contain "..", got ${show(value)}; ${fix}`);
  if (!SAFE_SEGMENT_RE.test(value)) {
    fail(path, `must be one path segment of [A-Za-z0-9._-], got ${show(value)}; ${fix}`);
  }
  return value;
}
