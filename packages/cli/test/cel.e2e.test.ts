/**
 * CEL routing through the real command: `build-snapshot --cel-expr --cel-columns
 * [--routing-values]`, then `route`/`get`/`multiget` with `--routing-context NAME=VALUE` typed by
 * the snapshot's cel_columns, and the bad-input paths (compile error with a caret, missing or
 * mistyped context, unknown token).
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { tempDir } from "../../reader/test/helpers/snapshots.ts";
import { expectExit, record, runShardy, sourceRunner } from "./helpers/shardy.ts";

const TIMEOUT = 90_000;
const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const runner = sourceRunner();

/** The smoke data as NDJSON: id 0..9, value "zero".."nine", group "a" even / "b" odd. */
function smokeInput(): { dir: string; input: string } {
  const dir = tempDir();
  const input = path.join(dir, "smoke.ndjson");
  writeFileSync(
    input,
    WORDS.map((w, i) => JSON.stringify({ id: i, value: w, group: i % 2 === 0 ? "a" : "b" })).join("\n"),
  );
  return { dir, input };
}

async function build(extra: string[]): Promise<{ snap: string; build: Record<string, unknown> }> {
  const { dir, input } = smokeInput();
  const snap = path.join(dir, "snap");
  const res = await runShardy(runner, [
    "build-snapshot",
    input,
    "--key-col",
    "id",
    "--value-col",
    "value",
    "--output-dir",
    snap,
    "--backend",
    "sqlite",
    "--workers",
    "0",
    "--no-progress",
    ...extra,
  ]);
  expectExit(res, 0, "build-snapshot");
  return { snap, build: record(res) };
}

const read = (snap: string, args: string[]) =>
  runShardy(runner, ["--current-url", path.join(snap, "_CURRENT"), ...args, "--value-encoding", "utf8"]);

describe("CEL through the shardy command", () => {
  test(
    "group with --routing-values a,b: route/get/multiget with --routing-context group=...",
    async () => {
      const { snap, build: b } = await build([
        "--cel-expr",
        "group",
        "--cel-columns",
        "group:string",
        "--routing-values",
        "a,b",
      ]);
      expect(b.num_dbs).toBe(2);
      const info = record(await read(snap, ["info"])) as { sharding: Record<string, unknown> };
      expect(JSON.stringify(info.sharding)).toContain('"routing_values":["a","b"]');

      const route = await read(snap, ["route", "3", "--routing-context", "group=b"]);
      expectExit(route, 0, "route");
      expect(record(route)).toMatchObject({ db_id: 1 });
      const got = await read(snap, ["get", "3", "--routing-context", "group=b"]);
      expectExit(got, 0, "get");
      expect(record(got)).toMatchObject({ found: true, value: "three" });
      // The context picks the shard: key 3 is not in group a's shard.
      expect(record(await read(snap, ["get", "3", "--routing-context", "group=a"]))).toMatchObject({
        found: false,
      });
      const multi = await read(snap, ["multiget", "0", "2", "4", "--routing-context", "group=a"]);
      expectExit(multi, 0, "multiget");
      expect(record(multi)).toMatchObject({
        results: [
          { key: "0", found: true, value: "zero" },
          { key: "2", found: true, value: "two" },
          { key: "4", found: true, value: "four" },
        ],
      });
      // Unknown token: a miss for get, an error for route.
      expect(record(await read(snap, ["get", "0", "--routing-context", "group=zzz"]))).toMatchObject({
        found: false,
      });
      const badRoute = await read(snap, ["route", "0", "--routing-context", "group=zzz"]);
      expect(badRoute.code).not.toBe(0);
      expect(badRoute.stderr).toContain("routing_values");
      // No context, or a column the snapshot does not route by.
      const none = await read(snap, ["get", "0"]);
      expect(none.code).not.toBe(0);
      expect(none.stderr).toContain("routing_context");
      const wrong = await read(snap, ["get", "0", "--routing-context", "region=eu"]);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toContain("group");
    },
    TIMEOUT,
  );

  test(
    "key % 3 (key-only, direct): 3 shards, route and get without a context; int context typed",
    async () => {
      const { snap, build: b } = await build(["--cel-expr", "key % 3", "--cel-columns", "key:int"]);
      expect(b.num_dbs).toBe(3);
      for (const k of [0, 4, 8]) {
        const route = await read(snap, ["route", String(k)]);
        expectExit(route, 0, "route");
        expect(record(route)).toMatchObject({ db_id: k % 3 });
        expect(record(await read(snap, ["get", String(k)]))).toMatchObject({ found: true, value: WORDS[k] });
      }
    },
    TIMEOUT,
  );

  test(
    "multi-column int context is typed from cel_columns",
    async () => {
      const { snap, build: b } = await build([
        "--cel-expr",
        'group == "b" ? 2 : key % 4 / 2',
        "--cel-columns",
        '{"key":"int","group":"string"}',
      ]);
      expect(b.num_dbs).toBe(3);
      const route = await read(snap, [
        "route",
        "6",
        "--routing-context",
        "key=6",
        "--routing-context",
        "group=a",
      ]);
      expectExit(route, 0, "route");
      expect(record(route)).toMatchObject({ db_id: 1 });
      const got = await read(snap, [
        "get",
        "6",
        "--routing-context",
        "key=6",
        "--routing-context",
        "group=a",
      ]);
      expect(record(got)).toMatchObject({ found: true, value: "six" });
      const mistyped = await read(snap, [
        "get",
        "6",
        "--routing-context",
        "key=six",
        "--routing-context",
        "group=a",
      ]);
      expect(mistyped.code).not.toBe(0);
      expect(mistyped.stderr).toContain("key is int");
    },
    TIMEOUT,
  );

  test(
    "bad CEL input: compile error with a caret, flags that need --cel-expr, unknown token in the writer",
    async () => {
      const { dir, input } = smokeInput();
      const base = ["build-snapshot", input, "--key-col", "id", "--value-col", "value", "--no-progress"];
      const compile = await runShardy(runner, [
        ...base,
        "--output-dir",
        path.join(dir, "a"),
        "--cel-expr",
        "key %% 3",
        "--cel-columns",
        "key:int",
      ]);
      expect(compile.code).not.toBe(0);
      expect(compile.stderr).toContain("key %% 3");
      expect(compile.stderr).toContain("^");
      const orphan = await runShardy(runner, [
        ...base,
        "--output-dir",
        path.join(dir, "b"),
        "--routing-values",
        "a",
      ]);
      expect(orphan.code).not.toBe(0);
      expect(orphan.stderr).toContain("--cel-expr");
      const unknown = await runShardy(runner, [
        ...base,
        "--output-dir",
        path.join(dir, "c"),
        "--cel-expr",
        "group",
        "--cel-columns",
        "group:string",
        "--routing-values",
        "a",
      ]);
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toContain("ShardAssignmentError");
      expect(unknown.stderr).toContain('token \\"b\\" at row 1');
    },
    TIMEOUT,
  );
});
