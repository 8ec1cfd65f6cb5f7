/**
 * A fault-injecting wrapper for tests (the SlateDB/RocksDB testing style): rules fail a call
 * before it reaches the inner store, lose the response after the inner store applied it, or add
 * latency. Rules pick calls by occurrence (`nth`) or by a seeded coin (`probability`), so a run
 * with the same seed and call order injects the same faults. Every call is logged in `calls`.
 */
import { S3TransientError } from "@shardy/errors";
import { sleep } from "./streams.ts";
import type {
  ByteRange,
  GetResult,
  ListOptions,
  ListResult,
  ObjectMeta,
  ObjectStore,
  PutOptions,
  PutResult,
  StoreCapabilities,
} from "./types.ts";

export type StoreOp = "get" | "getRange" | "head" | "put" | "putStream" | "list" | "delete" | "deletePrefix";

export type FaultAction =
  /** Throw before the inner store sees the call (nothing applied). */
  | { type: "fail"; error?: (call: CallRecord) => Error }
  /** Let the inner store apply the call, then throw as if the response was lost. */
  | { type: "loseResponse"; error?: (call: CallRecord) => Error }
  /** Delay the call by `ms` plus a seeded random `[0, jitterMs)`. */
  | { type: "latency"; ms: number; jitterMs?: number };

export interface FaultRule {
  op: StoreOp | readonly StoreOp[] | "*";
  /** Only calls whose key (or listed/deleted prefix) starts with this. */
  keyPrefix?: string;
  /** Fire on these 1-based occurrences among the calls this rule matches. */
  nth?: number | readonly number[];
  /** Without `nth`: fire with this probability, drawn from the seeded generator. Default 1. */
  probability?: number;
  /** Fire at most this many times. */
  times?: number;
  action: FaultAction;
}

export interface CallRecord {
  /** 1-based position in the call log. */
  seq: number;
  op: StoreOp;
  key: string;
  /** Faults injected into this call, in the order applied. */
  faults: FaultAction["type"][];
  outcome: "pending" | "ok" | "error";
  error?: string;
}

export interface FaultyStoreOptions {
  /** Seed of the generator behind `probability` and `jitterMs`. Default 1. */
  seed?: number;
  rules?: readonly FaultRule[];
}

interface RuleState {
  rule: FaultRule;
  matched: number;
  fired: number;
}

export class FaultyStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly calls: CallRecord[] = [];
  readonly #random: () => number;
  #rules: RuleState[] = [];

  constructor(inner: ObjectStore, options: FaultyStoreOptions = {}) {
    this.inner = inner;
    this.#random = mulberry32(options.seed ?? 1);
    for (const rule of options.rules ?? []) this.addRule(rule);
  }

  get baseUrl(): string {
    return this.inner.baseUrl;
  }

  get capabilities(): StoreCapabilities {
    return this.inner.capabilities;
  }

  addRule(rule: FaultRule): this {
    this.#rules.push({ rule, matched: 0, fired: 0 });
    return this;
  }

  clearRules(): this {
    this.#rules = [];
    return this;
  }

  /** Calls of `op` in the log (all ops without an argument). */
  callsOf(op?: StoreOp): CallRecord[] {
    return op ? this.calls.filter((c) => c.op === op) : [...this.calls];
  }

  get(key: string, options?: { signal?: AbortSignal }): Promise<GetResult | undefined> {
    return this.#run("get", key, options?.signal, () => this.inner.get(key, options));
  }

  getRange(key: string, range: ByteRange, options?: { signal?: AbortSignal }): Promise<Uint8Array> {
    return this.#run("getRange", key, options?.signal, () => this.inner.getRange(key, range, options));
  }

  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectMeta | undefined> {
    return this.#run("head", key, options?.signal, () => this.inner.head(key, options));
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult> {
    return this.#run("put", key, options?.signal, () => this.inner.put(key, body, options));
  }

  putStream(
    key: string,
    body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    options?: { contentType?: string; signal?: AbortSignal },
  ): Promise<PutResult> {
    return this.#run("putStream", key, options?.signal, () => this.inner.putStream(key, body, options));
  }

  list(prefix: string, options?: ListOptions): Promise<ListResult> {
    return this.#run("list", prefix, options?.signal, () => this.inner.list(prefix, options));
  }

  delete(key: string): Promise<void> {
    return this.#run("delete", key, undefined, () => this.inner.delete(key));
  }

  deletePrefix(prefix: string, options?: { signal?: AbortSignal }): Promise<number> {
    return this.#run("deletePrefix", prefix, options?.signal, () => this.inner.deletePrefix(prefix, options));
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  async #run<T>(
    op: StoreOp,
    key: string,
    signal: AbortSignal | undefined,
    apply: () => Promise<T>,
  ): Promise<T> {
    const call: CallRecord = { seq: this.calls.length + 1, op, key, faults: [], outcome: "pending" };
    this.calls.push(call);
    const actions = this.#firing(op, key);
    try {
      for (const action of actions) {
        if (action.type !== "latency") continue;
        call.faults.push("latency");
        await sleep(action.ms + (action.jitterMs ? this.#random() * action.jitterMs : 0), signal);
      }
      const fail = actions.find((a) => a.type === "fail");
      if (fail) {
        call.faults.push("fail");
        throw fail.error?.(call) ?? injected(call, "failed before it was applied");
      }
      const result = await apply();
      const lose = actions.find((a) => a.type === "loseResponse");
      if (lose) {
        call.faults.push("loseResponse");
        throw lose.error?.(call) ?? injected(call, "was applied but its response was lost");
      }
      call.outcome = "ok";
      return result;
    } catch (err) {
      call.outcome = "error";
      call.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw err;
    }
  }

  /** Advances every matching rule's counters and returns the actions that fire for this call. */
  #firing(op: StoreOp, key: string): FaultAction[] {
    const actions: FaultAction[] = [];
    for (const state of this.#rules) {
      const { rule } = state;
      if (!opMatches(rule.op, op) || (rule.keyPrefix !== undefined && !key.startsWith(rule.keyPrefix)))
        continue;
      state.matched++;
      if (rule.times !== undefined && state.fired >= rule.times) continue;
      let fires: boolean;
      if (rule.nth !== undefined) {
        fires = typeof rule.nth === "number" ? rule.nth === state.matched : rule.nth.includes(state.matched);
      } else {
        fires = rule.probability === undefined || this.#random() < rule.probability;
      }
      if (!fires) continue;
      state.fired++;
      actions.push(rule.action);
    }
    return actions;
  }
}

function opMatches(pattern: FaultRule["op"], op: StoreOp): boolean {
  if (pattern === "*") return true;
  return typeof pattern === "string" ? pattern === op : pattern.includes(op);
}

function injected(call: CallRecord, what: string): S3TransientError {
  return new S3TransientError(
    `injected fault: ${call.op} #${call.seq} of ${JSON.stringify(call.key)} ${what} (FaultyStore)`,
  );
}

/** Small, fast, seedable 32-bit generator; quality is ample for fault schedules. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
