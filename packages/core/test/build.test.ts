/** publishBuild end to end (winners -> publish -> run record -> loser cleanup) and cleanupLosers. */
import { afterAll, describe, expect, test } from "bun:test";
import { FaultyStore } from "@shardy/store";
import {
  cleanupLosers,
  decodeRunRecord,
  loadCurrent,
  loadManifest,
  publishBuild,
  RunRecordLifecycle,
  readCurrentState,
  type ShardAttemptResult,
  urlForKey,
} from "../src/index.ts";
import { ALL_STORES, keysUnder, makeManifest, shardMeta, writeAttemptFiles } from "./helpers/snapshots.ts";

const quiet = { warn() {} };

for (const makeStores of ALL_STORES) {
  const stores = makeStores();
  afterAll(() => stores.cleanup());

  describe(`publishBuild on ${stores.name}`, () => {
    test("winners published, run record gets the ref, losers deleted, BuildResult filled", async () => {
      const { store, prefix } = stores.open();
      const runId = "build-1";
      const attempts: ShardAttemptResult[] = [
        shardMeta(store, prefix, runId, 0, 5, 1), // retry of db 0
        shardMeta(store, prefix, runId, 0, 5, 0),
        shardMeta(store, prefix, runId, 1, 7, 0),
        { ...shardMeta(store, prefix, runId, 2, 0, 0), dbUrl: null }, // empty shard
      ];
      for (const a of attempts)
        if (a.dbUrl) await writeAttemptFiles(store, a.dbUrl, ["shard.db", "shard.sidecar"]);
      const run = await RunRecordLifecycle.start({ store, prefix, runId, heartbeatMs: 0, logger: quiet });
      const { build } = makeManifest(store, prefix, { runId, numDbs: 3 });
      const expectedCurrent = await readCurrentState({ store, prefix });

      const { result, cleanup } = await publishBuild({
        store,
        prefix,
        build,
        custom: { note: "hello" },
        attempts,
        expectedCurrent,
        runRecord: run,
        timings: { shardingMs: 3, writeMs: 40 },
        logger: quiet,
      });
      await run.markSucceeded();

      expect(result.runId).toBe(runId);
      expect(result.winners.map((w) => [w.dbId, w.attempt])).toEqual([
        [0, 0],
        [1, 0],
      ]);
      expect(result.stats.numAttemptResults).toBe(4);
      expect(result.stats.numWinners).toBe(2);
      expect(result.stats.rowsWritten).toBe(12);
      expect(result.stats.durations.shardingMs).toBe(3);
      expect(result.stats.durations.writeMs).toBe(40);
      expect(result.stats.durations.manifestMs).toBeGreaterThan(0);
      expect(result.stats.durations.totalMs).toBeGreaterThanOrEqual(43);
      expect(result.runRecordRef).toBe(urlForKey(store, run.key));

      expect((await loadCurrent({ store, prefix }))?.manifestRef).toBe(result.manifestRef);
      const manifest = await loadManifest(store, result.manifestRef);
      expect(manifest.custom).toEqual({ note: "hello" });
      expect(manifest.shards.map((s) => s.dbId)).toEqual([0, 1]);

      expect(cleanup?.deleted.map((d) => d.url)).toEqual([attempts[0]!.dbUrl!]);
      expect(cleanup?.deleted[0]?.objects).toBe(2);
      const left = await keysUnder(store, `${prefix}/shards`);
      expect(left.some((k) => k.includes("db=00000/attempt=01"))).toBe(false);
      expect(left.filter((k) => k.includes("db=00000/attempt=00"))).toHaveLength(2);
      expect(left.filter((k) => k.includes("db=00001/attempt=00"))).toHaveLength(2);

      const record = decodeRunRecord(new TextDecoder().decode((await store.get(run.key))!.body));
      expect(record.status).toBe("succeeded");
      expect(record.manifestRef).toBe(result.manifestRef);
    });

    test("cleanupLosers is segment-safe and best effort", async () => {
      const { store: inner, prefix } = stores.open();
      const base = urlForKey(inner, `${prefix}/shards/run_id=r/db=00000`);
      const winner = `${base}/attempt=010`;
      const loser = `${base}/attempt=01`;
      await writeAttemptFiles(inner, winner);
      await writeAttemptFiles(inner, loser);
      const failing = `${urlForKey(inner, `${prefix}/shards/run_id=r/db=00001`)}/attempt=02`;
      await writeAttemptFiles(inner, failing);
      const store = new FaultyStore(inner, {
        rules: [
          { op: "deletePrefix", keyPrefix: `${prefix}/shards/run_id=r/db=00001`, action: { type: "fail" } },
        ],
      });
      const warnings: string[] = [];
      const winners = [{ ...makeManifest(store, prefix, { runId: "r" }).shards[0]!, dbUrl: winner }];
      const result = await cleanupLosers({
        store,
        winners,
        allAttemptUrls: [winner, loser, failing, "s3://elsewhere/x/attempt=00", base],
        logger: { warn: (m) => void warnings.push(m) },
      });
      expect(result.deleted).toEqual([{ url: loser, objects: 1 }]);
      expect(result.failed.map((f) => f.url)).toEqual([failing, "s3://elsewhere/x/attempt=00", base]);
      expect(warnings).toHaveLength(3);
      const left = await keysUnder(inner, `${prefix}/shards`);
      expect(left.some((k) => k.includes("attempt=010/"))).toBe(true);
      expect(left.some((k) => k.includes("attempt=02/"))).toBe(true);
      expect(left.some((k) => k.includes("attempt=01/"))).toBe(false);
    });
  });
}
