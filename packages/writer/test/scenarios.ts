/**
 * The reference's acceptance scenarios (spec §11) as one suite, run against each store: smoke hash
 * with 3 and 2 shards, `max_keys_per_shard` 5, retry after one injected failure, the 24-row publish
 * scenario. Every scenario checks each key sits in exactly its predicted shard and no other.
 */
import { expect, test } from "bun:test";
import { currentPointerKeyFor, parseCurrentBytes } from "@shardy/core";
import { FaultyStore, type ObjectStore } from "@shardy/store";
import { Int64, Table, vectorFromArray } from "apache-arrow";
import { buildSnapshot, ValueSpec } from "../src/index.ts";
import {
  binaryVector,
  expectKeysInPredictedShards,
  inspectSnapshot,
  readRunRecords,
  smokeTable,
  u64,
  WORDS,
} from "./helpers.ts";

export interface StoreFixture {
  /** A fresh snapshot location: its config fields (`s3_prefix` and connection), the store, the key prefix. */
  location(label: string): { config: Record<string, unknown>; store: ObjectStore; prefix: string };
}

export type SmokeBackend = "sqlite" | "slatedb";
const keys10 = WORDS.map((_, i) => BigInt(i));
const u64Key = (k: bigint | string) => u64(k as bigint);

export function smokeSuite(
  name: string,
  fixture: StoreFixture,
  workerCounts: readonly number[],
  backend: SmokeBackend = "sqlite",
): void {
  const adapter = { kind: backend } as const;
  for (const workers of workerCounts) {
    const label = `${name}, ${backend}, workers=${workers}`;

    test(`smoke hash num_dbs=3 (${label})`, async () => {
      const loc = fixture.location("hash3");
      const result = await buildSnapshot({
        inputs: smokeTable(),
        config: { ...loc.config, num_dbs: 3, adapter_factory: adapter },
        input: { key_col: "id", value_spec: ValueSpec.binaryCol("value") },
        workers,
      });
      expect(result.winners.length).toBe(3);
      expect(result.stats.rowsWritten).toBe(10);
      expect(result.winners.reduce((s, w) => s + w.rowCount, 0)).toBe(10);
      const view = await inspectSnapshot(loc.store, loc.prefix);
      expect(view.manifestRef).toBe(result.manifestRef);
      // Reference: keys 0..9 -> [2,2,1,1,0,2,0,2,0,0] with 3 shards.
      const expected = [2, 2, 1, 1, 0, 2, 0, 2, 0, 0];
      for (const [i, want] of expected.entries()) {
        expect(view.shards.get(want)!.has(Buffer.from(u64(i)).toString("hex"))).toBe(true);
      }
      await expectKeysInPredictedShards(view, keys10, u64Key);
      for (const [i, word] of WORDS.entries()) {
        const shard = view.shards.get(expected[i]!)!;
        expect(new TextDecoder().decode(shard.get(Buffer.from(u64(i)).toString("hex")))).toBe(word);
      }
      const records = await readRunRecords(loc.store, loc.prefix);
      expect(records.length).toBe(1);
      expect(records[0]!.status).toBe("succeeded");
      expect(records[0]!.manifestRef).toBe(result.manifestRef);
      expect(records[0]!.startedAt <= records[0]!.updatedAt).toBe(true);
      expect(records[0]!.updatedAt <= records[0]!.leaseExpiresAt).toBe(true);
      expect(records[0]!.errorType).toBeNull();
    });

    test(`smoke hash num_dbs=2 (${label})`, async () => {
      const loc = fixture.location("hash2");
      const result = await buildSnapshot({
        inputs: smokeTable(),
        config: { ...loc.config, num_dbs: 2, adapter_factory: adapter },
        input: { key_col: "id", value_spec: ValueSpec.binaryCol("value") },
        workers,
      });
      expect(result.winners.length).toBe(2);
      expect(result.winners.reduce((s, w) => s + w.rowCount, 0)).toBe(10);
      const view = await inspectSnapshot(loc.store, loc.prefix);
      await expectKeysInPredictedShards(view, keys10, u64Key);
    });

    test(`smoke hash max_keys_per_shard=5 (${label})`, async () => {
      const loc = fixture.location("maxkeys");
      const result = await buildSnapshot({
        inputs: smokeTable(),
        config: { ...loc.config, max_keys_per_shard: 5, adapter_factory: adapter },
        input: { key_col: "id", value_spec: ValueSpec.binaryCol("value") },
        workers,
      });
      expect(result.numDbs).toBe(2);
      expect(result.winners.length).toBe(2);
      const view = await inspectSnapshot(loc.store, loc.prefix);
      expect(view.manifest.build.numDbs).toBe(2);
      await expectKeysInPredictedShards(view, keys10, u64Key);
    });

    test(`publish scenario: 24 rows, num_dbs=4, fixed run id (${label})`, async () => {
      const loc = fixture.location("publish24");
      const enc = new TextEncoder();
      const table = new Table({
        id: vectorFromArray(
          Array.from({ length: 24 }, (_, i) => BigInt(i)),
          new Int64(),
        ),
        v: binaryVector(Array.from({ length: 24 }, (_, i) => enc.encode(`v${i}`))),
      });
      const runId = `run-publish-${workers}`;
      const result = await buildSnapshot({
        inputs: table,
        config: { ...loc.config, num_dbs: 4, adapter_factory: adapter, output: { run_id: runId } },
        input: { key_col: "id", value_spec: ValueSpec.binaryCol("v") },
        workers,
      });
      expect(result.runId).toBe(runId);
      expect(result.winners.length).toBe(4);
      const s3Prefix = String(loc.config.s3_prefix).replace(/\/+$/, "");
      expect(result.manifestRef.startsWith(`${s3Prefix}/manifests/`)).toBe(true);
      const current = parseCurrentBytes((await loc.store.get(currentPointerKeyFor(loc.prefix)))!.body);
      expect(current.manifestRef).toBe(result.manifestRef);
      expect(current.runId).toBe(runId);
      const view = await inspectSnapshot(loc.store, loc.prefix);
      expect(view.manifest.build.runId).toBe(runId);
      expect(view.manifest.build.numDbs).toBe(4);
      expect(view.manifest.build.keyCol).toBe("id");
      expect(view.manifest.shards.length).toBe(4);
      expect(view.manifest.shards.reduce((s, w) => s + w.rowCount, 0)).toBe(24);
      if (backend === "sqlite") {
        // Per-shard checksums and the sidecar fields are recorded in custom.
        const custom = view.manifest.custom as Record<string, Record<string, unknown>>;
        expect(Object.keys(custom.shard_checksums!).sort()).toEqual(["0", "1", "2", "3"]);
        expect(custom.sqlite_sidecar).toEqual({
          codec: "zstd",
          filename: "shard.sidecar",
          format_version: 8,
          page_size: 4096,
        });
      }
      for (const shard of view.manifest.shards) {
        const keys = [...view.shards.get(shard.dbId)!.keys()]
          .map((k) => BigInt(`0x${k}`))
          .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        expect(shard.minKey).toBe(keys[0]!);
        expect(shard.maxKey).toBe(keys[keys.length - 1]!);
      }
      await expectKeysInPredictedShards(
        view,
        Array.from({ length: 24 }, (_, i) => BigInt(i)),
        u64Key,
      );
      const records = await readRunRecords(loc.store, loc.prefix);
      expect(records.map((r) => r.status)).toEqual(["succeeded"]);
    });
  }

  test(`smoke hash retry succeeds after one injected upload failure (${name}, ${backend})`, async () => {
    const loc = fixture.location("retry");
    const runId = "run-retry";
    // The first upload of shard 0's first attempt fails: shard.db for SQLite, the first SST for SlateDB.
    const attemptDir = [loc.prefix, "shards", `run_id=${runId}`, "db=00000", "attempt=00"]
      .filter((p) => p !== "")
      .join("/");
    const failingKey = backend === "sqlite" ? `${attemptDir}/shard.db` : attemptDir;
    const store = new FaultyStore(loc.store, {
      rules: [{ op: ["put", "putStream"], keyPrefix: failingKey, nth: 1, action: { type: "fail" } }],
    });
    const events: string[] = [];
    const result = await buildSnapshot({
      inputs: smokeTable(),
      config: {
        ...loc.config,
        num_dbs: 3,
        adapter_factory: adapter,
        output: { run_id: runId },
        shard_retry: { max_retries: 1, initial_backoff_ms: 0 },
      },
      input: { key_col: "id", value_spec: ValueSpec.binaryCol("value") },
      store,
      workers: 0,
      onEvent: (e) => events.push(e.event),
    });
    expect(store.callsOf().some((c) => c.faults.includes("fail"))).toBe(true);
    expect(result.winners.length).toBe(3);
    const db0 = result.winners.find((w) => w.dbId === 0)!;
    expect(db0.attempt).toBe(1);
    expect(db0.dbUrl!.endsWith("/db=00000/attempt=01")).toBe(true);
    expect(result.winners.some((w) => w.attempt > 0)).toBe(true);
    expect(events).toContain("write.shard.retried");
    const view = await inspectSnapshot(loc.store, loc.prefix);
    await expectKeysInPredictedShards(view, keys10, u64Key);
    // The failed attempt left nothing behind.
    const leftovers = await loc.store.list(attemptDir);
    expect(leftovers.objects.length).toBe(0);
  });
}
