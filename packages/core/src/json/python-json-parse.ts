/**
 * A lossless JSON parser accepting what Python's `json.loads` accepts (including the `NaN`,
 * `Infinity` and `-Infinity` tokens `json.dumps` writes). Unlike `JSON.parse` it keeps integers
 * beyond 2^53 exact (as `bigint`), which manifests need for u64 min/max keys.
 */
import { PyFloat, type PyJsonValue } from "./python-json.ts";

export interface PyLoadsOptions {
  /**
   * `"auto"` (default): integers that fit a JS safe integer are `number`, others `bigint`.
   * `"bigint"`: every integer token is a `bigint`.
   */
  ints?: "auto" | "bigint";
  /**
   * Wrap float tokens that would otherwise come back as a safe-integer `number` (e.g. `1.0`) in
   * `PyFloat`, so `pyJsonDumps` writes them back byte for byte. Default false.
   */
  preserveFloats?: boolean;
}

/** Thrown for malformed JSON; `position` is the UTF-16 offset of the problem. */
export class PyJsonSyntaxError extends SyntaxError {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
    this.name = "PyJsonSyntaxError";
  }
}

/** `json.loads(text)` with exact integers. */
export function pyJsonLoads(text: string, options: PyLoadsOptions = {}): PyJsonValue {
  const parser = new Parser(text, options);
  parser.skipWhitespace();
  const value = parser.parseValue();
  parser.skipWhitespace();
  if (parser.pos !== text.length) throw new PyJsonSyntaxError("Extra data", parser.pos);
  return value;
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

class Parser {
  pos = 0;
  private readonly bigints: boolean;
  private readonly preserveFloats: boolean;

  constructor(
    private readonly text: string,
    options: PyLoadsOptions,
  ) {
    this.bigints = options.ints === "bigint";
    this.preserveFloats = options.preserveFloats ?? false;
  }

  skipWhitespace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
  }

  parseValue(): PyJsonValue {
    const t = this.text;
    const c = t[this.pos];
    switch (c) {
      case "{":
        return this.parseObject();
      case "[":
        return this.parseArray();
      case '"':
        return this.parseString();
      case "n":
        return this.literal("null", null);
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "N":
        return this.literal("NaN", Number.NaN);
      case "I":
        return this.literal("Infinity", Number.POSITIVE_INFINITY);
      case "-":
        if (t.startsWith("-Infinity", this.pos)) {
          return this.literal("-Infinity", Number.NEGATIVE_INFINITY);
        }
        return this.parseNumber();
      default:
        if (c !== undefined && c >= "0" && c <= "9") return this.parseNumber();
        throw new PyJsonSyntaxError("Expecting value", this.pos);
    }
  }

  private literal(word: string, value: PyJsonValue): PyJsonValue {
    if (!this.text.startsWith(word, this.pos)) throw new PyJsonSyntaxError("Expecting value", this.pos);
    this.pos += word.length;
    return value;
  }

  private parseNumber(): PyJsonValue {
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.text);
    if (!m) throw new PyJsonSyntaxError("Expecting value", this.pos);
    const token = m[0];
    this.pos += token.length;
    if (m[1] === undefined && m[2] === undefined) {
      const big = BigInt(token);
      if (this.bigints) return big;
      return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
    }
    const value = Number(token);
    if (this.preserveFloats && Number.isSafeInteger(value) && !Object.is(value, -0)) {
      return new PyFloat(value);
    }
    return value;
  }

  private parseString(): string {
    const t = this.text;
    const start = ++this.pos;
    // Fast path: no escapes.
    let i = start;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return t.slice(start, i);
      }
      if (c === 0x5c) break;
      if (c < 0x20) throw new PyJsonSyntaxError("Invalid control character", i);
      i++;
    }
    let out = t.slice(start, i);
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return out;
      }
      if (c < 0x20) throw new PyJsonSyntaxError("Invalid control character", i);
      if (c !== 0x5c) {
        out += t[i];
        i++;
        continue;
      }
      const esc = t[i + 1];
      switch (esc) {
        case '"':
        case "\\":
        case "/":
          out += esc;
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = t.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PyJsonSyntaxError("Invalid \\uXXXX escape", i);
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 6;
          continue;
        }
        default:
          throw new PyJsonSyntaxError("Invalid \\escape", i);
      }
      i += 2;
    }
    throw new PyJsonSyntaxError("Unterminated string", start - 1);
  }

  private parseArray(): PyJsonValue[] {
    const items: PyJsonValue[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return items;
    }
    for (;;) {
      this.skipWhitespace();
      items.push(this.parseValue());
      this.skipWhitespace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === "]") return items;
      if (c !== ",") throw new PyJsonSyntaxError("Expecting ',' delimiter", this.pos - 1);
    }
  }

  private parseObject(): { [key: string]: PyJsonValue } {
    const obj: { [key: string]: PyJsonValue } = {};
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return obj;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') {
        throw new PyJsonSyntaxError("Expecting property name enclosed in double quotes", this.pos);
      }
      const key = this.parseString();
      this.skipWhitespace();
      if (this.text[this.pos] !== ":") throw new PyJsonSyntaxError("Expecting ':' delimiter", this.pos);
      this.pos++;
      this.skipWhitespace();
      const value = this.parseValue();
      if (key === "__proto__") {
        // A plain assignment would replace the prototype instead of adding a key.
        Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
      } else {
        obj[key] = value; // duplicate keys: last value wins, first position kept (like dict)
      }
      this.skipWhitespace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === "}") return obj;
      if (c !== ",") throw new PyJsonSyntaxError("Expecting ',' delimiter", this.pos - 1);
    }
  }
}
