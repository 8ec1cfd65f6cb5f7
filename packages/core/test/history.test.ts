/** History listing, reader fallback (§3.5) and rollback on every store. */
import { afterAll, describe, expect, test } from "bun:test";
import {
  ConfigValidationError,
  ManifestNotFoundError,
  ManifestParseError,
  PublishCurrentError,
  ReaderStateError,
} from "@shardy/errors";
import type { ObjectStore } from "@shardy/store";
import {
  keyForUrl,
  listManifests,
  loadCurrent,
  loadNewestValidManifest,
  minRowCount,
  type PublishSnapshotResult,
  publishSnapshot,
  readCurrentState,
  rollback,
} from "../src/index.ts";
import { ALL_STORES, makeManifest } from "./helpers/snapshots.ts";

/** Publishes runs in order, each with CAS against the pointer it saw; distinct timestamps. */
async function publishRuns(
  store: ObjectStore,
  prefix: string,
  runIds: string[],
): Promise<PublishSnapshotResult[]> {
  const out: PublishSnapshotResult[] = [];
  for (const runId of runIds) {
    const seen = await readCurrentState({ store, prefix });
    out.push(
      await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId }),
        expectedCurrent: seen,
      }),
    );
    await new Promise((r) => setTimeout(r, 2)); // distinct key timestamps
  }
  return out;
}

async function corrupt(store: ObjectStore, ref: string, bytes = "not a sqlite database"): Promise<void> {
  await store.put(keyForUrl(store, ref), new TextEncoder().encode(bytes));
}

for (const makeStores of ALL_STORES) {
  const stores = makeStores();
  afterAll(() => stores.cleanup());

  describe(`history on ${stores.name}`, () => {
    test("listManifests: newest first, limit, foreign directories ignored", async () => {
      const { store, prefix } = stores.open();
      await publishRuns(store, prefix, ["h1", "h2", "h3"]);
      await store.put(`${prefix}/manifests/not-a-manifest-dir/manifest`, new Uint8Array([1]));
      await store.put(`${prefix}/manifests/stray-file`, new Uint8Array([1]));
      const all = await listManifests(store, prefix, 10);
      expect(all.map((m) => m.runId)).toEqual(["h3", "h2", "h1"]);
      expect(all[0]!.publishedAt.getTime()).toBeGreaterThan(all[2]!.publishedAt.getTime());
      expect(all[0]!.ref).toBe(`${store.baseUrl.replace(/\/$/, "")}/${all[0]!.key}`);
      expect((await listManifests(store, prefix, 2)).map((m) => m.runId)).toEqual(["h3", "h2"]);
      expect(await listManifests(store, `${prefix}-empty`, 5)).toEqual([]);
    });

    test("reader fallback: malformed current manifest -> newest older valid one", async () => {
      const { store, prefix } = stores.open();
      const [v1, v2, v3] = await publishRuns(store, prefix, ["f1", "f2", "f3"]);
      await corrupt(store, v3!.manifestRef);
      const got = await loadNewestValidManifest({ store, prefix });
      expect(got.fellBack).toBe(true);
      expect(got.ref).toBe(v2!.manifestRef);
      expect(got.skipped.map((s) => s.ref)).toEqual([v3!.manifestRef]);

      await corrupt(store, v2!.manifestRef, "");
      const older = await loadNewestValidManifest({ store, prefix });
      expect(older.ref).toBe(v1!.manifestRef);
      expect(older.skipped.map((s) => s.ref)).toEqual([v3!.manifestRef, v2!.manifestRef]);

      await expect(loadNewestValidManifest({ store, prefix, maxFallbackAttempts: 1 })).rejects.toBeInstanceOf(
        ReaderStateError,
      );
      await expect(loadNewestValidManifest({ store, prefix, maxFallbackAttempts: 0 })).rejects.toBeInstanceOf(
        ManifestParseError,
      );
    });

    test("reader fallback never falls forward to a manifest that was never made current", async () => {
      const { store, prefix } = stores.open();
      const [v1, v2] = await publishRuns(store, prefix, ["p1", "p2"]);
      // A newer, valid manifest that a check refused: uploaded, never current.
      const seen = await readCurrentState({ store, prefix });
      await publishSnapshot({
        store,
        prefix,
        manifest: makeManifest(store, prefix, { runId: "refused", rows: { 0: 1 } }),
        expectedCurrent: seen,
        checks: [minRowCount(1000)],
      }).catch(() => {});
      expect((await listManifests(store, prefix))[0]!.runId).toBe("refused");
      await corrupt(store, v2!.manifestRef);
      const got = await loadNewestValidManifest({ store, prefix });
      expect(got.ref).toBe(v1!.manifestRef);
    });

    test("reader fallback: a current manifest that was deleted also falls back", async () => {
      const { store, prefix } = stores.open();
      const [v1, v2] = await publishRuns(store, prefix, ["d1", "d2"]);
      await store.delete(keyForUrl(store, v2!.manifestRef));
      const got = await loadNewestValidManifest({ store, prefix });
      expect(got.ref).toBe(v1!.manifestRef);
      expect(got.skipped[0]!.error).toContain("ManifestNotFoundError");
    });

    test("no _CURRENT: ReaderStateError", async () => {
      const { store, prefix } = stores.open();
      await expect(loadNewestValidManifest({ store, prefix })).rejects.toBeInstanceOf(ReaderStateError);
    });

    test("rollback by offset, run id and ref; no-op when already current", async () => {
      const { store, prefix } = stores.open();
      const [v1, v2, v3] = await publishRuns(store, prefix, ["r1", "r2", "r3"]);
      const byOffset = await rollback({ store, prefix, target: { offset: 1 } });
      expect(byOffset.changed).toBe(true);
      expect(byOffset.manifestRef).toBe(v2!.manifestRef);
      expect((await loadCurrent({ store, prefix }))?.runId).toBe("r2");

      await rollback({ store, prefix, target: { runId: "r1" } });
      expect((await loadCurrent({ store, prefix }))?.manifestRef).toBe(v1!.manifestRef);

      await rollback({ store, prefix, target: { ref: v3!.manifestRef } });
      const pointer = await loadCurrent({ store, prefix });
      expect(pointer?.manifestRef).toBe(v3!.manifestRef);
      expect(pointer?.runId).toBe("r3");

      const again = await rollback({ store, prefix, target: { ref: v3!.manifestRef } });
      expect(again.changed).toBe(false);
    });

    test("rollback refuses a missing or malformed target and leaves _CURRENT alone", async () => {
      const { store, prefix } = stores.open();
      const [v1, v2] = await publishRuns(store, prefix, ["x1", "x2"]);
      const before = await readCurrentState({ store, prefix });

      const missing = v1!.manifestRef.replace("_run_id=x1/", "_run_id=nope/");
      const e1 = await rollback({ store, prefix, target: { ref: missing } }).catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(ManifestNotFoundError);
      expect((e1 as Error).message).toContain("Refusing to roll back");

      await corrupt(store, v1!.manifestRef);
      const e2 = await rollback({ store, prefix, target: { ref: v1!.manifestRef } }).catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(ManifestParseError);
      expect((e2 as Error).message).toContain("Refusing to roll back");

      await expect(rollback({ store, prefix, target: { offset: 7 } })).rejects.toBeInstanceOf(
        ConfigValidationError,
      );
      await expect(rollback({ store, prefix, target: { runId: "ghost" } })).rejects.toBeInstanceOf(
        ConfigValidationError,
      );
      await expect(
        rollback({ store, prefix, target: { ref: "s3://other-bucket/p/manifests/x/manifest" } }),
      ).rejects.toBeInstanceOf(ConfigValidationError);

      const after = await readCurrentState({ store, prefix });
      expect(after?.etag).toBe(before!.etag);
      expect(after?.pointer?.manifestRef).toBe(v2!.manifestRef);
    });

    test("rollback is compare-and-swap: a stale view of _CURRENT loses", async () => {
      const { store, prefix } = stores.open();
      const [v1] = await publishRuns(store, prefix, ["c1", "c2"]);
      const stale = await readCurrentState({ store, prefix });
      await publishRuns(store, prefix, ["c3"]);
      const err = await rollback({
        store,
        prefix,
        target: { ref: v1!.manifestRef },
        expectedCurrent: stale,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PublishCurrentError);
      expect((await loadCurrent({ store, prefix }))?.runId).toBe("c3");
    });
  });
}
