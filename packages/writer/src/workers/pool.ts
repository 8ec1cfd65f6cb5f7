/**
 * Main-thread side of the shard-writer workers: the caller decides which worker owns a shard;
 * partitioned batches travel as Arrow IPC bytes whose buffer is transferred (not copied). Each worker's
 * unacknowledged bytes are capped, so a slow worker slows the reader instead of filling memory.
 */
import { ShardyError } from "@shardy/errors";
import type { RecordBatch } from "apache-arrow";
import { emit, type WriterEventListener } from "../events.ts";
import { batchToIpc } from "../ipc.ts";
import type { OwnedReadPlan } from "../owned-read.ts";
import type { ShardRange } from "../partition.ts";
import { type ShardResult, shardResultFromJson } from "../shard-result.ts";
import { errorFromWire } from "./error-wire.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.ts";

export const DEFAULT_WORKER_URL = new URL("./shard-worker.ts", import.meta.url);

export interface WorkerPoolOptions {
  workers: number;
  init: Omit<WorkerInit, "type" | "workerIndex">;
  /** Unacknowledged bytes per worker before `send` waits. Default 32 MiB. */
  maxInFlightBytes?: number;
  /** Worker script; default `shard-worker.ts` next to this module (a compiled CLI passes its own). */
  workerUrl?: string | URL;
  onEvent?: WriterEventListener;
  onResult?: (result: ShardResult) => void;
}

interface Slot {
  worker: Worker;
  index: number;
  inFlight: number;
  waiters: (() => void)[];
  done: Promise<void>;
  resolveDone: () => void;
  ready: Promise<void>;
  error: Error | undefined;
  aborted: Promise<void>;
  /** Resolves with the rows the worker read when it finished a `read` (see `startRead`). */
  readDone: Promise<number>;
  resolveReadDone: (rows: number) => void;
}

export class WorkerPool {
  readonly #slots: Slot[];
  readonly #max: number;
  readonly #results: ShardResult[] = [];
  readonly #options: WorkerPoolOptions;
  #seq = 0;
  #firstError: Error | undefined;
  #failWaiters: (() => void)[] = [];

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#max = options.maxInFlightBytes ?? 32 * 1024 * 1024;
    const url = options.workerUrl ?? DEFAULT_WORKER_URL;
    this.#slots = Array.from({ length: Math.max(1, options.workers) }, (_, index) => this.#spawn(url, index));
  }

  #spawn(url: string | URL, index: number): Slot {
    // `smol` (Bun): a smaller heap that collects sooner; the workers' buffers are bounded anyway.
    const worker = new Worker(url, { type: "module", smol: true } as WorkerOptions);
    let resolveDone!: () => void;
    let resolveReady!: () => void;
    let resolveAborted!: () => void;
    let resolveReadDone!: (rows: number) => void;
    const slot: Slot = {
      worker,
      index,
      inFlight: 0,
      waiters: [],
      done: new Promise<void>((r) => {
        resolveDone = r;
      }),
      resolveDone: () => resolveDone(),
      ready: new Promise<void>((r) => {
        resolveReady = r;
      }),
      error: undefined,
      aborted: new Promise<void>((r) => {
        resolveAborted = r;
      }),
      readDone: new Promise<number>((r) => {
        resolveReadDone = r;
      }),
      resolveReadDone: (rows) => resolveReadDone(rows),
    };
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const msg = event.data;
      switch (msg.type) {
        case "ready":
          resolveReady();
          break;
        case "ack":
          slot.inFlight -= msg.bytes;
          for (const w of slot.waiters.splice(0)) w();
          break;
        case "read-done":
          slot.resolveReadDone(msg.rows);
          break;
        case "result": {
          const result = shardResultFromJson(msg.result);
          this.#results.push(result);
          this.#options.onResult?.(result);
          break;
        }
        case "event":
          emit(this.#options.onEvent, msg.event);
          break;
        case "error":
          this.#fail(slot, errorFromWire(msg.error, `shard writer worker ${index}`));
          break;
        case "done":
          slot.resolveDone();
          break;
        case "aborted":
          resolveAborted();
          break;
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault?.();
      this.#fail(
        slot,
        new ShardyError(
          `shard writer worker ${index} crashed: ${event.message || "unknown error"}; ` +
            "rerun with workers: 0 to write shards in-process and see the full stack",
        ),
      );
    };
    const init: ToWorker = { type: "init", workerIndex: index, ...this.#options.init };
    worker.postMessage(init);
    return slot;
  }

  #fail(slot: Slot, error: Error): void {
    slot.error ??= error;
    this.#firstError ??= error;
    slot.inFlight = 0;
    for (const w of slot.waiters.splice(0)) w();
    slot.resolveDone();
    for (const w of this.#failWaiters.splice(0)) w();
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Resolves when every worker has initialised (or rejects with the first failure). */
  async ready(): Promise<void> {
    await Promise.race([Promise.all(this.#slots.map((s) => s.ready)), this.#failure()]);
    if (this.#firstError) throw this.#firstError;
  }

  #failure(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#firstError) resolve();
      else this.#failWaiters.push(resolve);
    });
  }

  /**
   * Sends worker `index` the rows `ranges` of `batch` (one message, the buffer transferred), waiting
   * while that worker is too far behind. `ranges` are row ranges of `batch`, one per shard.
   */
  async send(index: number, batch: RecordBatch, ranges: readonly ShardRange[]): Promise<void> {
    if (this.#firstError) throw this.#firstError;
    const slot = this.#slots[index];
    if (!slot) throw new RangeError(`no worker ${index} (pool of ${this.#slots.length})`);
    while (slot.inFlight > this.#max && !this.#firstError) {
      await new Promise<void>((resolve) => slot.waiters.push(resolve));
    }
    if (this.#firstError) throw this.#firstError;
    const start = ranges[0]!.start;
    const end = ranges[ranges.length - 1]!.end;
    const whole = start === 0 && end === batch.numRows;
    const ipc = batchToIpc(whole ? batch : batch.slice(start, end));
    slot.inFlight += ipc.byteLength;
    const msg: ToWorker = {
      type: "batch",
      seq: this.#seq++,
      ranges: ranges.map((r) => ({ dbId: r.dbId, start: r.start - start, end: r.end - start })),
      ipc,
    };
    slot.worker.postMessage(msg, [ipc.buffer as ArrayBuffer]);
  }

  /** Throws the first worker failure, if any (a reader that does not `send` polls this). */
  throwIfFailed(): void {
    if (this.#firstError) throw this.#firstError;
  }

  /**
   * Has every worker read the input itself (`planFor(index)`) instead of receiving `send`s. A
   * worker handles messages in order, so a later `finish` seals after its read.
   */
  startRead(planFor: (index: number) => OwnedReadPlan): void {
    this.throwIfFailed();
    for (const slot of this.#slots) {
      slot.worker.postMessage({ type: "read", plan: planFor(slot.index) } satisfies ToWorker);
    }
  }

  /** Rows each worker read in its `startRead` (rejects with the first failure). */
  async readsDone(): Promise<number[]> {
    const rows = await Promise.race([Promise.all(this.#slots.map((s) => s.readDone)), this.#failure()]);
    this.throwIfFailed();
    return rows as number[];
  }

  /** Ends the input: workers seal their shards; resolves with every shard result. */
  async finish(): Promise<ShardResult[]> {
    if (this.#firstError) throw this.#firstError;
    for (const slot of this.#slots) slot.worker.postMessage({ type: "end" } satisfies ToWorker);
    await Promise.all(this.#slots.map((s) => s.done));
    if (this.#firstError) throw this.#firstError;
    return [...this.#results].sort((a, b) => a.dbId - b.dbId);
  }

  /** Asks workers to drop their attempts (local files and uploads), then stops them. */
  async abort(): Promise<void> {
    for (const slot of this.#slots) slot.worker.postMessage({ type: "abort" } satisfies ToWorker);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 30_000);
    });
    await Promise.race([Promise.all(this.#slots.map((s) => s.aborted)), timeout]);
    clearTimeout(timer);
    this.terminate();
  }

  /** Stops the workers; anything still waiting on one (a `finish`, a `send`) fails instead of hanging. */
  terminate(): void {
    for (const slot of this.#slots) {
      slot.worker.terminate();
      this.#fail(slot, new ShardyError(`shard writer worker ${slot.index} was stopped before it finished`));
    }
  }
}
