/**
 * `db_path_template` is a Python `str.format` template called as `template.format(db_id=db_id)`
 * (default `db={db_id:05d}`). This is the subset that makes sense for an integer shard id:
 * literal text, `{{`/`}}` escapes, and `{db_id}` / `{db_id:SPEC}` with SPEC =
 * `[[fill]align][sign][#][0][width][,|_][type]`, type one of `d n b o x X` (or none).
 * Anything else (other names, positional fields, conversions, precision, float types) is a
 * `ConfigValidationError`, so a template either formats exactly as Python would or is refused.
 */
import { ConfigValidationError } from "@shardy/errors";

const FIELD = "output.db_path_template";

type Piece = string | IntSpec;

interface IntSpec {
  fill: string;
  align: "<" | ">" | "^" | "=";
  sign: "+" | "-" | " ";
  alternate: boolean;
  width: number;
  grouping: "," | "_" | "";
  type: "d" | "n" | "b" | "o" | "x" | "X";
}

const SPEC_RE = /^(?:([\s\S])?([<>=^]))?([+\- ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([\s\S])?$/;

function reject(template: string, why: string): never {
  throw new ConfigValidationError(
    `${FIELD} must be a Python format template using only {db_id} (e.g. "db={db_id:05d}"), got ${JSON.stringify(template)}: ${why}`,
    { field: FIELD },
  );
}

function parseSpec(template: string, spec: string): IntSpec {
  const m = SPEC_RE.exec(spec);
  if (!m) reject(template, `unsupported format spec ${JSON.stringify(spec)}`);
  const [, fill, align, sign, alt, zero, width, grouping, precision, type] = m;
  if (precision !== undefined) reject(template, "precision is not allowed in integer format specifier");
  const t = type ?? "d";
  if (!["d", "n", "b", "o", "x", "X"].includes(t)) {
    reject(template, `format type ${JSON.stringify(t)} is not supported; use d, b, o, x or X`);
  }
  if (grouping === "," && t !== "d") reject(template, `cannot specify ',' with '${t}'`);
  if (grouping && t === "n") reject(template, "cannot specify a grouping separator with 'n'");
  if (grouping && zero !== undefined) reject(template, "grouping with zero padding is not supported");
  return {
    fill: fill ?? (zero !== undefined ? "0" : " "),
    align: (align ?? (zero !== undefined ? "=" : ">")) as IntSpec["align"],
    sign: (sign ?? "-") as IntSpec["sign"],
    alternate: alt !== undefined,
    width: width === undefined ? 0 : Number(width),
    grouping: (grouping ?? "") as IntSpec["grouping"],
    type: t as IntSpec["type"],
  };
}

/** Splits a template into literal text and `{db_id...}` fields, rejecting anything unsupported. */
export function parseDbPathTemplate(template: string): Piece[] {
  const pieces: Piece[] = [];
  let literal = "";
  let i = 0;
  while (i < template.length) {
    const c = template[i] as string;
    if (c === "}") {
      if (template[i + 1] !== "}") reject(template, "single '}' encountered");
      literal += "}";
      i += 2;
      continue;
    }
    if (c !== "{") {
      literal += c;
      i++;
      continue;
    }
    if (template[i + 1] === "{") {
      literal += "{";
      i += 2;
      continue;
    }
    const end = template.indexOf("}", i + 1);
    if (end < 0) reject(template, "single '{' encountered");
    const body = template.slice(i + 1, end);
    if (body.includes("{")) reject(template, "nested fields are not supported");
    const colon = body.indexOf(":");
    const name = colon < 0 ? body : body.slice(0, colon);
    if (name.includes("!")) reject(template, "conversions (!r, !s, !a) are not supported");
    if (name !== "db_id") {
      reject(
        template,
        name === "" || /^\d+$/.test(name) ? "positional fields are not supported" : `unknown field {${name}}`,
      );
    }
    if (literal) pieces.push(literal);
    literal = "";
    pieces.push(parseSpec(template, colon < 0 ? "" : body.slice(colon + 1)));
    i = end + 1;
  }
  if (literal) pieces.push(literal);
  return pieces;
}

function group(digits: string, sep: string, size: number): string {
  let out = "";
  for (let end = digits.length; end > 0; end -= size) {
    const part = digits.slice(Math.max(0, end - size), end);
    out = out ? `${part}${sep}${out}` : part;
  }
  return out;
}

function formatInt(n: number, spec: IntSpec): string {
  const radix = { d: 10, n: 10, b: 2, o: 8, x: 16, X: 16 }[spec.type];
  let body = Math.abs(n).toString(radix);
  if (spec.type === "X") body = body.toUpperCase();
  if (spec.grouping) body = group(body, spec.grouping, radix === 10 ? 3 : 4);
  const prefix = spec.alternate && radix !== 10 ? `0${spec.type === "X" ? "X" : spec.type}` : "";
  const sign = n < 0 ? "-" : spec.sign === "-" ? "" : spec.sign;
  const pad = Math.max(0, spec.width - sign.length - prefix.length - body.length);
  const fill = spec.fill.repeat(pad);
  switch (spec.align) {
    case "<":
      return sign + prefix + body + fill;
    case "^": {
      const left = spec.fill.repeat(Math.floor(pad / 2));
      return left + sign + prefix + body + spec.fill.repeat(pad - Math.floor(pad / 2));
    }
    case "=":
      return sign + prefix + fill + body;
    default:
      return fill + sign + prefix + body;
  }
}

/** `template.format(db_id=dbId)` as Python computes it, for the supported subset. */
export function formatDbPath(template: string, dbId: number): string {
  if (!Number.isSafeInteger(dbId)) {
    throw new ConfigValidationError(`db_id must be an integer, got ${String(dbId)}`, { field: "db_id" });
  }
  return parseDbPathTemplate(template)
    .map((p) => (typeof p === "string" ? p : formatInt(dbId, p)))
    .join("");
}

/** Throws `ConfigValidationError` (field `output.db_path_template`) unless the template is usable. */
export function validateDbPathTemplate(template: string): void {
  formatDbPath(template, 0);
}
