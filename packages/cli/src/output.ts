/**
 * Output records (reference `cli/output.py`): every command prints one record with an `op` field;
 * `json` indents by 2, `jsonl` prints it on one line, `table` renders its row list (results,
 * shards, manifests...) or its fields as an aligned table, `text` prints the bare answer.
 * Errors go to stderr as `{"op", "error", "key"?}`.
 */

import { encodeValue } from "@shardy/reader";
import type { CliIo } from "./io.ts";
import { toJson } from "./json.ts";
import type { OutputSettings } from "./settings.ts";

export { encodeValue };

export type OutputRecord = { op: string } & Record<string, unknown>;

/** Row lists a record may carry, in the order they are looked for. */
const ROW_LISTS = ["results", "shards", "manifests", "deleted"] as const;

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  return toJson(value);
}

export function renderTable(rows: ReadonlyArray<Record<string, unknown>>): string {
  if (rows.length === 0) return "(none)\n";
  const columns: string[] = [];
  for (const row of rows) for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
  const cells = rows.map((row) => columns.map((c) => cell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)];
  return `${out.join("\n")}\n`;
}

function rowsOf(record: OutputRecord): Array<Record<string, unknown>> | undefined {
  for (const key of ROW_LISTS) {
    const v = record[key];
    if (Array.isArray(v)) return v as Array<Record<string, unknown>>;
  }
  return undefined;
}

function fieldsTable(record: OutputRecord): string {
  const entries = Object.entries(record).filter(([, v]) => v !== undefined && !Array.isArray(v));
  const width = Math.max(...entries.map(([k]) => k.length));
  return `${entries.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join("\n")}\n`;
}

function renderText(record: OutputRecord, nullRepr: string): string {
  switch (record.op) {
    case "get":
      return `${record.found ? String(record.value) : nullRepr}\n`;
    case "multiget":
      return (record.results as Array<Record<string, unknown>>)
        .map((r) => `${r.key}\t${r.found ? r.value : nullRepr}\n`)
        .join("");
    case "route":
      return `${record.db_id}\n`;
    case "health":
      return `${record.status}\n`;
  }
  const rows = rowsOf(record);
  if (rows) return rows.map((r) => `${Object.values(r).map(cell).join("\t")}\n`).join("");
  return Object.entries(record)
    .filter(([k, v]) => k !== "op" && v !== undefined)
    .map(([k, v]) => `${k}: ${cell(v)}\n`)
    .join("");
}

export function formatRecord(record: OutputRecord, output: OutputSettings): string {
  switch (output.format) {
    case "json":
      return `${toJson(record, 2)}\n`;
    case "jsonl":
      return `${toJson(record)}\n`;
    case "table": {
      const rows = rowsOf(record);
      if (!rows) return fieldsTable(record);
      const rest = Object.fromEntries(
        Object.entries(record).filter(([, v]) => !Array.isArray(v)),
      ) as OutputRecord;
      const head = Object.keys(rest).length > 1 ? `${fieldsTable(rest)}\n` : "";
      return head + renderTable(rows);
    }
    case "text":
      return renderText(record, output.nullRepr);
  }
}

export class Printer {
  constructor(
    private readonly io: CliIo,
    readonly output: OutputSettings,
  ) {}

  print(record: OutputRecord): void {
    this.io.stdout(formatRecord(record, this.output));
  }

  value(value: Uint8Array): string {
    return encodeValue(value, this.output.valueEncoding);
  }

  warn(message: string): void {
    this.io.stderr(`shardy: warning: ${message}\n`);
  }

  error(op: string, err: unknown, extra: Record<string, unknown> = {}): void {
    const message = err instanceof Error ? err.message : String(err);
    const type = err instanceof Error ? err.name : "Error";
    if (this.output.format === "json" || this.output.format === "jsonl") {
      const record = { op, error: message, error_type: type, ...extra };
      this.io.stderr(`${toJson(record, this.output.format === "json" ? 2 : 0)}\n`);
    } else {
      this.io.stderr(`shardy ${op}: ${type}: ${message}\n`);
    }
  }
}
