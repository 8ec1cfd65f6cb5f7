/**
 * `shardy write-shard --db-ids`: one process writes every shard of an engine partition from one
 * Arrow IPC stream whose rows carry their shard id; a stream cut short (no end-of-stream marker)
 * is an error in both modes; a `_CURRENT` failure names the uploaded manifest in the error record.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { getKernel } from "@shardy/kernel";
import { ShardedReader } from "@shardy/reader";
import { FileStore } from "@shardy/store";
import { RecordBatchStreamWriter, tableFromArrays, tableToIPC } from "apache-arrow";
import { tempDir } from "../../reader/test/helpers/snapshots.ts";
import { expectExit, record, runShardy, sourceRunner } from "./helpers/shardy.ts";

const kernel = await getKernel();
const TIMEOUT = 60_000;
const runner = sourceRunner();
const NUM_DBS = 4;

/** Rows `id`, `value`, `_shard_id` (routed by the kernel) as an IPC stream of `batches` batches. */
function routedIpc(
  keys: bigint[],
  batches = 1,
  shardOf = (k: bigint) => kernel.routeKey(k, NUM_DBS),
): Uint8Array {
  const table = tableFromArrays({
    id: BigInt64Array.from(keys),
    value: keys.map((k) => `v${k}`),
  });
  // An Int32Array makes an int32 column, the type the shells send.
  const withIds = table.assign(tableFromArrays({ _shard_id: Int32Array.from(keys.map(shardOf)) }));
  const writer = new RecordBatchStreamWriter();
  const per = Math.ceil(keys.length / batches);
  for (let i = 0; i < keys.length; i += per)
    for (const b of withIds.slice(i, i + per).batches) writer.write(b);
  writer.finish();
  return writer.toUint8Array(true);
}

function flags(dir: string, runId: string): string[] {
  return [
    "--output-dir",
    dir,
    "--run-id",
    runId,
    "--num-dbs",
    String(NUM_DBS),
    "--key-col",
    "id",
    "--backend",
    "sqlite",
    "--value-col",
    "value",
  ];
}

describe("write-shard --db-ids", () => {
  test(
    "one stream, several shards: a result line per listed shard (an empty one included), then publish and read",
    async () => {
      const dir = tempDir();
      const keys = Array.from({ length: 300 }, (_, i) => BigInt(i * 7));
      const present = [...new Set(keys.map((k) => kernel.routeKey(k, NUM_DBS)))].sort();
      // Shard 3's rows are left out: listed, it must come back as an empty shard.
      const kept = keys.filter((k) => kernel.routeKey(k, NUM_DBS) !== 3);
      expect(present).toContain(3);
      const res = await runShardy(runner, ["write-shard", ...flags(dir, "multi"), "--db-ids", "3,0,1,2"], {
        stdin: routedIpc(kept, 5),
      });
      expectExit(res, 0, "write-shard --db-ids");
      const lines = res.stdout.trim().split("\n");
      const results = lines.map((l) => JSON.parse(l));
      expect(results.map((r) => r.db_id)).toEqual([0, 1, 2, 3]);
      for (const r of results) {
        const expected = kept.filter((k) => kernel.routeKey(k, NUM_DBS) === r.db_id).length;
        expect(r.row_count).toBe(expected);
      }
      expect(results[3]).toMatchObject({ db_url: null, row_count: 0 });

      const published = await runShardy(runner, ["publish", ...flags(dir, "multi").slice(0, -2)], {
        stdin: `${lines.join("\n")}\n`,
      });
      expectExit(published, 0, "publish");
      expect((record(published) as { stats: { rows_written: number } }).stats.rows_written).toBe(kept.length);
      const reader = await ShardedReader.open({
        store: new FileStore(dir),
        prefix: "",
        sqlite: { localRoot: tempDir() },
      });
      try {
        const got = (await reader.multiGet(kept)).map((v) => (v ? new TextDecoder().decode(v) : v));
        expect(got).toEqual(kept.map((k) => `v${k}`));
      } finally {
        await reader.close();
      }
    },
    TIMEOUT,
  );

  test(
    "a row of an unlisted shard, a row routed elsewhere, and --db-id with --db-ids are refused",
    async () => {
      const dir = tempDir();
      const keys = Array.from({ length: 40 }, (_, i) => BigInt(i));
      const unlisted = await runShardy(runner, ["write-shard", ...flags(dir, "bad"), "--db-ids", "0,1"], {
        stdin: routedIpc(keys),
      });
      expect(unlisted.code).toBe(1);
      expect(JSON.parse(unlisted.stderr)).toMatchObject({ error_type: "ShardAssignmentError" });
      expect(unlisted.stderr).toContain("takes shards [0, 1] only");

      // The shard-id column says 0 for every row, but the keys route elsewhere under --num-dbs.
      const lying = await runShardy(runner, ["write-shard", ...flags(dir, "bad"), "--db-ids", "0"], {
        stdin: routedIpc(keys, 1, () => 0),
      });
      expect(lying.code).toBe(1);
      expect(JSON.parse(lying.stderr)).toMatchObject({ error_type: "ShardAssignmentError" });
      expect((await new FileStore(dir).list("shards/")).objects).toEqual([]);

      const both = await runShardy(runner, [
        "write-shard",
        ...flags(dir, "bad"),
        "--db-id",
        "0",
        "--db-ids",
        "0",
      ]);
      expect(both.code).toBe(2);
      expect(both.stderr).toContain("--db-ids");
      const badList = await runShardy(runner, ["write-shard", ...flags(dir, "bad"), "--db-ids", "0,,2"]);
      expect(badList.code).toBe(2);
      expect(badList.stderr).toContain("0,,2");
    },
    TIMEOUT,
  );
});

describe("write-shard needs the end-of-stream marker", () => {
  const keys = Array.from({ length: 200 }, (_, i) => BigInt(i));
  const shard0 = keys.filter((k) => kernel.routeKey(k, NUM_DBS) === 0);
  const whole = tableToIPC(
    tableFromArrays({ id: BigInt64Array.from(shard0), value: shard0.map((k) => `v${k}`) }),
  );
  const cuts: Array<[string, (ipc: Uint8Array) => Uint8Array, string]> = [
    // Exactly at a message boundary: Arrow's reader alone would end quietly with fewer rows.
    ["without the marker", (ipc) => ipc.subarray(0, ipc.length - 8), "end-of-stream marker"],
    ["inside a record batch", (ipc) => ipc.subarray(0, ipc.length - 40), "stdin (Arrow IPC stream)"],
  ];
  for (const [name, cut, says] of cuts) {
    test(
      `a stream cut ${name} fails (--db-id and --db-ids) and writes nothing`,
      async () => {
        const dir = tempDir();
        const single = await runShardy(runner, ["write-shard", ...flags(dir, "cut"), "--db-id", "0"], {
          stdin: cut(whole),
        });
        expect(single.code).toBe(1);
        expect(JSON.parse(single.stderr)).toMatchObject({ error_type: "ConfigValidationError" });
        expect(single.stderr).toContain(says);
        expect(single.stdout).toBe("");
        const multi = await runShardy(runner, ["write-shard", ...flags(dir, "cut"), "--db-ids", "0,1,2,3"], {
          stdin: cut(routedIpc(keys, 3)),
        });
        expect(multi.code).toBe(1);
        expect(JSON.parse(multi.stderr)).toMatchObject({ error_type: "ConfigValidationError" });
        expect(multi.stderr).toContain(says);
        expect(multi.stdout).toBe("");
        expect((await new FileStore(dir).list("shards/")).objects).toEqual([]);
      },
      TIMEOUT,
    );
  }

  test(
    "the whole stream (with its marker) is written",
    async () => {
      const dir = tempDir();
      const res = await runShardy(runner, ["write-shard", ...flags(dir, "whole"), "--db-id", "0"], {
        stdin: whole,
      });
      expectExit(res, 0, "write-shard");
      expect(JSON.parse(res.stdout)).toMatchObject({ db_id: 0, row_count: shard0.length });
    },
    TIMEOUT,
  );
});

describe("publish: the _CURRENT error record", () => {
  test(
    "names the uploaded manifest in manifest_ref",
    async () => {
      const dir = tempDir();
      const keys = Array.from({ length: 30 }, (_, i) => BigInt(i));
      const written = await runShardy(runner, ["write-shard", ...flags(dir, "cur"), "--db-ids", "0,1,2,3"], {
        stdin: routedIpc(keys),
      });
      expectExit(written, 0, "write-shard");
      // A directory where the pointer file goes: the manifest uploads, the pointer cannot.
      mkdirSync(path.join(dir, "_CURRENT"));
      const published = await runShardy(
        runner,
        ["publish", ...flags(dir, "cur").slice(0, -2), "--publish-mode", "last-writer-wins"],
        { stdin: written.stdout },
      );
      expect(published.code).toBe(1);
      const rec = JSON.parse(published.stderr) as { error_type: string; manifest_ref: string };
      expect(rec.error_type).toBe("PublishCurrentError");
      expect(rec.manifest_ref).toContain("/manifests/");
      const manifestKey = rec.manifest_ref.slice(new FileStore(dir).baseUrl.length + 1);
      expect(await new FileStore(dir).get(manifestKey)).toBeDefined();
    },
    TIMEOUT,
  );
});

/** One `write-server` request frame: header length, `{"argv"}`, body length, body. */
function frame(argv: string[], body: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ argv }));
  const out = new Uint8Array(12 + header.length + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, header.length, true);
  out.set(header, 4);
  view.setBigUint64(4 + header.length, BigInt(body.length), true);
  out.set(body, 12 + header.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe("write-server", () => {
  test(
    "runs write-shard requests one after another in one process, a failed one included",
    async () => {
      const dir = tempDir();
      const keys = Array.from({ length: 120 }, (_, i) => BigInt(i));
      const half = (db: number) => keys.filter((k) => kernel.routeKey(k, NUM_DBS) % 2 === db);
      const call = (ids: string) => ["-o", "jsonl", "write-shard", ...flags(dir, "srv"), "--db-ids", ids];
      const evens = half(0);
      const odds = half(1);
      const stdin = concat([
        frame(call("0,2"), routedIpc(evens)),
        // Rows of shards 1 and 3 sent as shard 1 only: refused, and the server goes on.
        frame(call("1"), routedIpc(odds)),
        frame(call("1,3"), routedIpc(odds, 2)),
        frame(["get", "1"], new Uint8Array(0)),
      ]);
      const res = await runShardy(runner, ["write-server"], { stdin });
      expectExit(res, 0, "write-server");
      const responses = res.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { code: number; stdout: string; stderr: string });
      expect(responses.map((r) => r.code)).toEqual([0, 1, 0, 2]);
      const results = [responses[0]!, responses[2]!].flatMap((r) =>
        r.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l)),
      );
      expect(results.map((r) => r.db_id)).toEqual([0, 2, 1, 3]);
      expect(results.reduce((n, r) => n + r.row_count, 0)).toBe(keys.length);
      expect(JSON.parse(responses[1]!.stderr)).toMatchObject({ error_type: "ShardAssignmentError" });
      expect(responses[3]!.stderr).toContain("write-shard command line");

      const published = await runShardy(runner, ["publish", ...flags(dir, "srv").slice(0, -2)], {
        stdin: `${responses[0]!.stdout}${responses[2]!.stdout}`,
      });
      expectExit(published, 0, "publish");
      expect((record(published) as { stats: { rows_written: number } }).stats.rows_written).toBe(keys.length);
    },
    TIMEOUT,
  );

  test(
    "a request cut short ends the server with exit 1",
    async () => {
      const dir = tempDir();
      const whole = frame(["write-shard", ...flags(dir, "cut"), "--db-ids", "0"], routedIpc([1n]));
      const res = await runShardy(runner, ["write-server"], { stdin: whole.subarray(0, whole.length - 10) });
      expect(res.code).toBe(1);
      expect(JSON.parse(res.stderr)).toMatchObject({
        op: "write-server",
        error_type: "ConfigValidationError",
      });
      expect(res.stderr).toContain("ended inside a request frame");
    },
    TIMEOUT,
  );
});
