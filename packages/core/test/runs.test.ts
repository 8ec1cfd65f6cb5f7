/** Run record lifecycle and cleanupOldRuns protection rules, on every store. */
import { afterAll, describe, expect, test } from "bun:test";
import { FaultyStore, type ObjectStore } from "@shardy/store";
import {
  cleanupOldRuns,
  decodeRunRecord,
  listRunRecords,
  parseIsoDatetime,
  publishSnapshot,
  type RunRecord,
  RunRecordLifecycle,
  readCurrentState,
  withRunRecord,
} from "../src/index.ts";
import { ALL_STORES, keysUnder, makeManifest, shardMeta, writeAttemptFiles } from "./helpers/snapshots.ts";

const MIN = 60_000;

function clock(start: string) {
  let now = parseIsoDatetime(start).getTime();
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

async function readRecord(store: ObjectStore, key: string): Promise<RunRecord> {
  const got = await store.get(key);
  if (!got) throw new Error(`no run record at ${key}`);
  return decodeRunRecord(new TextDecoder().decode(got.body), key);
}

/** A run with shard files; published (with CAS) unless `publish` is false. */
async function seedRun(store: ObjectStore, prefix: string, runId: string, publish = true): Promise<void> {
  await writeAttemptFiles(store, shardMeta(store, prefix, runId, 0, 1).dbUrl!, ["shard.db"]);
  await writeAttemptFiles(store, shardMeta(store, prefix, runId, 1, 1).dbUrl!, ["shard.db"]);
  if (publish) {
    const seen = await readCurrentState({ store, prefix });
    await publishSnapshot({
      store,
      prefix,
      manifest: makeManifest(store, prefix, { runId }),
      expectedCurrent: seen,
    });
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function runDirs(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys = await keysUnder(store, `${prefix}/shards`);
  return [...new Set(keys.map((k) => k.split("/").find((s) => s.startsWith("run_id="))!))].sort();
}

for (const makeStores of ALL_STORES) {
  const stores = makeStores();
  afterAll(() => stores.cleanup());

  describe(`run records on ${stores.name}`, () => {
    test("create, heartbeat, manifest ref, succeeded: fields and key as the reference writes them", async () => {
      const { store, prefix } = stores.open();
      const c = clock("2026-04-20T15:23:01.123456Z");
      const run = await RunRecordLifecycle.start({ store, prefix, runId: "abc", heartbeatMs: 0, now: c.now });
      expect(run.key).toMatch(
        new RegExp(`^${prefix}/runs/2026-04-20T15:23:01\\.123000Z_run_id=abc_[0-9a-f]{32}/run\\.yaml$`),
      );
      let rec = await readRecord(store, run.key);
      expect(rec.status).toBe("running");
      expect(rec.leaseExpiresAt.getTime() - rec.startedAt.getTime()).toBe(10 * MIN);
      expect(rec.s3Prefix).toBe(`${store.baseUrl.replace(/\/$/, "")}/${prefix}`);
      expect(rec.shardPrefix).toBe("shards");
      expect(rec.dbPathTemplate).toBe("db={db_id:05d}");
      expect(rec.writerType).toBe("python");
      const text = new TextDecoder().decode((await store.get(run.key))!.body);
      expect(text).toContain("started_at: '2026-04-20T15:23:01.123000Z'\n");
      expect(text).toContain("lease_expires_at: '2026-04-20T15:33:01.123000Z'\n");

      c.advance(MIN);
      await run.heartbeat();
      rec = await readRecord(store, run.key);
      expect(rec.updatedAt.toISOString()).toBe("2026-04-20T15:24:01.123Z");
      expect(rec.leaseExpiresAt.toISOString()).toBe("2026-04-20T15:34:01.123Z");

      await run.setManifestRef("s3://b/p/manifests/x/manifest");
      c.advance(MIN);
      await run.markSucceeded();
      rec = await readRecord(store, run.key);
      expect(rec.status).toBe("succeeded");
      expect(rec.manifestRef).toBe("s3://b/p/manifests/x/manifest");
      expect(rec.updatedAt.getTime()).toBe(rec.leaseExpiresAt.getTime());
      expect(rec.errorType).toBeNull();
      // Terminal is final: later heartbeats and marks write nothing.
      await run.heartbeat();
      await run.markFailed(new Error("late"));
      expect((await readRecord(store, run.key)).status).toBe("succeeded");
      expect(run.ref).toContain(run.key);
    });

    test("withRunRecord marks failures with the error's type and message and rethrows", async () => {
      const { store, prefix } = stores.open();
      let key = "";
      const boom = new RangeError("shard 3 exploded: disk full");
      await expect(
        withRunRecord({ store, prefix, runId: "bad", heartbeatMs: 0 }, async (run) => {
          key = run.key;
          throw boom;
        }),
      ).rejects.toBe(boom);
      const rec = await readRecord(store, key);
      expect(rec.status).toBe("failed");
      expect(rec.errorType).toBe("RangeError");
      expect(rec.errorMessage).toBe("shard 3 exploded: disk full");
    });

    test("the heartbeat timer refreshes the lease until stopped", async () => {
      const { store, prefix } = stores.open();
      const run = await RunRecordLifecycle.start({ store, prefix, runId: "hb", heartbeatMs: 5 });
      const first = (await readRecord(store, run.key)).updatedAt.getTime();
      let refreshed = first;
      for (let i = 0; i < 400 && refreshed === first; i++) {
        await new Promise((r) => setTimeout(r, 5));
        await run.settled();
        refreshed = (await readRecord(store, run.key)).updatedAt.getTime();
      }
      expect(refreshed).toBeGreaterThan(first);
      await run.markSucceeded();
      const final = await readRecord(store, run.key);
      await new Promise((r) => setTimeout(r, 30));
      await run.settled();
      expect((await readRecord(store, run.key)).updatedAt.getTime()).toBe(final.updatedAt.getTime());
    });

    test("registry failures are logged, never thrown", async () => {
      const { store: inner, prefix } = stores.open();
      const store = new FaultyStore(inner, { rules: [{ op: "put", action: { type: "fail" } }] });
      const warnings: string[] = [];
      const run = await RunRecordLifecycle.start({
        store,
        prefix,
        runId: "offline",
        heartbeatMs: 0,
        logger: { warn: (m) => void warnings.push(m) },
      });
      await run.heartbeat();
      await run.markFailed(new Error("x"));
      expect(run.ref).toBeNull();
      expect(warnings.length).toBe(3);
      expect(warnings[0]).toContain("create");
      expect((await inner.list(`${prefix}/`)).objects).toHaveLength(0);
    });
  });

  describe(`cleanupOldRuns on ${stores.name}`, () => {
    test("protects current, keep-last, leased running runs; deletes the rest segment-safely", async () => {
      const { store, prefix } = stores.open();
      const quiet = { warn() {} };
      // Custom ids where a raw prefix delete of run-1 would also hit run-10 (weakness 13).
      await seedRun(store, prefix, "run-1");
      await seedRun(store, prefix, "run-10");
      await seedRun(store, prefix, "run-2");
      await seedRun(store, prefix, "run-3"); // current
      // A build still running (lease valid) with no manifest yet, and a crashed one (lease expired).
      const live = await RunRecordLifecycle.start({
        store,
        prefix,
        runId: "live",
        heartbeatMs: 0,
        logger: quiet,
      });
      await seedRun(store, prefix, "live", false);
      const c = clock("2020-01-01T00:00:00Z");
      const crashed = await RunRecordLifecycle.start({
        store,
        prefix,
        runId: "crashed",
        heartbeatMs: 0,
        now: c.now,
        logger: quiet,
      });
      await seedRun(store, prefix, "crashed", false);

      const dry = await cleanupOldRuns({ store, prefix, keepLast: 2, dryRun: true });
      expect(dry.dryRun).toBe(true);
      expect(dry.deleted.map((d) => d.runId).sort()).toEqual(["crashed", "run-1", "run-10"]);
      expect(dry.deleted.find((d) => d.runId === "run-1")?.objects).toBe(2);
      const why = Object.fromEntries(dry.protected.map((p) => [p.runId, p.reasons.sort()]));
      expect(why).toEqual({
        "run-3": ["current", "keep-last"],
        "run-2": ["keep-last"],
        live: ["running-lease"],
      });
      expect(await runDirs(store, prefix)).toHaveLength(6); // dry run deleted nothing

      const real = await cleanupOldRuns({ store, prefix, keepLast: 1 });
      expect(real.deleted.map((d) => d.runId).sort()).toEqual(["crashed", "run-1", "run-10", "run-2"]);
      expect(real.failed).toEqual([]);
      expect(await runDirs(store, prefix)).toEqual(["run_id=live", "run_id=run-3"]);
      // Manifests and run records are never deleted.
      expect((await keysUnder(store, `${prefix}/manifests`)).length).toBe(4);
      expect((await listRunRecords(store, prefix)).records.map((r) => r.record.runId).sort()).toEqual([
        "crashed",
        "live",
      ]);
      await live.markSucceeded();
      void crashed;
    });

    test("older-than keeps young runs and runs of unknown age; explicit protection", async () => {
      const { store, prefix } = stores.open();
      await seedRun(store, prefix, "old");
      await seedRun(store, prefix, "orphan", false); // no manifest, no record: age unknown
      await seedRun(store, prefix, "pinned");
      await seedRun(store, prefix, "cur");
      const later = new Date(Date.now() + 8 * 24 * 60 * MIN);
      const result = await cleanupOldRuns({
        store,
        prefix,
        olderThanMs: 7 * 24 * 60 * MIN,
        protectRunIds: ["pinned"],
        now: () => later,
      });
      expect(result.deleted.map((d) => d.runId)).toEqual(["old"]);
      const why = Object.fromEntries(result.protected.map((p) => [p.runId, p.reasons.sort()]));
      expect(why.orphan).toEqual(["age-unknown"]);
      expect(why.pinned).toEqual(["explicit"]);
      expect(why.cur).toEqual(["current"]);

      const young = await cleanupOldRuns({ store, prefix, olderThanMs: 7 * 24 * 60 * MIN, dryRun: true });
      expect(young.deleted).toEqual([]);
      expect(young.protected.find((p) => p.runId === "pinned")?.reasons).toEqual(["newer-than-cutoff"]);
    });

    test("an unreadable run record protects its run", async () => {
      const { store, prefix } = stores.open();
      await seedRun(store, prefix, "cur");
      await seedRun(store, prefix, "mystery", false);
      await store.put(
        `${prefix}/runs/2026-01-01T00:00:00.000000Z_run_id=mystery_${"ab".repeat(16)}/run.yaml`,
        new TextEncoder().encode("status: [unclosed"),
      );
      const warnings: string[] = [];
      const result = await cleanupOldRuns({ store, prefix, logger: { warn: (m) => void warnings.push(m) } });
      expect(result.deleted).toEqual([]);
      expect(result.protected.find((p) => p.runId === "mystery")?.reasons).toEqual(["record-unreadable"]);
      expect(warnings[0]).toContain("mystery");
    });
  });
}
