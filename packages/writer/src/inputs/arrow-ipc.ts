/** Arrow IPC input: the file format (`.arrow`, `.feather` v2) or the stream format (`.arrows`). */
import { statSync } from "node:fs";
import { ConfigValidationError } from "@shardy/errors";
import { type Data, type RecordBatch, RecordBatchReader } from "apache-arrow";
import { IpcReadError, ipcMessageChunks } from "./ipc-messages.ts";
import { DEFAULT_BATCH_ROWS, type InputBatch, type InputReadOptions, type InputSource } from "./types.ts";

export function arrowSource(file: string): InputSource {
  return {
    file,
    format: "arrow",
    size: statSync(file).size,
    read: (opts) => readArrow(file, opts),
    async countRows(opts) {
      let rows = 0;
      for await (const b of readArrow(file, opts)) rows += b.batch.numRows;
      return rows;
    },
  };
}

function malformed(file: string, where: string, cause: unknown): ConfigValidationError {
  const place = cause instanceof IpcReadError ? cause.where : where;
  return new ConfigValidationError(
    `${file}: not a readable Arrow IPC file or stream (${place}): ${(cause as Error)?.message ?? String(cause)}`,
    { field: "inputs", cause },
  );
}

async function* readArrow(file: string, opts: InputReadOptions): AsyncGenerator<InputBatch> {
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  let reader: RecordBatchReader;
  try {
    // A synchronous byte source gives a synchronous reader.
    reader = RecordBatchReader.from(
      ipcMessageChunks(file, { reuseBuffers: opts.reuseBuffers }),
    ).open() as RecordBatchReader;
  } catch (cause) {
    throw malformed(file, "header", cause);
  }
  try {
    let firstRow = 0;
    let index = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      let next: IteratorResult<RecordBatch>;
      try {
        next = reader.next() as IteratorResult<RecordBatch>;
      } catch (cause) {
        throw malformed(file, `record batch ${index}`, cause);
      }
      if (next.done) break;
      const columns = next.value.schema.fields.map((f) => f.name);
      const full = project(next.value, opts.columns ?? null);
      const batchIndex = index++;
      if (full.numRows === 0) continue;
      const bytesPerRow = batchByteLength(full) / full.numRows;
      // Large producer batches are cut so downstream work units stay small.
      for (let start = 0; start < full.numRows; start += batchRows) {
        const batch = full.numRows <= batchRows ? full : full.slice(start, start + batchRows);
        const base = firstRow;
        yield {
          batch,
          file,
          firstRow: base,
          bytes: Math.round(bytesPerRow * batch.numRows),
          describeRow: (row) => `row ${base + row} of ${file} (record batch ${batchIndex})`,
          columns,
        };
        firstRow += batch.numRows;
      }
    }
  } finally {
    reader.cancel();
  }
}

/** Keeps only the requested columns (those present; the caller reports missing ones). */
function project(batch: RecordBatch, columns: readonly string[] | null): RecordBatch {
  if (columns === null) return batch;
  const names = batch.schema.fields.map((f) => f.name).filter((n) => columns.includes(n));
  if (names.length === batch.schema.fields.length) return batch;
  return batch.select(names);
}

/** Bytes of a batch's buffers: close to its IPC size, for progress. */
function batchByteLength(batch: RecordBatch): number {
  let total = 0;
  const visit = (data: Data) => {
    for (const b of [data.values, data.valueOffsets, data.nullBitmap] as (ArrayBufferView | undefined)[]) {
      if (b) total += b.byteLength;
    }
    for (const child of data.children) visit(child);
  };
  for (const child of batch.data.children) visit(child);
  return total;
}
