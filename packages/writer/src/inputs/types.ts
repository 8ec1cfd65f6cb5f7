import type { KeyEncoding } from "@shardy/core";
import type { RecordBatch } from "apache-arrow";

export type InputFormat = "parquet" | "csv" | "ndjson" | "arrow";

export const INPUT_FORMATS: readonly InputFormat[] = ["parquet", "csv", "ndjson", "arrow"];

/** One record batch of one input file, with what is needed to name its rows in errors. */
export interface InputBatch {
  batch: RecordBatch;
  file: string;
  /** Index (0-based, within the file) of the batch's first row. */
  firstRow: number;
  /** Human name of batch row `row`: `data.csv:17`, `row 12 of data.parquet (row group 0)`. */
  describeRow(row: number): string;
  /** Bytes of input this batch consumed (for progress). */
  bytes: number;
  /** Every column of the input (before projection to the columns the build reads), for messages. */
  columns?: readonly string[];
}

export type CsvColumnType = "int64" | "float64" | "string" | "binary" | "bool";

export interface CsvOptions {
  /** Field delimiter; default `,` (`\t` for `.tsv` files). */
  delimiter?: string;
  /**
   * Types of columns; others are strings. Default: the key column is `int64` when the key
   * encoding is u64be/u32be, else a string.
   */
  columnTypes?: Record<string, CsvColumnType>;
}

export interface InputReadOptions {
  /** Columns to read; `null`/absent: all. Readers that can skip columns (Parquet) do. */
  columns?: readonly string[] | null;
  /** Target rows per batch (default 65 536). Parquet batches never span row groups. */
  batchRows?: number;
  keyCol?: string;
  keyEncoding?: KeyEncoding;
  csv?: CsvOptions;
  signal?: AbortSignal;
  /**
   * The reader may reuse a batch's memory once the next batch is requested (Arrow IPC files:
   * fresh memory per batch costs more CPU in page faults than reading the bytes). Only for a
   * consumer that copies whatever it keeps before it asks for more.
   */
  reuseBuffers?: boolean;
}

export interface InputSource {
  readonly file: string;
  readonly format: InputFormat;
  /** Size in bytes, for progress and ETA. */
  readonly size: number;
  read(options: InputReadOptions): AsyncIterable<InputBatch>;
  /** Rows in the file; cheap for Parquet and Arrow files (metadata), a scan for text formats. */
  countRows(options: InputReadOptions): Promise<number>;
}

export const DEFAULT_BATCH_ROWS = 65_536;
