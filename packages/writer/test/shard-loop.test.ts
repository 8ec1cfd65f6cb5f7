import { afterAll, describe, expect, test } from "bun:test";
import { ConfigValidationError, ShardAssignmentError, ShardWriteError } from "@shardy/errors";
import { getKernel } from "@shardy/kernel";
import { MemoryStore } from "@shardy/store";
import { Binary, Int64, type RecordBatch, Table, Utf8, vectorFromArray } from "apache-arrow";
import {
  type Clock,
  createWriteLimiters,
  type ShardAdapterFactory,
  type ShardResult,
  type ShardTarget,
  type ShardWriteOptions,
  shardResultFromJson,
  shardResultToJson,
  sqliteAdapterFactory,
  ValueSpec,
  type WriterEvent,
  writeShardAttempt,
  writeShardWithRetry,
} from "../src/index.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

function target(label: string): ShardTarget {
  return {
    store: new MemoryStore(`loop-${label}-${crypto.randomUUID()}`),
    s3Prefix: `memory://unused/p`,
    runId: "r1",
    shardPrefix: "shards",
    dbPathTemplate: "db={db_id:05d}",
    localRoot: tempDir(`loop-${label}`),
  };
}

function fixTarget(t: ShardTarget): ShardTarget {
  return { ...t, s3Prefix: `${t.store.baseUrl}/p` };
}

function intBatch(keys: readonly bigint[], tag = "v"): RecordBatch {
  return new Table({
    id: vectorFromArray(keys, new Int64()),
    v: vectorFromArray(
      keys.map((k) => `${tag}${k}`),
      new Utf8(),
    ),
  }).batches[0]!;
}

function options(
  label: string,
  extra: Partial<ShardWriteOptions> = {},
): ShardWriteOptions & { events: WriterEvent[] } {
  const events: WriterEvent[] = [];
  return {
    target: fixTarget(target(label)),
    dbId: 0,
    keyCol: "id",
    valueSpec: ValueSpec.binaryCol("v"),
    keyEncoding: "u64be",
    batchSize: 3,
    adapters: sqliteAdapterFactory({ emit_sidecar: false }),
    onEvent: (e) => events.push(e),
    events,
    ...extra,
  };
}

function fakeClock(): Clock & { sleeps: number[]; t: number } {
  const c = {
    t: 0,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms;
    },
  };
  return c;
}

/** Wraps a factory so `seal` throws `error(n)` on the n-th opened adapter while it returns one. */
function failingFactory(
  inner: ShardAdapterFactory,
  error: (n: number) => Error | undefined,
): ShardAdapterFactory {
  let opened = 0;
  return {
    ...inner,
    async open(o) {
      const n = opened++;
      const adapter = await inner.open(o);
      return {
        ...adapter,
        async seal() {
          const err = error(n);
          if (err) throw err;
          return adapter.seal();
        },
      };
    },
  };
}

describe("one attempt", () => {
  test("writes batch_size batches across record batches, reports logical min/max and counts", async () => {
    const o = options("batches");
    const keys = [5n, 1n, 9n, 3n, 7n, 2n, 8n, 0n, 6n, 4n];
    const result = await writeShardAttempt(o, 0, [intBatch(keys.slice(0, 5)), intBatch(keys.slice(5))]);
    const sizes = o.events.flatMap((e) => (e.event === "write.batch_written" ? [e.batch_size] : []));
    expect(sizes).toEqual([3, 3, 3, 1]);
    expect(result.rowCount).toBe(10);
    expect(result.minKey).toBe(0n);
    expect(result.maxKey).toBe(9n);
    expect(result.dbUrl).toBe(`${o.target.s3Prefix}/shards/run_id=r1/db=00000/attempt=00`);
    expect(result.checkpointId).toMatch(/^[0-9a-f]{32}$/);
    expect(result.checksum).toMatch(/^xxh3_128:[0-9a-f]{32}$/);
    expect(result.allAttemptUrls).toEqual([result.dbUrl!]);
    expect(result.backend.kind).toBe("sqlite");
    const stored = await o.target.store.head("p/shards/run_id=r1/db=00000/attempt=00/shard.db");
    expect(stored?.size).toBe(result.dbBytes);
    expect(o.events.map((e) => e.event)).toContain("write.shard.completed");
  });

  test("rate limits throttle each flushed batch without hanging on a batch above the rate", async () => {
    const clock = fakeClock();
    const throttled: WriterEvent[] = [];
    const o = options("rate", {
      batchSize: 4,
      limiters: createWriteLimiters(
        { max_writes_per_second: 2, max_write_bytes_per_second: null },
        { clock, onThrottled: (e) => throttled.push(e) },
      ),
    });
    const result = await writeShardAttempt(o, 0, [intBatch([1n, 2n, 3n, 4n, 5n, 6n])]);
    expect(result.rowCount).toBe(6);
    // 4 rows at 2/s from a full bucket: one refill of 1 s; then 2 rows: another 1 s.
    expect(clock.sleeps).toEqual([1000, 1000]);
    expect(throttled.length).toBe(2);
  });

  test("a shard that receives no rows writes nothing and reports db_url null", async () => {
    const o = options("empty");
    const result = await writeShardAttempt(o, 0, []);
    expect(result.dbUrl).toBeNull();
    expect(result.rowCount).toBe(0);
    expect(result.allAttemptUrls).toEqual([]);
    expect((await o.target.store.list("")).objects).toEqual([]);
  });

  test("routing verification rejects a row that belongs to another shard and leaves nothing behind", async () => {
    const kernel = await getKernel();
    const o = options("verify", { batchSize: 1, verifyRouting: { numDbs: 3 } });
    // Smoke data: key 4 routes to shard 0, key 2 to shard 1.
    expect(kernel.routeKey(4n, 3)).toBe(0);
    await expect(writeShardAttempt(o, 0, [intBatch([4n]), intBatch([2n])])).rejects.toThrow(
      ShardAssignmentError,
    );
    expect((await o.target.store.list("")).objects).toEqual([]);
  });

  test("key type changing between batches is a ConfigValidationError", async () => {
    const o = options("mixed", { keyEncoding: "utf8" });
    const strings = new Table({
      id: vectorFromArray(["a"], new Utf8()),
      v: vectorFromArray(["x"], new Utf8()),
    }).batches[0]!;
    const bytes = new Table({
      id: vectorFromArray([new Uint8Array([1])], new Binary()),
      v: vectorFromArray(["y"], new Utf8()),
    }).batches[0]!;
    await expect(writeShardAttempt(o, 0, [strings, bytes])).rejects.toThrow(
      /changed from string to bytes keys/,
    );
  });
});

describe("retries (shard_retry)", () => {
  test("a failing adapter is retried under a new attempt URL after the backoff", async () => {
    const clock = fakeClock();
    const base = options("retry");
    const o = {
      ...base,
      adapters: failingFactory(base.adapters, (n) =>
        n === 0 ? new ShardWriteError("injected seal failure") : undefined,
      ),
    };
    const result = await writeShardWithRetry(
      o,
      () => [intBatch([1n, 2n, 3n])],
      { max_retries: 2, initial_backoff_ms: 10, backoff_multiplier: 3 },
      { clock },
    );
    expect(result.attempt).toBe(1);
    expect(result.writerInfo.attempt).toBe(1);
    expect(result.allAttemptUrls.map((u) => u.slice(u.lastIndexOf("/") + 1))).toEqual([
      "attempt=00",
      "attempt=01",
    ]);
    expect(clock.sleeps).toEqual([10]);
    expect(base.events.some((e) => e.event === "write.shard.retried" && e.attempt === 1)).toBe(true);
    // Attempt 0's objects were removed when it failed.
    expect((await o.target.store.list("p/shards/run_id=r1/db=00000/attempt=00")).objects).toEqual([]);
  });

  test("non-retryable errors are not retried", async () => {
    const clock = fakeClock();
    const base = options("noretry");
    let opens = 0;
    const o = {
      ...base,
      adapters: failingFactory(base.adapters, () => {
        opens++;
        return new ConfigValidationError("bad data");
      }),
    };
    await expect(
      writeShardWithRetry(
        o,
        () => [intBatch([1n])],
        { max_retries: 3, initial_backoff_ms: 10, backoff_multiplier: 2 },
        { clock },
      ),
    ).rejects.toThrow(ConfigValidationError);
    expect(opens).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  test("exhausted retries end in a ShardWriteError naming every attempt URL", async () => {
    const clock = fakeClock();
    const base = options("exhaust");
    const o = { ...base, adapters: failingFactory(base.adapters, () => new ShardWriteError("always")) };
    const err = await writeShardWithRetry(
      o,
      () => [intBatch([1n])],
      { max_retries: 2, initial_backoff_ms: 10, backoff_multiplier: 3 },
      { clock },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ShardWriteError);
    expect(String(err.message)).toContain("failed in all 3 attempts");
    expect(String(err.message)).toContain("attempt=02");
    expect(clock.sleeps).toEqual([10, 30]);
    expect(base.events.some((e) => e.event === "write.shard.retry_exhausted")).toBe(true);
  });
});

describe("shard result wire form", () => {
  test("round-trips u64 keys beyond 2^53, string and bytes keys exactly", async () => {
    const big = await writeShardAttempt(options("wire-big"), 0, [intBatch([2n ** 60n + 7n, 3n])]);
    const json = shardResultToJson(big);
    expect(json).toContain(`"max_key":${2n ** 60n + 7n}`);
    expect(json).toContain('"db_id":0');
    const back = shardResultFromJson(json);
    expect(back).toEqual(big);

    const raw = await writeShardAttempt(options("wire-bytes", { keyEncoding: "raw" }), 0, [
      new Table({
        id: vectorFromArray([new Uint8Array([0, 1]), new Uint8Array([0xff])], new Binary()),
        v: vectorFromArray(["a", "b"], new Utf8()),
      }).batches[0]!,
    ]);
    expect(raw.minKey).toEqual(new Uint8Array([0, 1]));
    const rawJson = shardResultToJson(raw);
    expect(rawJson).toContain('"min_key":{"__bytes_hex__":"0001"}');
    expect(shardResultFromJson(rawJson)).toEqual(raw as ShardResult);
    expect(() => shardResultFromJson('{"db_id": -1}')).toThrow(ConfigValidationError);
  });
});
