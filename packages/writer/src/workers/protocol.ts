/** Messages between the build's main thread and its shard-writer workers. */
import type {
  AdapterFactoryConfig,
  KeyEncoding,
  KvWriteRateLimitConfig,
  RetryConfig,
  WriterStorageConfig,
} from "@shardy/core";
import type { WriterEvent } from "../events.ts";
import type { OwnedReadPlan } from "../owned-read.ts";
import type { ValueSpecWire } from "../value-spec.ts";
import type { WireError } from "./error-wire.ts";

export interface WorkerInit {
  type: "init";
  workerIndex: number;
  storage: WriterStorageConfig;
  target: { s3Prefix: string; runId: string; shardPrefix: string; dbPathTemplate: string; localRoot: string };
  keyCol: string;
  valueSpec: ValueSpecWire;
  keyEncoding: KeyEncoding;
  batchSize: number;
  adapter: AdapterFactoryConfig;
  /** Buffer budget of each shard writer in this worker (bytes). */
  shardMemoryBytes: number;
  retry: RetryConfig | null;
  rateLimits: KvWriteRateLimitConfig;
  /** Workers sharing the rate limits (each takes an equal part). */
  rateShare: number;
  excludeColumn?: string;
  /** Forward metrics events (costs a message each). */
  events: boolean;
  /** The compiled routing kernel, so workers need not find the wasm file (compiled executables). */
  kernelModule?: WebAssembly.Module;
}

export type ToWorker =
  | WorkerInit
  /** Rows of several shards: `ranges` index into the one record batch in `ipc`. */
  | { type: "batch"; seq: number; ranges: { dbId: number; start: number; end: number }[]; ipc: Uint8Array }
  /** Read the input files directly and keep this worker's shards (instead of `batch` messages). */
  | { type: "read"; plan: OwnedReadPlan }
  | { type: "end" }
  | { type: "abort" };

export type FromWorker =
  | { type: "ready" }
  | { type: "ack"; seq: number; bytes: number }
  /** A `read` finished: every row of the input was read and this worker's rows written. */
  | { type: "read-done"; rows: number }
  | { type: "result"; result: string }
  | { type: "event"; event: WriterEvent }
  | { type: "error"; error: WireError }
  | { type: "done" }
  | { type: "aborted" };
