/**
 * The reader verbs end to end through the real command (from source under Bun, and the compiled
 * executable with no Bun on PATH), against the file store and MinIO: get (found, not found,
 * --strict), multiget from stdin, route, info, shards, health exit codes, history, --ref pinning
 * that leaves _CURRENT alone, rollback by offset and run id, cleanup --dry-run, output formats and
 * bad input.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import { readCurrentState } from "@shardy/core";
import { getKernel } from "@shardy/kernel";
import type { ObjectStore } from "@shardy/store";
import {
  fileStores,
  minioStores,
  numberedRows,
  tempDir,
  writeSnapshot,
} from "../../reader/test/helpers/snapshots.ts";
import { readS3TestEnv } from "../../store/test/s3-env.ts";
import { binaryRunner, expectExit, type Runner, record, runShardy, sourceRunner } from "./helpers/shardy.ts";

const kernel = await getKernel();

/** Global options that point the CLI at a store: nothing for files, a credentials file for MinIO. */
function storeArgs(store: ObjectStore): string[] {
  if (!store.baseUrl.startsWith("s3://")) return [];
  const env = readS3TestEnv();
  const file = path.join(tempDir(), "credentials.toml");
  writeFileSync(
    file,
    `[default]\nendpoint_url = "${env.endpoint}"\nregion = "${env.region}"\naccess_key_id = "${env.accessKey}"\n` +
      `secret_access_key = "${env.secretKey}"\naddressing_style = "path"\n`,
  );
  chmodSync(file, 0o600);
  return ["--credentials", file];
}

function currentUrlOf(store: ObjectStore, dirUrl: string): string {
  // File snapshots are addressed by plain path, as a user would type them.
  return store.baseUrl.startsWith("file://") ? `${new URL(dirUrl).pathname}/_CURRENT` : `${dirUrl}/_CURRENT`;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

const TIMEOUT = 60_000;

const runners: Array<() => Promise<Runner>> = [async () => sourceRunner(), binaryRunner];

for (const makeRunner of runners) {
  for (const makeStores of [fileStores, minioStores]) {
    const stores = makeStores();
    afterAll(() => stores.cleanup());

    describe(`shardy reader verbs (${makeRunner === binaryRunner ? "compiled binary" : "bun main.ts"}, ${stores.name})`, () => {
      let runner: Runner;
      let store: ObjectStore;
      let prefix: string;
      let base: string[];
      let oldRef: string;
      let newRef: string;
      const sh = (args: string[], stdin?: string) => runShardy(runner, [...base, ...args], { stdin });

      beforeAll(async () => {
        runner = await makeRunner();
        const opened = stores.open();
        store = opened.store;
        prefix = opened.prefix;
        oldRef = (
          await writeSnapshot(store, prefix, { runId: "cli-old", numDbs: 4, rows: numberedRows(32, "old") })
        ).manifestRef;
        newRef = (
          await writeSnapshot(store, prefix, { runId: "cli-new", numDbs: 4, rows: numberedRows(32, "new") })
        ).manifestRef;
        base = ["--current-url", currentUrlOf(store, opened.url), ...storeArgs(store)];
      }, 120_000);

      test(
        "get: found, not found, --strict; value encodings and output formats",
        async () => {
          const found = await sh(["get", "7"]);
          expectExit(found, 0, "get 7");
          expect(record(found)).toEqual({ op: "get", key: "7", found: true, value: b64("new-7") });

          const missing = await sh(["get", "777"]);
          expect(missing.code).toBe(0);
          expect(record(missing)).toEqual({ op: "get", key: "777", found: false, value: "null" });
          const strict = await sh(["get", "777", "--strict"]);
          expect(strict.code).toBe(1);
          expect(record(strict).found).toBe(false);

          const utf8 = await sh(["--value-encoding", "utf8", "-o", "text", "get", "7"]);
          expect(utf8.stdout).toBe("new-7\n");
          const hex = await sh(["get", "7", "--value-encoding", "hex"]);
          expect(record(hex).value).toBe(Buffer.from("new-7").toString("hex"));
          const pretty = await sh(["get", "7", "-o", "json"]);
          expect(pretty.stdout).toBe(
            `{\n  "op": "get",\n  "key": "7",\n  "found": true,\n  "value": "${b64("new-7")}"\n}\n`,
          );
        },
        TIMEOUT,
      );

      test(
        "multiget: keys from stdin keep their order; table output",
        async () => {
          const res = await sh(["multiget", "-", "--value-encoding", "utf8"], "3\n99\n0\n\n31\n");
          expectExit(res, 0, "multiget -");
          expect(record(res)).toEqual({
            op: "multiget",
            results: [
              { key: "3", found: true, value: "new-3" },
              { key: "99", found: false },
              { key: "0", found: true, value: "new-0" },
              { key: "31", found: true, value: "new-31" },
            ],
          });
          const table = await sh(["multiget", "1", "2", "-o", "table", "--value-encoding", "utf8"]);
          expect(table.stdout.split("\n").slice(0, 4)).toEqual([
            "key  found  value",
            "---  -----  -----",
            "1    true   new-1",
            "2    true   new-2",
          ]);
        },
        TIMEOUT,
      );

      test(
        "route, info, shards",
        async () => {
          for (const key of [0n, 7n, 31n, 12345n]) {
            const res = await sh(["route", String(key)]);
            expect(record(res)).toEqual({ op: "route", key: String(key), db_id: kernel.routeKey(key, 4) });
          }
          const info = record(await sh(["info"]));
          expect(info).toMatchObject({
            op: "info",
            run_id: "cli-new",
            num_dbs: 4,
            row_count: 32,
            key_encoding: "u64be",
            hash_algorithm: "xxh3_64",
            manifest_ref: newRef,
            pinned: false,
          });
          const shards = record(await sh(["shards"])) as { shards: Array<Record<string, unknown>> };
          expect(shards.shards.map((s) => s.db_id)).toEqual([0, 1, 2, 3]);
          expect(shards.shards.reduce((n, s) => n + Number(s.row_count), 0)).toBe(32);
          const text = await sh(["info", "-o", "text"]);
          expect(text.stdout).toContain("run_id: cli-new\n");
        },
        TIMEOUT,
      );

      test(
        "health: 0 healthy, 1 degraded (stale), 2 unhealthy (no snapshot)",
        async () => {
          const healthy = await sh(["health"]);
          expect(healthy.code).toBe(0);
          expect(record(healthy)).toMatchObject({ op: "health", status: "healthy", num_shards: 4 });
          const stale = await sh(["health", "--staleness-threshold", "0"]);
          expect(stale.code).toBe(1);
          expect(record(stale).status).toBe("degraded");
          const nowhere = await runShardy(runner, [
            "--current-url",
            currentUrlOf(store, `${store.baseUrl}/${prefix}-missing`),
            ...base.slice(2),
            "health",
          ]);
          expect(nowhere.code).toBe(2);
          expect(record(nowhere)).toMatchObject({ op: "health", status: "unhealthy" });
        },
        TIMEOUT,
      );

      test(
        "history, --ref pin without moving _CURRENT, rollback by offset and run id, cleanup --dry-run",
        async () => {
          const history = record(await sh(["history"])) as { manifests: Array<Record<string, unknown>> };
          expect(history.manifests.map((m) => [m.offset, m.run_id, m.current, m.ref])).toEqual([
            [0, "cli-new", true, newRef],
            [1, "cli-old", false, oldRef],
          ]);

          const pinned = await sh(["--ref", oldRef, "get", "7", "--value-encoding", "utf8"]);
          expect(record(pinned).value).toBe("old-7");
          const byOffset = await sh(["--offset", "1", "get", "7", "--value-encoding", "utf8"]);
          expect(record(byOffset).value).toBe("old-7");
          expect((await readCurrentState({ store, prefix }))?.pointer?.manifestRef).toBe(newRef);

          const rolled = await sh(["rollback", "--offset", "1"]);
          expect(rolled.code).toBe(0);
          expect(record(rolled)).toMatchObject({
            op: "rollback",
            manifest_ref: oldRef,
            run_id: "cli-old",
            changed: true,
          });
          expect((await readCurrentState({ store, prefix }))?.pointer?.manifestRef).toBe(oldRef);
          expect(record(await sh(["get", "7", "--value-encoding", "utf8"])).value).toBe("old-7");

          const forward = await sh(["rollback", "--run-id", "cli-new"]);
          expect(record(forward)).toMatchObject({ manifest_ref: newRef, previous_ref: oldRef });
          expect((await readCurrentState({ store, prefix }))?.pointer?.manifestRef).toBe(newRef);

          const before = (await store.list(`${prefix}/shards/`)).objects.length;
          const dry = await sh(["cleanup", "--dry-run"]);
          expect(dry.code).toBe(0);
          const cleanup = record(dry) as { dry_run: boolean; deleted: Array<{ run_id: string }> };
          expect(cleanup.dry_run).toBe(true);
          expect(cleanup.deleted.map((d) => d.run_id)).toEqual(["cli-old"]);
          expect((await store.list(`${prefix}/shards/`)).objects.length).toBe(before);
          const kept = record(await sh(["cleanup", "--dry-run", "--keep-last", "2"])) as {
            deleted: unknown[];
          };
          expect(kept.deleted).toEqual([]);
        },
        TIMEOUT,
      );

      test(
        "bad input: non-integer key, unknown option values, missing _CURRENT",
        async () => {
          const badKey = await sh(["get", "abc"]);
          expect(badKey.code).toBe(1);
          expect(badKey.stdout).toBe("");
          expect(JSON.parse(badKey.stderr)).toMatchObject({
            op: "get",
            key: "abc",
            error_type: "ConfigValidationError",
          });
          expect(badKey.stderr).toContain("u64be");

          const badEncoding = await sh(["--value-encoding", "base32", "get", "1"]);
          expect(badEncoding.code).toBe(2);
          expect(badEncoding.stderr).toContain("base32");
          const badFormat = await sh(["-o", "yaml", "info"]);
          expect(badFormat.code).toBe(2);
          const badOffset = await sh(["rollback", "--offset", "x"]);
          expect(badOffset.code).toBe(2);
          const twoTargets = await sh(["rollback", "--run-id", "a", "--offset", "1"]);
          expect(twoTargets.code).toBe(2);

          const missing = await runShardy(runner, [
            "--current-url",
            currentUrlOf(store, `${store.baseUrl}/${prefix}-none`),
            ...base.slice(2),
            "get",
            "1",
          ]);
          expect(missing.code).toBe(1);
          expect(JSON.parse(missing.stderr)).toMatchObject({ op: "get", error_type: "ReaderStateError" });
          expect(missing.stderr).toContain("CURRENT pointer not found");

          const noUrl = await runShardy(runner, ["get", "1"]);
          expect(noUrl.code).toBe(2);
          expect(noUrl.stderr).toContain("--current-url");
        },
        TIMEOUT,
      );
    });
  }
}
