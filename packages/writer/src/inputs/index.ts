import { ConfigValidationError } from "@shardy/errors";
import { arrowSource } from "./arrow-ipc.ts";
import { csvSource } from "./csv.ts";
import { expandInputs } from "./glob.ts";
import { ndjsonSource } from "./ndjson.ts";
import { parquetSource } from "./parquet.ts";
import { INPUT_FORMATS, type InputFormat, type InputSource } from "./types.ts";

export { arrowSource } from "./arrow-ipc.ts";
export { buildBytesColumn, buildIntColumn, makeBatch } from "./columns.ts";
export { CsvParser, csvSource } from "./csv.ts";
export { expandGlob, expandInputs, hasGlobMagic } from "./glob.ts";
export { ndjsonSource } from "./ndjson.ts";
export { parquetSource } from "./parquet.ts";
export * from "./types.ts";

const EXTENSIONS: Record<string, InputFormat> = {
  parquet: "parquet",
  pq: "parquet",
  csv: "csv",
  tsv: "csv",
  ndjson: "ndjson",
  jsonl: "ndjson",
  json: "ndjson",
  arrow: "arrow",
  arrows: "arrow",
  ipc: "arrow",
  feather: "arrow",
};

/** The format a file name implies, or `undefined`. */
export function formatOfFile(file: string): InputFormat | undefined {
  const dot = file.lastIndexOf(".");
  return dot < 0 ? undefined : EXTENSIONS[file.slice(dot + 1).toLowerCase()];
}

export function sourceFor(file: string, format: InputFormat): InputSource {
  switch (format) {
    case "parquet":
      return parquetSource(file);
    case "csv":
      return csvSource(file);
    case "ndjson":
      return ndjsonSource(file);
    case "arrow":
      return arrowSource(file);
  }
}

/**
 * Input files (paths or globs) as sources. `format` applies to every file; without it each file's
 * extension decides (.parquet/.pq, .csv/.tsv, .ndjson/.jsonl/.json, .arrow/.arrows/.ipc/.feather).
 */
export function openInputs(
  patterns: readonly string[],
  options: { format?: InputFormat; cwd?: string } = {},
): InputSource[] {
  if (options.format !== undefined && !INPUT_FORMATS.includes(options.format)) {
    throw new ConfigValidationError(
      `unknown input format ${JSON.stringify(options.format)}; use one of ${INPUT_FORMATS.join(", ")}`,
      { field: "format" },
    );
  }
  return expandInputs(patterns, options.cwd).map((file) => {
    const format = options.format ?? formatOfFile(file);
    if (format === undefined) {
      throw new ConfigValidationError(
        `cannot tell the format of ${file} from its extension; pass format (${INPUT_FORMATS.join(", ")})`,
        { field: "format" },
      );
    }
    return sourceFor(file, format);
  });
}
