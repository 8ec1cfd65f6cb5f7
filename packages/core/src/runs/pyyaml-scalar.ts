/**
 * PyYAML-compatible string scalars. The reference writes run records with
 * `yaml.safe_dump(..., sort_keys=True, default_flow_style=False)`; to produce the same bytes we let
 * the `yaml` package lay out the document and supply only the one thing it does differently: how a
 * string value is quoted, escaped and folded. The rules below are PyYAML's observable behaviour for
 * a scalar that is a block-mapping value (width 80, indent 2, `allow_unicode=False`).
 */

const BEST_WIDTH = 80;
const LINE_BREAKS = new Set(["\n", "\x85", "\u2028", "\u2029"]);
const WHITESPACE_AFTER = new Set(["\0", " ", "\t", "\r", "\n", "\x85", "\u2028", "\u2029"]);

/** YAML 1.1 implicit types as PyYAML resolves plain scalars: a string matching one must be quoted. */
const IMPLICIT_NON_STRING: readonly RegExp[] = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:<<)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  /^(?:=)$/,
  /^(?:!|&|\*)$/,
];

const ESCAPES: Record<string, string> = {
  "\0": "0",
  "\x07": "a",
  "\b": "b",
  "\t": "t",
  "\n": "n",
  "\v": "v",
  "\f": "f",
  "\r": "r",
  "\x1b": "e",
  '"': '"',
  "\\": "\\",
  "\x85": "N",
  "\xa0": "_",
  "\u2028": "L",
  "\u2029": "P",
};

type Style = "plain" | "single" | "double";

function isPrintableAscii(ch: string): boolean {
  return ch >= "\x20" && ch <= "\x7e";
}

/** Which styles the characters of `s` permit (PyYAML's scalar analysis, block context). */
function chooseStyle(s: string): Style {
  const chars = Array.from(s);
  const resolvesToString = !IMPLICIT_NON_STRING.some((re) => re.test(s));
  if (chars.length === 0) return resolvesToString ? "plain" : "single";

  let blockIndicators = s.startsWith("---") || s.startsWith("...");
  let lineBreaks = false;
  let special = false;
  let leadingOrTrailingWs = false;
  let breakSpace = false;
  let spaceBreak = false;
  let prevSpace = false;
  let prevBreak = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    const precededByWs = i === 0 || WHITESPACE_AFTER.has(chars[i - 1]!);
    const followedByWs = i + 1 >= chars.length || WHITESPACE_AFTER.has(chars[i + 1]!);
    if (i === 0) {
      if ("#,[]{}&*!|>'\"%@`".includes(ch)) blockIndicators = true;
      if ((ch === "?" || ch === ":") && followedByWs) blockIndicators = true;
      if (ch === "-" && followedByWs) blockIndicators = true;
    } else {
      if (ch === ":" && followedByWs) blockIndicators = true;
      if (ch === "#" && precededByWs) blockIndicators = true;
    }
    const isBreak = LINE_BREAKS.has(ch);
    if (isBreak) lineBreaks = true;
    if (!(ch === "\n" || isPrintableAscii(ch))) special = true;
    const last = i === chars.length - 1;
    if (ch === " ") {
      if (i === 0 || last) leadingOrTrailingWs = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (isBreak) {
      if (i === 0 || last) leadingOrTrailingWs = true;
      if (prevSpace) spaceBreak = true;
      prevSpace = false;
      prevBreak = true;
    } else {
      prevSpace = false;
      prevBreak = false;
    }
  }
  const plainAllowed = !(
    leadingOrTrailingWs ||
    breakSpace ||
    spaceBreak ||
    special ||
    lineBreaks ||
    blockIndicators
  );
  const singleAllowed = !(breakSpace || spaceBreak || special);
  if (resolvesToString && plainAllowed) return "plain";
  return singleAllowed ? "single" : "double";
}

/** Output with PyYAML's column bookkeeping (`whitespace`/`indention` flags drive line starts). */
class Writer {
  out = "";
  whitespace = false;
  indention = false;

  constructor(
    public column: number,
    readonly indent: number,
  ) {}

  write(text: string): void {
    this.out += text;
    this.column += Array.from(text).length;
  }

  lineBreak(br = "\n"): void {
    this.out += br;
    this.column = 0;
    this.whitespace = true;
    this.indention = true;
  }

  writeIndent(): void {
    if (!this.indention || this.column > this.indent || (this.column === this.indent && !this.whitespace)) {
      this.lineBreak();
    }
    if (this.column < this.indent) {
      this.whitespace = true;
      this.write(" ".repeat(this.indent - this.column));
    }
  }
}

function writePlain(w: Writer, chars: string[]): void {
  let i = 0;
  while (i < chars.length) {
    if (chars[i] === " ") {
      let j = i;
      while (j < chars.length && chars[j] === " ") j++;
      if (j - i === 1 && w.column > BEST_WIDTH) {
        w.writeIndent();
        w.whitespace = false;
        w.indention = false;
      } else {
        w.write(chars.slice(i, j).join(""));
      }
      i = j;
    } else {
      let j = i;
      while (j < chars.length && chars[j] !== " ") j++;
      w.write(chars.slice(i, j).join(""));
      i = j;
    }
  }
}

function writeBreakRun(w: Writer, run: string[]): void {
  if (run[0] === "\n") w.lineBreak();
  for (const br of run) w.lineBreak(br);
  w.writeIndent();
}

function writeSingleQuoted(w: Writer, chars: string[]): void {
  w.write("'");
  let i = 0;
  while (i < chars.length) {
    const ch = chars[i]!;
    if (ch === " ") {
      let j = i;
      while (j < chars.length && chars[j] === " ") j++;
      // A lone space may become a fold, but never the first or last character.
      if (j - i === 1 && w.column > BEST_WIDTH && i !== 0 && j !== chars.length) w.writeIndent();
      else w.write(chars.slice(i, j).join(""));
      i = j;
    } else if (LINE_BREAKS.has(ch)) {
      let j = i;
      while (j < chars.length && LINE_BREAKS.has(chars[j]!)) j++;
      writeBreakRun(w, chars.slice(i, j));
      i = j;
    } else if (ch === "'") {
      w.write("''");
      i++;
    } else {
      let j = i;
      while (j < chars.length && chars[j] !== " " && chars[j] !== "'" && !LINE_BREAKS.has(chars[j]!)) j++;
      w.write(chars.slice(i, j).join(""));
      i = j;
    }
  }
  w.write("'");
}

function escapeChar(ch: string): string {
  const named = ESCAPES[ch];
  if (named !== undefined) return `\\${named}`;
  const cp = ch.codePointAt(0) ?? 0;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return `\\x${hex.padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${hex.padStart(4, "0")}`;
  return `\\U${hex.padStart(8, "0")}`;
}

function needsEscape(ch: string): boolean {
  return ch === '"' || ch === "\\" || ch === "\uFEFF" || !isPrintableAscii(ch);
}

function writeDoubleQuoted(w: Writer, chars: string[]): void {
  w.write('"');
  let start = 0;
  for (let end = 0; end <= chars.length; end++) {
    const ch = end < chars.length ? chars[end]! : undefined;
    if (ch === undefined || needsEscape(ch)) {
      if (start < end) {
        w.write(chars.slice(start, end).join(""));
        start = end;
      }
      if (ch !== undefined) {
        w.write(escapeChar(ch));
        start = end + 1;
      }
    }
    // Fold at a space (escaped as `\ ` on the next line) or right after an escape.
    if (
      end > 0 &&
      end < chars.length - 1 &&
      (ch === " " || start >= end) &&
      w.column + (end - start) > BEST_WIDTH
    ) {
      w.write(`${chars.slice(start, end).join("")}\\`);
      if (start < end) start = end;
      w.writeIndent();
      w.whitespace = false;
      w.indention = false;
      if (chars[start] === " ") w.write("\\");
    }
  }
  w.write('"');
}

/**
 * The text of `value` as PyYAML writes it for a mapping value starting at `column` (the column
 * after `key: `), with continuation lines indented by `indent` spaces.
 */
export function pyyamlString(value: string, column: number, indent = 2): string {
  const w = new Writer(column, indent);
  const chars = Array.from(value);
  const style = chooseStyle(value);
  if (style === "plain") writePlain(w, chars);
  else if (style === "single") writeSingleQuoted(w, chars);
  else writeDoubleQuoted(w, chars);
  return w.out;
}
