/**
 * Streaming CSV (RFC 4180): a header row names the columns; quoted fields may hold delimiters,
 * doubled quotes and newlines; `\r\n` or `\n` line ends; blank lines are skipped. An empty
 * unquoted field is null, `""` is an empty string. Columns are strings unless typed (the key
 * column defaults to int64 under u64be/u32be). Any malformed line is a `ConfigValidationError`
 * naming `file:line`.
 */
import { statSync } from "node:fs";
import { ConfigValidationError } from "@shardy/errors";
import type { Data } from "apache-arrow";
import {
  buildBoolColumn,
  buildBytesColumn,
  buildFloatColumn,
  buildIntColumn,
  makeBatch,
  type NamedColumn,
} from "./columns.ts";
import { fileText } from "./file-chunks.ts";
import {
  type CsvColumnType,
  DEFAULT_BATCH_ROWS,
  type InputBatch,
  type InputReadOptions,
  type InputSource,
} from "./types.ts";

const QUOTE = 34;
const LF = 10;
const CR = 13;

/** One parsed record: field values (`null` = empty unquoted) and the line it started on. */
type RecordSink = (fields: (string | null)[], line: number) => void;

export class CsvParser {
  #line = 1;
  #recordLine = 1;
  #fields: (string | null)[] = [];
  #field = "";
  #quoted = false; // current field started with a quote
  #inQuotes = false;
  #quotePending = false; // saw a quote inside quotes at a chunk end: closing or doubled?
  #afterQuote = false; // closed a quoted field; only a delimiter or line end may follow
  #fieldStarted = false;
  readonly #delim: number;

  constructor(
    readonly file: string,
    delimiter: string,
  ) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
      throw new ConfigValidationError(
        `CSV delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`,
        { field: "csv.delimiter" },
      );
    }
    this.#delim = delimiter.charCodeAt(0);
  }

  get line(): number {
    return this.#line;
  }

  #fail(message: string): never {
    throw new ConfigValidationError(`${this.file}:${this.#line}: ${message}`, { field: "inputs" });
  }

  #endField(): void {
    let value: string | null = this.#field;
    if (!this.#quoted && value === "") value = null;
    this.#fields.push(value);
    this.#field = "";
    this.#quoted = false;
    this.#afterQuote = false;
    this.#fieldStarted = false;
  }

  #endRecord(sink: RecordSink): void {
    this.#endField();
    const fields = this.#fields;
    this.#fields = [];
    // A blank line is one empty unquoted field: skip it.
    if (!(fields.length === 1 && fields[0] === null)) sink(fields, this.#recordLine);
  }

  feed(text: string, sink: RecordSink): void {
    const n = text.length;
    const delim = this.#delim;
    let i = 0;
    while (i < n) {
      if (this.#quotePending) {
        this.#quotePending = false;
        if (text.charCodeAt(i) === QUOTE) {
          this.#field += '"';
          i++;
          continue;
        }
        this.#inQuotes = false;
        this.#afterQuote = true;
      }
      if (this.#inQuotes) {
        const q = text.indexOf('"', i);
        const chunk = q < 0 ? text.slice(i) : text.slice(i, q);
        for (let k = 0; k < chunk.length; k++) if (chunk.charCodeAt(k) === LF) this.#line++;
        this.#field += chunk;
        if (q < 0) return;
        if (q + 1 >= n) {
          this.#quotePending = true;
          return;
        }
        if (text.charCodeAt(q + 1) === QUOTE) {
          this.#field += '"';
          i = q + 2;
        } else {
          this.#inQuotes = false;
          this.#afterQuote = true;
          i = q + 1;
        }
        continue;
      }
      if (!this.#fieldStarted && this.#fields.length === 0) this.#recordLine = this.#line;
      const c = text.charCodeAt(i);
      if (c === delim) {
        this.#endField();
        i++;
      } else if (c === LF) {
        if (!this.#quoted && this.#field.endsWith("\r")) this.#field = this.#field.slice(0, -1);
        this.#endRecord(sink);
        this.#line++;
        i++;
      } else if (this.#afterQuote) {
        if (c === CR) {
          i++;
          continue;
        }
        this.#fail(
          `unexpected ${JSON.stringify(text[i])} after a closing quote; a quoted field must end at a delimiter or line end (double quotes inside quotes as "")`,
        );
      } else if (c === QUOTE && !this.#fieldStarted) {
        this.#inQuotes = true;
        this.#quoted = true;
        this.#fieldStarted = true;
        i++;
      } else {
        // Unquoted run up to the next delimiter or line end.
        let j = i;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === delim || d === LF) break;
          j++;
        }
        this.#field += text.slice(i, j);
        this.#fieldStarted = true;
        i = j;
      }
    }
  }

  /** Ends the input: the last record may lack a line end; an open quote is an error. */
  end(sink: RecordSink): void {
    if (this.#quotePending) {
      this.#quotePending = false;
      this.#inQuotes = false;
      this.#afterQuote = true;
    }
    if (this.#inQuotes) {
      this.#line = this.#recordLine;
      this.#fail("unterminated quoted field: the file ends before its closing quote");
    }
    if (this.#fieldStarted || this.#fields.length > 0 || this.#field !== "") {
      if (!this.#quoted && this.#field.endsWith("\r")) this.#field = this.#field.slice(0, -1);
      this.#endRecord(sink);
    }
  }
}

const INT_RE = /^\s*[+-]?\d+\s*$/;
const TRUE = new Set(["true", "1", "yes", "t", "y"]);
const FALSE = new Set(["false", "0", "no", "f", "n"]);

function parseFloatField(s: string): number | undefined {
  const t = s.trim().toLowerCase();
  if (t === "nan" || t === "+nan" || t === "-nan") return Number.NaN;
  if (t === "inf" || t === "+inf" || t === "infinity" || t === "+infinity") return Number.POSITIVE_INFINITY;
  if (t === "-inf" || t === "-infinity") return Number.NEGATIVE_INFINITY;
  if (t === "" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

export function csvSource(file: string, options: { delimiter?: string } = {}): InputSource {
  const size = statSync(file).size;
  const delimiter = options.delimiter ?? (file.toLowerCase().endsWith(".tsv") ? "\t" : ",");
  const source: InputSource = {
    file,
    format: "csv",
    size,
    read: (opts) => readCsv(file, opts.csv?.delimiter ?? delimiter, opts),
    async countRows(opts) {
      let rows = 0;
      for await (const b of readCsv(file, opts.csv?.delimiter ?? delimiter, { ...opts, columns: [] })) {
        rows += b.batch.numRows;
      }
      return rows;
    },
  };
  return source;
}

async function* readCsv(file: string, delimiter: string, opts: InputReadOptions): AsyncGenerator<InputBatch> {
  const parser = new CsvParser(file, delimiter);
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  let header: string[] | undefined;
  let types: CsvColumnType[] = [];
  let keep: number[] = [];
  let rows: (string | null)[][] = [];
  let lines: number[] = [];
  let firstRow = 0;
  let pendingBytes = 0;
  const ready: InputBatch[] = [];

  const onRecord = (fields: (string | null)[], line: number) => {
    if (!header) {
      header = fields.map((f, i) => (f ?? "").trim() || `column_${i}`);
      const dup = header.find((h, i) => header!.indexOf(h) !== i);
      if (dup !== undefined) {
        throw new ConfigValidationError(
          `${file}:${line}: the header names column ${JSON.stringify(dup)} twice`,
          {
            field: "inputs",
          },
        );
      }
      const wanted = opts.columns ?? null;
      keep = header.map((_, i) => i).filter((i) => wanted === null || wanted.includes(header![i]!));
      types = header.map((name) => columnType(name, opts));
      return;
    }
    if (fields.length !== header.length) {
      throw new ConfigValidationError(
        `${file}:${line}: expected ${header.length} fields as in the header, got ${fields.length}; ` +
          "quote fields that contain the delimiter",
        { field: "inputs" },
      );
    }
    rows.push(fields);
    lines.push(line);
    if (rows.length >= batchRows) {
      ready.push(buildBatch(file, header, types, keep, rows, lines, firstRow, pendingBytes));
      firstRow += rows.length;
      pendingBytes = 0;
      rows = [];
      lines = [];
    }
  };

  for await (const { text, bytes } of fileText(file, opts.signal)) {
    pendingBytes += bytes;
    try {
      parser.feed(text, onRecord);
    } catch (err) {
      throw withLine(err, file, parser.line);
    }
    while (ready.length > 0) yield ready.shift()!;
  }
  parser.end(onRecord);
  while (ready.length > 0) yield ready.shift()!;
  if (!header) return; // empty file: no rows
  if (rows.length > 0) yield buildBatch(file, header, types, keep, rows, lines, firstRow, pendingBytes);
}

function withLine(err: unknown, file: string, line: number): unknown {
  if (err instanceof ConfigValidationError) return err;
  return new ConfigValidationError(`${file}:${line}: ${(err as Error).message}`, {
    field: "inputs",
    cause: err,
  });
}

function columnType(name: string, opts: InputReadOptions): CsvColumnType {
  const given = opts.csv?.columnTypes?.[name];
  if (given !== undefined) {
    if (!["int64", "float64", "string", "binary", "bool"].includes(given)) {
      throw new ConfigValidationError(
        `csv.columnTypes.${name} is ${JSON.stringify(given)}; use int64, float64, string, binary or bool`,
        { field: `csv.columnTypes.${name}` },
      );
    }
    return given;
  }
  const encoding = opts.keyEncoding ?? "u64be";
  if (name === opts.keyCol && (encoding === "u64be" || encoding === "u32be")) return "int64";
  return "string";
}

function buildBatch(
  file: string,
  header: readonly string[],
  types: readonly CsvColumnType[],
  keep: readonly number[],
  rows: (string | null)[][],
  lines: number[],
  firstRow: number,
  bytes: number,
): InputBatch {
  const lineOf = Int32Array.from(lines);
  const columns: NamedColumn[] = keep.map((c) => ({
    name: header[c]!,
    data: buildCsvColumn(file, header[c]!, types[c]!, rows, c, lineOf),
  }));
  return {
    batch: makeBatch(columns, rows.length),
    file,
    firstRow,
    bytes,
    describeRow: (row) => `${file}:${lineOf[row] ?? "?"}`,
    columns: header,
  };
}

function buildCsvColumn(
  file: string,
  name: string,
  type: CsvColumnType,
  rows: (string | null)[][],
  c: number,
  lineOf: Int32Array,
): Data {
  const n = rows.length;
  const bad = (i: number, what: string): never => {
    throw new ConfigValidationError(
      `${file}:${lineOf[i]}: column ${JSON.stringify(name)}: ${JSON.stringify(rows[i]![c])} is not ${what}`,
      { field: "inputs" },
    );
  };
  switch (type) {
    case "string":
    case "binary": {
      const values = new Array<string | null>(n);
      for (let i = 0; i < n; i++) values[i] = rows[i]![c]!;
      return buildBytesColumn(values, type === "string" ? "utf8" : "binary");
    }
    case "int64": {
      const values = new Array<bigint | null>(n);
      for (let i = 0; i < n; i++) {
        const s = rows[i]![c]!;
        if (s === null) values[i] = null;
        else if (!INT_RE.test(s)) bad(i, "an integer");
        else values[i] = BigInt(s.trim());
      }
      try {
        return buildIntColumn(values);
      } catch (err) {
        throw new ConfigValidationError(
          `${file}: column ${JSON.stringify(name)} lines ${lineOf[0]}..${lineOf[n - 1]}: ${(err as Error).message}`,
          { field: "inputs" },
        );
      }
    }
    case "float64": {
      const values = new Array<number | null>(n);
      for (let i = 0; i < n; i++) {
        const s = rows[i]![c]!;
        if (s === null) values[i] = null;
        else values[i] = parseFloatField(s) ?? bad(i, "a number");
      }
      return buildFloatColumn(values);
    }
    case "bool": {
      const values = new Array<boolean | null>(n);
      for (let i = 0; i < n; i++) {
        const s = rows[i]![c]!;
        if (s === null) values[i] = null;
        else {
          const t = s.trim().toLowerCase();
          values[i] = TRUE.has(t) ? true : FALSE.has(t) ? false : bad(i, "a boolean (true/false)");
        }
      }
      return buildBoolColumn(values);
    }
  }
}
