/**
 * Two-phase publish reliability on every store: racing builds, a crash between manifest and
 * pointer, lost responses, transient failures, validate-before-flip, last-writer-wins.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  ConfigValidationError,
  ManifestBuildError,
  PublishCheckError,
  PublishCurrentError,
  PublishManifestError,
} from "@shardy/errors";
import { FaultyStore, type ObjectStore } from "@shardy/store";
import {
  keyForUrl,
  listManifests,
  loadCurrent,
  loadManifest,
  loadNewestValidManifest,
  maxRowCountChange,
  minRowCount,
  type PublishCheck,
  publishSnapshot,
  readCurrentState,
} from "../src/index.ts";
import { ALL_STORES, instantRetry, makeManifest } from "./helpers/snapshots.ts";

function currentKey(prefix: string): string {
  return `${prefix}/_CURRENT`;
}

for (const makeStores of ALL_STORES) {
  const stores = makeStores();
  afterAll(() => stores.cleanup());

  describe(`publishSnapshot on ${stores.name}`, () => {
    test("first publish: manifest then _CURRENT, and the snapshot loads back", async () => {
      const { store, prefix } = stores.open();
      const manifest = makeManifest(store, prefix, { runId: "first" });
      const result = await publishSnapshot({ store, prefix, manifest, expectedCurrent: null });

      expect(result.manifestKey).toMatch(
        new RegExp(
          `^${prefix}/manifests/\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z_run_id=first/manifest$`,
        ),
      );
      expect(result.manifestRef).toBe(`${store.baseUrl.replace(/\/$/, "")}/${result.manifestKey}`);
      const pointer = await loadCurrent({ store, prefix });
      expect(pointer?.manifestRef).toBe(result.manifestRef);
      expect(pointer?.runId).toBe("first");
      const loaded = await loadManifest(store, result.manifestRef);
      expect(loaded.build.runId).toBe("first");
      expect(loaded.shards.map((s) => s.rowCount)).toEqual([10, 10, 10, 10]);
      const state = await readCurrentState({ store, prefix });
      expect(state?.etag).toBe(result.currentEtag);
    });

    test("two builds racing on one prefix: exactly one wins, both manifests remain", async () => {
      const { store, prefix } = stores.open();
      await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "base" }),
        expectedCurrent: null,
      });
      // Both builds start from the same _CURRENT.
      const seenA = await readCurrentState({ store, prefix });
      const seenB = await readCurrentState({ store, prefix });
      const outcomes = await Promise.allSettled([
        publishSnapshot({
          store,
          prefix,
          manifest: makeManifest(store, prefix, { runId: "race-a" }),
          expectedCurrent: seenA,
        }),
        publishSnapshot({
          store,
          prefix,
          manifest: makeManifest(store, prefix, { runId: "race-b" }),
          expectedCurrent: seenB,
        }),
      ]);
      const won = outcomes.filter((o) => o.status === "fulfilled");
      const lost = outcomes.filter((o) => o.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const error = (lost[0] as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(PublishCurrentError);
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof publishSnapshot>>>).value;
      const loserRunId = winner.pointer.runId === "race-a" ? "race-b" : "race-a";
      expect((error as PublishCurrentError).manifestRef).toContain(`_run_id=${loserRunId}/manifest`);
      // The loser's manifest is uploaded, loadable, and not current.
      expect((await loadManifest(store, (error as PublishCurrentError).manifestRef)).build.runId).toBe(
        loserRunId,
      );
      expect((await loadCurrent({ store, prefix }))?.manifestRef).toBe(winner.manifestRef);
      const history = await listManifests(store, prefix, 10);
      expect(history.map((m) => m.runId).sort()).toEqual(["base", "race-a", "race-b"]);
    });

    test("a build that started before another publish loses even when it publishes much later", async () => {
      const { store, prefix } = stores.open();
      const stale = await readCurrentState({ store, prefix });
      expect(stale).toBeNull();
      await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "fast" }),
        expectedCurrent: null,
      });
      const slow = publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "slow" }),
        expectedCurrent: stale,
      });
      await expect(slow).rejects.toBeInstanceOf(PublishCurrentError);
      expect((await loadCurrent({ store, prefix }))?.runId).toBe("fast");
    });

    test("crash between manifest and pointer: old snapshot stays current and loadable", async () => {
      const { store: inner, prefix } = stores.open();
      const first = await publishSnapshot({
        store: inner,
        prefix,
        manifest: makeManifest(inner, prefix, { runId: "old" }),
        expectedCurrent: null,
      });
      const store = new FaultyStore(inner, {
        rules: [
          {
            op: "put",
            keyPrefix: currentKey(prefix),
            action: { type: "fail", error: () => new Error("process died before the pointer write") },
          },
        ],
      });
      const seen = await readCurrentState({ store, prefix });
      const attempt = publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "new" }),
        expectedCurrent: seen,
        retry: { ...instantRetry, maxAttempts: 3 },
      });
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishCurrentError);
      expect((error as PublishCurrentError).manifestRef).toContain("_run_id=new/manifest");

      const reader = await loadNewestValidManifest({ store: inner, prefix });
      expect(reader.ref).toBe(first.manifestRef);
      expect(reader.fellBack).toBe(false);
      expect(reader.manifest.build.runId).toBe("old");
      // The orphaned manifest is in history but never became current.
      expect((await listManifests(inner, prefix)).map((m) => m.runId).sort()).toEqual(["new", "old"]);
    });

    test("lost response on the pointer put: reported as success, written once", async () => {
      const { store: inner, prefix } = stores.open();
      const store = new FaultyStore(inner, {
        rules: [{ op: "put", keyPrefix: currentKey(prefix), nth: 1, action: { type: "loseResponse" } }],
      });
      const result = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "lost-ptr" }),
        expectedCurrent: null,
        retry: instantRetry,
      });
      expect(result.recoveredLostResponse.current).toBe(true);
      const pointerPuts = store.callsOf("put").filter((c) => c.key === currentKey(prefix));
      expect(pointerPuts).toHaveLength(1);
      const state = await readCurrentState({ store: inner, prefix });
      expect(state?.pointer?.manifestRef).toBe(result.manifestRef);
      expect(state?.etag).toBe(result.currentEtag);
    });

    test("lost response on a CAS pointer put over an existing pointer is recognised too", async () => {
      const { store: inner, prefix } = stores.open();
      await publishSnapshot({
        store: inner,
        prefix,
        manifest: makeManifest(inner, prefix, { runId: "v1" }),
        expectedCurrent: null,
      });
      const store = new FaultyStore(inner, {
        rules: [{ op: "put", keyPrefix: currentKey(prefix), nth: 1, action: { type: "loseResponse" } }],
      });
      const seen = await readCurrentState({ store, prefix });
      // The re-read after the lost response fails once too: the retried put must then hit the
      // If-Match precondition and still be recognised as our own write.
      store.addRule({ op: "get", keyPrefix: currentKey(prefix), nth: 1, action: { type: "fail" } });
      const result = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "v2" }),
        expectedCurrent: seen,
        retry: instantRetry,
      });
      expect(result.recoveredLostResponse.current).toBe(true);
      expect((await loadCurrent({ store: inner, prefix }))?.runId).toBe("v2");
    });

    test("lost response on the manifest put: retried create-only, recognised, one manifest", async () => {
      const { store: inner, prefix } = stores.open();
      const store = new FaultyStore(inner, {
        rules: [{ op: "put", keyPrefix: `${prefix}/manifests/`, nth: 1, action: { type: "loseResponse" } }],
      });
      const result = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "lost-man" }),
        expectedCurrent: null,
        retry: instantRetry,
      });
      expect(result.recoveredLostResponse.manifest).toBe(true);
      expect(await listManifests(inner, prefix)).toHaveLength(1);
      expect((await loadCurrent({ store: inner, prefix }))?.manifestRef).toBe(result.manifestRef);
    });

    test("transient failures before applying are retried with backoff", async () => {
      const { store: inner, prefix } = stores.open();
      const delays: number[] = [];
      const store = new FaultyStore(inner, {
        rules: [
          { op: "put", keyPrefix: `${prefix}/manifests/`, nth: [1, 2], action: { type: "fail" } },
          { op: "put", keyPrefix: currentKey(prefix), nth: 1, action: { type: "fail" } },
        ],
      });
      const result = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "flaky" }),
        expectedCurrent: null,
        retry: {
          initialDelayMs: 10,
          multiplier: 2,
          maxDelayMs: 15,
          sleep: async (ms) => void delays.push(ms),
        },
      });
      expect(result.recoveredLostResponse).toEqual({ manifest: false, current: false });
      expect(delays).toEqual([10, 15, 10]);
      expect((await loadCurrent({ store: inner, prefix }))?.runId).toBe("flaky");
    });

    test("manifest upload failure: PublishManifestError and nothing else written", async () => {
      const { store: inner, prefix } = stores.open();
      const store = new FaultyStore(inner, {
        rules: [{ op: "put", keyPrefix: `${prefix}/manifests/`, action: { type: "fail" } }],
      });
      const error = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "doomed" }),
        expectedCurrent: null,
        retry: { ...instantRetry, maxAttempts: 4 },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishManifestError);
      expect(store.callsOf("put")).toHaveLength(4);
      expect((await inner.list(`${prefix}/`)).objects).toHaveLength(0);
    });

    test("an invalid manifest is refused before any upload", async () => {
      const { store, prefix } = stores.open();
      const manifest = makeManifest(store, prefix, { runId: "bad", numDbs: 2, rows: { 0: 1, 5: 1 } });
      await expect(
        publishSnapshot({ store, prefix, manifest, expectedCurrent: null }),
      ).rejects.toBeInstanceOf(ManifestBuildError);
      expect((await store.list(`${prefix}/`)).objects).toHaveLength(0);
    });

    test("cas mode without expectedCurrent is a configuration error", async () => {
      const { store, prefix } = stores.open();
      const manifest = makeManifest(store, prefix, { runId: "x" });
      await expect(publishSnapshot({ store, prefix, manifest })).rejects.toBeInstanceOf(
        ConfigValidationError,
      );
    });

    test("last-writer-wins mode: both racing builds succeed, the pointer names one of them", async () => {
      const { store, prefix } = stores.open();
      const results = await Promise.all(
        ["lww-a", "lww-b"].map((runId) =>
          publishSnapshot({
            store,
            prefix,
            manifest: makeManifest(store, prefix, { runId }),
            mode: "last-writer-wins",
          }),
        ),
      );
      const current = await loadCurrent({ store, prefix });
      expect(results.map((r) => r.manifestRef)).toContain(current?.manifestRef ?? "");
    });

    test("validate-before-flip: a failing check names itself and leaves _CURRENT alone", async () => {
      const { store, prefix } = stores.open();
      const base = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "good", rows: { 0: 50, 1: 50 } }),
        expectedCurrent: null,
        checks: [minRowCount(100)],
      });
      const seen = await readCurrentState({ store, prefix });

      const tooSmall = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "tiny", rows: { 0: 3 } }),
        expectedCurrent: seen,
        checks: [minRowCount(100)],
      }).catch((e: unknown) => e);
      expect(tooSmall).toBeInstanceOf(PublishCheckError);
      expect((tooSmall as PublishCheckError).check).toBe("minRowCount(100)");
      expect((tooSmall as PublishCheckError).message).toContain("3 rows");

      const jump = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "jump", rows: { 0: 100, 1: 60 } }),
        expectedCurrent: seen,
        checks: [maxRowCountChange(50)],
      }).catch((e: unknown) => e);
      expect(jump).toBeInstanceOf(PublishCheckError);
      expect((jump as PublishCheckError).check).toBe("maxRowCountChange(50%)");
      expect((jump as PublishCheckError).message).toContain("from 100");

      const custom: PublishCheck = async function noRunIdsStartingWithX(ctx) {
        if (ctx.manifest.build.runId.startsWith("x")) throw new Error("run ids must not start with x");
      };
      const vetoed = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "xray" }),
        expectedCurrent: seen,
        checks: [custom],
      }).catch((e: unknown) => e);
      expect((vetoed as PublishCheckError).check).toBe("noRunIdsStartingWithX");

      expect((await loadCurrent({ store, prefix }))?.manifestRef).toBe(base.manifestRef);

      const ok = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "steady", rows: { 0: 55, 1: 50 } }),
        expectedCurrent: seen,
        checks: [minRowCount(100), maxRowCountChange(10), custom],
      });
      expect((await loadCurrent({ store, prefix }))?.manifestRef).toBe(ok.manifestRef);
    });

    test("a corrupt _CURRENT can still be replaced by CAS", async () => {
      const { store, prefix } = stores.open();
      await store.put(currentKey(prefix), new TextEncoder().encode("{not json"));
      const seen = await readCurrentState({ store, prefix });
      expect(seen?.pointer).toBeNull();
      expect(seen?.parseError?.message).toContain("_CURRENT");
      const result = await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "repair" }),
        expectedCurrent: seen,
      });
      expect((await loadCurrent({ store, prefix }))?.manifestRef).toBe(result.manifestRef);
    });
  });
}

describe("seeded randomised interleavings (FaultyStore latency)", () => {
  const stores = ALL_STORES[0]!();
  const injected = { fail: 0, loseResponse: 0 };
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: one winner among racing builds; readers only ever see published snapshots`, async () => {
      const { store: inner, prefix } = stores.open();
      const store: ObjectStore = new FaultyStore(inner, {
        seed,
        rules: [
          { op: "*", action: { type: "latency", ms: 0, jitterMs: 4 } },
          { op: "put", probability: 0.2, action: { type: "fail" } },
          { op: "put", probability: 0.2, action: { type: "loseResponse" } },
        ],
      });
      await publishSnapshot({
        store: inner,
        prefix,
        manifest: makeManifest(inner, prefix, { runId: "seed-base" }),
        expectedCurrent: null,
      });
      const seen = await readCurrentState({ store: inner, prefix });
      const runIds = ["r0", "r1", "r2"];
      const observed = new Set<string>();
      let done = false;
      const reader = (async () => {
        while (!done) {
          const got = await loadNewestValidManifest({ store: inner, prefix, maxFallbackAttempts: 0 });
          observed.add(got.manifest.build.runId);
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      const outcomes = await Promise.allSettled(
        runIds.map((runId) =>
          publishSnapshot({
            store,
            prefix,
            manifest: makeManifest(store, prefix, { runId }),
            expectedCurrent: seen,
            retry: { ...instantRetry, maxAttempts: 8 },
          }),
        ),
      );
      done = true;
      await reader;
      const winners = outcomes.filter((o) => o.status === "fulfilled");
      const errors = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason] : []));
      for (const e of errors) expect(e).toBeInstanceOf(PublishCurrentError);
      expect(winners).toHaveLength(1);
      const current = await loadCurrent({ store: inner, prefix });
      const won = (winners[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof publishSnapshot>>>).value;
      expect(current?.manifestRef).toBe(won.manifestRef);
      // Every manifest that exists parses; readers saw only the base or the winner.
      for (const m of await listManifests(inner, prefix, 100)) await loadManifest(inner, m.ref);
      for (const runId of observed) expect(["seed-base", won.pointer.runId]).toContain(runId);
      expect(keyForUrl(inner, won.manifestRef)).toContain(`run_id=${won.pointer.runId}`);
      for (const call of (store as FaultyStore).calls) {
        if (call.faults.includes("fail")) injected.fail++;
        if (call.faults.includes("loseResponse")) injected.loseResponse++;
      }
    });
  }

  test("the schedules above did inject both kinds of fault", () => {
    expect(injected.fail).toBeGreaterThan(0);
    expect(injected.loseResponse).toBeGreaterThan(0);
  });
});
