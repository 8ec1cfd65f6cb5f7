/**
 * The Dask/Ray path end to end through the real command (from source, and the compiled executable
 * with no Bun on PATH), on the file store and MinIO: each shard's rows go as an Arrow IPC stream to
 * `shardy write-shard`, whose JSON results go to `shardy publish` (the reference's 24-row publish
 * scenario), including a retried shard whose losing attempt is cleaned up. Then `build-snapshot`
 * and the bad-input paths.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { readCurrentState } from "@shardy/core";
import { getKernel } from "@shardy/kernel";
import { ShardedReader } from "@shardy/reader";
import { FileStore, type ObjectStore, S3Store } from "@shardy/store";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import { tempDir } from "../../reader/test/helpers/snapshots.ts";
import { minioStoreOptions, readS3TestEnv } from "../../store/test/s3-env.ts";
import { binaryRunner, expectExit, type Runner, record, runShardy, sourceRunner } from "./helpers/shardy.ts";

const kernel = await getKernel();
const TIMEOUT = 90_000;
let uniq = 0;

interface Target {
  name: string;
  store: ObjectStore;
  prefix: string;
  /** Flags naming the snapshot location for the write verbs. */
  where: string[];
  /** Global flags (credentials) that go before the verb. */
  globals: string[];
  currentUrl: string;
}

function fileTarget(): Target {
  const dir = tempDir();
  const store = new FileStore(dir, { fsync: false });
  return {
    name: "file",
    store,
    prefix: "",
    where: ["--output-dir", dir],
    globals: [],
    currentUrl: path.join(dir, "_CURRENT"),
  };
}

function minioTarget(): Target {
  const env = readS3TestEnv();
  const store = new S3Store(minioStoreOptions());
  const prefix = `cli-write/${Date.now().toString(36)}-${process.pid}-${++uniq}`;
  const creds = path.join(tempDir(), "credentials.toml");
  writeFileSync(
    creds,
    `[default]\nendpoint_url = "${env.endpoint}"\nregion = "${env.region}"\naccess_key_id = "${env.accessKey}"\n` +
      `secret_access_key = "${env.secretKey}"\naddressing_style = "path"\n`,
  );
  chmodSync(creds, 0o600);
  const url = `s3://${env.bucket}/${prefix}`;
  return {
    name: "s3 (MinIO)",
    store,
    prefix,
    where: ["--s3-prefix", url],
    globals: ["--credentials", creds],
    currentUrl: `${url}/_CURRENT`,
  };
}

/** One shard's rows as an Arrow IPC stream (int64 key column `id`, utf8 column `value`). */
function shardIpc(keys: bigint[]): Uint8Array {
  const table = tableFromArrays({
    id: BigInt64Array.from(keys),
    value: keys.map((k) => `v${k}`),
  });
  return tableToIPC(table, "stream");
}

const runners: Array<[string, () => Promise<Runner>]> = [
  ["bun main.ts", async () => sourceRunner()],
  ["compiled binary", binaryRunner],
];

for (const [runnerName, makeRunner] of runners) {
  for (const makeTarget of [fileTarget, minioTarget]) {
    describe(`write-shard + publish (${runnerName})`, () => {
      test(
        `${makeTarget === fileTarget ? "file" : "s3 (MinIO)"}: 24 rows, 4 shards, a retried shard, loser cleanup`,
        async () => {
          const runner = await makeRunner();
          const t = makeTarget();
          const runId = `wp${Date.now().toString(36)}${++uniq}`;
          const numDbs = 4;
          const keys = Array.from({ length: 24 }, (_, i) => BigInt(i));
          const byShard = new Map<number, bigint[]>();
          for (const k of keys) {
            const id = kernel.routeKey(k, numDbs);
            byShard.set(id, [...(byShard.get(id) ?? []), k]);
          }
          const common = [
            ...t.where,
            "--run-id",
            runId,
            "--num-dbs",
            String(numDbs),
            "--key-col",
            "id",
            "--backend",
            "sqlite",
          ];
          const lines: string[] = [];
          for (const [dbId, shardKeys] of [...byShard].sort((a, b) => a[0] - b[0])) {
            const res = await runShardy(
              runner,
              [...t.globals, "write-shard", ...common, "--value-col", "value", "--db-id", String(dbId)],
              { stdin: shardIpc(shardKeys) },
            );
            expectExit(res, 0, `write-shard db ${dbId}`);
            expect(res.stderr).toBe("");
            const result = JSON.parse(res.stdout);
            expect(result).toMatchObject({ db_id: dbId, attempt: 0, row_count: shardKeys.length });
            expect(result.db_url).toContain(`run_id=${runId}/db=${String(dbId).padStart(5, "0")}/attempt=00`);
            lines.push(res.stdout.trim());
          }
          // A speculative re-run of shard 0 (attempt 1): it must lose to attempt 0 and be deleted.
          const first = [...byShard.keys()].sort((a, b) => a - b)[0]!;
          const retry = await runShardy(
            runner,
            [
              ...t.globals,
              "write-shard",
              ...common,
              "--value-col",
              "value",
              "--db-id",
              String(first),
              "--attempt",
              "1",
            ],
            { stdin: shardIpc(byShard.get(first)!) },
          );
          expectExit(retry, 0, "write-shard retry");
          const loserUrl = JSON.parse(retry.stdout).db_url as string;
          expect(loserUrl).toContain("attempt=01");
          lines.push(retry.stdout.trim());

          const published = await runShardy(runner, [...t.globals, "publish", ...common.slice(0, -2)], {
            stdin: `${lines.join("\n")}\n`,
          });
          expectExit(published, 0, "publish");
          expect(published.stderr).toBe("");
          const build = record(published) as {
            manifest_ref: string;
            run_id: string;
            winners: Array<{ db_id: number; attempt: number }>;
            stats: { rows_written: number; num_winners: number; num_attempt_results: number };
          };
          expect(build.run_id).toBe(runId);
          expect(build.winners.length).toBe(byShard.size);
          expect(build.winners.every((w) => w.attempt === 0)).toBe(true);
          expect(build.stats).toMatchObject({
            rows_written: 24,
            num_winners: byShard.size,
            num_attempt_results: byShard.size + 1,
          });
          const base = t.store.baseUrl.startsWith("file://")
            ? pathToFileURL(path.dirname(t.currentUrl)).href
            : t.currentUrl.slice(0, -"/_CURRENT".length);
          expect(build.manifest_ref.startsWith(`${base}/manifests/`)).toBe(true);
          expect((await readCurrentState({ store: t.store, prefix: t.prefix }))?.pointer?.manifestRef).toBe(
            build.manifest_ref,
          );
          const loserKey = loserUrl.slice(t.store.baseUrl.length + 1);
          expect((await t.store.list(`${loserKey}/`)).objects).toEqual([]);

          const reader = await ShardedReader.open({
            store: t.store,
            prefix: t.prefix,
            sqlite: { localRoot: tempDir() },
          });
          try {
            const values = (await reader.multiGet(keys)).map((v) => (v ? new TextDecoder().decode(v) : v));
            expect(values).toEqual(keys.map((k) => `v${k}`));
          } finally {
            await reader.close();
          }
          const got = await runShardy(runner, [
            ...t.globals,
            "--current-url",
            t.currentUrl,
            "get",
            "23",
            "--value-encoding",
            "utf8",
          ]);
          expect(record(got)).toMatchObject({ found: true, value: "v23" });
        },
        TIMEOUT,
      );
    });
  }

  describe(`build-snapshot and bad input (${runnerName})`, () => {
    test(
      "build-snapshot from NDJSON with progress lines on stderr, then get",
      async () => {
        const runner = await makeRunner();
        const dir = tempDir();
        const input = path.join(dir, "rows.ndjson");
        writeFileSync(
          input,
          Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: i, name: `n${i}` })).join("\n"),
        );
        const snap = path.join(dir, "snap");
        const res = await runShardy(
          runner,
          [
            "build-snapshot",
            input,
            "--key-col",
            "id",
            "--json-cols",
            "name",
            "--num-dbs",
            "3",
            "--output-dir",
            snap,
            "--backend",
            "sqlite",
            "--workers",
            "2",
          ],
          { env: { SHARDY_PROGRESS_INTERVAL_MS: "1" } },
        );
        expectExit(res, 0, "build-snapshot");
        expect(res.stderr).toContain("[shardy]");
        expect(res.stderr).toContain("rows/s");
        const build = record(res) as { stats: { rows_written: number }; num_dbs: number };
        expect(build.stats.rows_written).toBe(500);
        expect(build.num_dbs).toBe(3);
        const got = await runShardy(runner, [
          "--current-url",
          path.join(snap, "_CURRENT"),
          "get",
          "42",
          "--value-encoding",
          "utf8",
        ]);
        expect(record(got)).toMatchObject({ found: true, value: '{"name":"n42"}' });
      },
      TIMEOUT,
    );

    test(
      "write-shard: garbage on stdin fails with exit 1 and writes nothing; missing flags are usage errors",
      async () => {
        const runner = await makeRunner();
        const dir = tempDir();
        const flags = [
          "--output-dir",
          dir,
          "--run-id",
          "bad",
          "--num-dbs",
          "2",
          "--key-col",
          "id",
          "--value-col",
          "value",
          "--db-id",
          "0",
        ];
        const garbage = await runShardy(runner, ["write-shard", ...flags], { stdin: "this is not arrow" });
        expect(garbage.code).toBe(1);
        expect(JSON.parse(garbage.stderr)).toMatchObject({
          op: "write-shard",
          error_type: "ConfigValidationError",
        });
        expect(garbage.stdout).toBe("");
        expect((await new FileStore(dir).list("shards/")).objects).toEqual([]);

        const noDb = await runShardy(runner, ["write-shard", ...flags.slice(0, -2)], { stdin: "" });
        expect(noDb.code).toBe(2);
        expect(noDb.stderr).toContain("--db-id");
        const noValue = await runShardy(runner, [
          "write-shard",
          ...flags.filter((f) => f !== "--value-col" && f !== "value"),
        ]);
        expect(noValue.code).toBe(2);
        const badEncoding = await runShardy(runner, ["write-shard", ...flags, "--key-encoding", "u128"]);
        expect(badEncoding.code).toBe(2);
        expect(badEncoding.stderr).toContain("u128");

        // A key routed to another shard is refused (routing is verified against --num-dbs).
        const wrongShard = [0n, 1n, 2n, 3n].find((k) => kernel.routeKey(k, 2) !== 0)!;
        const misrouted = await runShardy(runner, ["write-shard", ...flags], {
          stdin: shardIpc([wrongShard]),
        });
        expect(misrouted.code).toBe(1);
        expect(misrouted.stderr).toContain(String(wrongShard));

        const badPublish = await runShardy(runner, ["publish", ...flags.slice(0, 8)], {
          stdin: '{"db_id": "x", "attempt": 0, "row_count": 1}\n',
        });
        expect(badPublish.code).toBe(1);
        expect(badPublish.stderr).toContain("db_id");
        expect(await new FileStore(dir).get("_CURRENT")).toBeUndefined();
      },
      TIMEOUT,
    );
  });
}
