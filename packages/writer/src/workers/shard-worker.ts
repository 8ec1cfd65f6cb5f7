/**
 * Worker-thread entry: a `ShardHost` fed with partitioned Arrow IPC batches by the build's main
 * thread. Messages are handled strictly in order; every batch is acknowledged (flow control).
 */
import type { KeyEncoding } from "@shardy/core";
import { getKernel, type Kernel, loadKernel } from "@shardy/kernel";
import { adapterFactoryFromConfig } from "../adapters/index.ts";
import type { WriterEvent } from "../events.ts";
import { ipcToBatches } from "../ipc.ts";
import { readOwnedRows } from "../owned-read.ts";
import { createWriteLimiters } from "../rate-limiter.ts";
import { ShardHost } from "../shard-host.ts";
import { shardResultToJson } from "../shard-result.ts";
import { openSnapshotLocation } from "../store.ts";
import { ValueSpec } from "../value-spec.ts";
import { errorToWire } from "./error-wire.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}

const scope = globalThis as unknown as WorkerScope;
const post = (message: FromWorker) => scope.postMessage(message);

let host: ShardHost | undefined;
let hostInit: { kernel: Kernel; keyCol: string; keyEncoding: KeyEncoding } | undefined;
const controller = new AbortController();
let queue: Promise<void> = Promise.resolve();
let failed = false;

async function init(msg: WorkerInit): Promise<void> {
  const location = openSnapshotLocation(msg.storage);
  const kernel = msg.kernelModule ? await loadKernel(msg.kernelModule) : await getKernel();
  hostInit = { kernel, keyCol: msg.keyCol, keyEncoding: msg.keyEncoding };
  const onEvent = msg.events ? (event: WriterEvent) => post({ type: "event", event }) : undefined;
  host = new ShardHost({
    target: { ...msg.target, store: location.store },
    keyCol: msg.keyCol,
    valueSpec: ValueSpec.fromWire(msg.valueSpec),
    keyEncoding: msg.keyEncoding,
    batchSize: msg.batchSize,
    adapters: adapterFactoryFromConfig(msg.adapter, { memoryBudgetBytes: msg.shardMemoryBytes }),
    kernel,
    limiters: createWriteLimiters(msg.rateLimits, { share: msg.rateShare, onThrottled: onEvent }),
    excludeColumn: msg.excludeColumn,
    retry: msg.retry,
    signal: controller.signal,
    onEvent,
  });
  post({ type: "ready" });
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case "init":
      await init(msg);
      return;
    case "batch": {
      if (!host) throw new Error("batch before init");
      const batches = ipcToBatches(msg.ipc, `batch ${msg.seq}`);
      if (batches.length !== 1)
        throw new Error(`batch ${msg.seq} holds ${batches.length} record batches, expected 1`);
      const batch = batches[0]!;
      for (const r of msg.ranges) {
        await host.write(r.dbId, msg.ranges.length === 1 ? batch : batch.slice(r.start, r.end));
      }
      post({ type: "ack", seq: msg.seq, bytes: msg.ipc.byteLength });
      return;
    }
    case "read": {
      if (!host || !hostInit) throw new Error("read before init");
      const rows = await readOwnedRows(msg.plan, { ...hostInit, host, signal: controller.signal });
      post({ type: "read-done", rows });
      return;
    }
    case "end": {
      if (!host) throw new Error("end before init");
      await host.finishAll((result) => post({ type: "result", result: shardResultToJson(result) }));
      post({ type: "done" });
      return;
    }
    case "abort":
      return;
  }
}

scope.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  if (msg.type === "abort") {
    controller.abort(new DOMException("build aborted", "AbortError"));
    queue = queue.then(async () => {
      await host?.abortAll();
      post({ type: "aborted" });
    });
    return;
  }
  queue = queue.then(async () => {
    if (failed) {
      // After the first error only acknowledgements flow, so the main thread never waits forever.
      if (msg.type === "batch") post({ type: "ack", seq: msg.seq, bytes: msg.ipc.byteLength });
      return;
    }
    try {
      await handle(msg);
    } catch (err) {
      failed = true;
      if (msg.type === "batch") post({ type: "ack", seq: msg.seq, bytes: msg.ipc.byteLength });
      await host?.abortAll().catch(() => {});
      post({ type: "error", error: errorToWire(err) });
    }
  });
};
