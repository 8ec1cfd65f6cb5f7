/**
 * CEL routing in the single-host build (reference §4.2, §11 CEL smoke scenarios): every key sits
 * in exactly the shard its expression predicts (computed here without the CEL evaluator), the
 * manifest records the CEL sharding, and bad input fails with the typed errors.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { validateCelConfig } from "@shardy/core";
import { ConfigValidationError, ShardAssignmentError } from "@shardy/errors";
import { getKernel } from "@shardy/kernel";
import { FileStore } from "@shardy/store";
import { Int64, Table, Utf8, vectorFromArray } from "apache-arrow";
import { buildSnapshot, publishShardResults, ValueSpec, writeShard } from "../src/index.ts";
import {
  binaryVector,
  hex,
  inspectSnapshot,
  removeTempDirs,
  smokeTable,
  tempDir,
  u64,
  WORDS,
} from "./helpers.ts";

afterAll(removeTempDirs);

const kernel = await getKernel();
const KEYS = WORDS.map((_, i) => BigInt(i));

function location(label: string) {
  const dir = tempDir(label);
  return {
    config: { s3_prefix: `file://${dir}`, adapter_factory: { kind: "sqlite" } },
    store: new FileStore(dir),
  };
}

async function build(
  label: string,
  sharding: Record<string, unknown>,
  workers: number,
  inputs = smokeTable(),
) {
  const loc = location(label);
  const result = await buildSnapshot({
    inputs,
    config: { ...loc.config, ...sharding },
    input: { key_col: "id", value_spec: ValueSpec.binaryCol("value") },
    workers,
  });
  const view = await inspectSnapshot(loc.store, "");
  return { result, view };
}

/** Each key in exactly shard `predict(i)` and nowhere else, with its value. */
function expectPlacement(view: Awaited<ReturnType<typeof inspectSnapshot>>, predict: (i: number) => number) {
  for (const [i, word] of WORDS.entries()) {
    const k = hex(u64(i));
    const holders = [...view.shards].filter(([, pairs]) => pairs.has(k)).map(([d]) => d);
    expect({ key: i, shards: holders }).toEqual({ key: i, shards: [predict(i)] });
    expect(new TextDecoder().decode(view.shards.get(predict(i))!.get(k))).toBe(word);
  }
}

for (const workers of [0, 2]) {
  describe(`CEL smoke scenarios, file store, workers=${workers}`, () => {
    test("key % 3 (direct): 3 winners, key i in shard i % 3", async () => {
      const { result, view } = await build(
        "cel-mod3",
        { cel_expr: "key % 3", cel_columns: { key: "int" } },
        workers,
      );
      expect(result.numDbs).toBe(3);
      expect(result.winners.length).toBe(3);
      expect(view.manifest.build.sharding).toEqual({
        strategy: "cel",
        hashAlgorithm: "xxh3_64",
        celExpr: "key % 3",
        celColumns: { key: "int" },
        routingValues: null,
      });
      expectPlacement(view, (i) => i % 3);
    });

    test("shard_hash(key) % 3u: 3 winners, same shards as HASH routing with 3 shards", async () => {
      const { result, view } = await build(
        "cel-hash3",
        { strategy: "cel", sharding: { cel_expr: "shard_hash(key) % 3u", cel_columns: { key: "int" } } },
        workers,
      );
      expect(result.winners.length).toBe(3);
      expectPlacement(view, (i) => kernel.routeKey(KEYS[i]!, 3));
    });

    test("uint(key) (direct): 10 winners, key i in shard i", async () => {
      const { result, view } = await build(
        "cel-uint",
        { cel_expr: "uint(key)", cel_columns: { key: "int" } },
        workers,
      );
      expect(result.numDbs).toBe(10);
      expect(result.winners.length).toBe(10);
      expectPlacement(view, (i) => i);
    });

    test('group with routing_values ["a","b"]: 2 winners, even keys in 0, odd in 1', async () => {
      const { result, view } = await build(
        "cel-group",
        { cel_expr: "group", cel_columns: { group: "string" }, routing_values: ["a", "b"] },
        workers,
      );
      expect(result.winners.length).toBe(2);
      expect(view.manifest.build.sharding.routingValues).toEqual(["a", "b"]);
      expect(view.manifest.build.sharding.celColumns).toEqual({ group: "string" });
      expectPlacement(view, (i) => i % 2);
    });
  });
}

describe("CEL routing modes", () => {
  test("inferred categorical: tokens sorted by code point, recorded in the manifest", async () => {
    const enc = new TextEncoder();
    const regions = ["zz", "é", "b", "B", "zz", "b"];
    const table = new Table({
      id: vectorFromArray(
        regions.map((_, i) => BigInt(i)),
        new Int64(),
      ),
      value: binaryVector(regions.map((r) => enc.encode(r))),
      region: vectorFromArray(regions, new Utf8()),
    });
    const { result, view } = await build(
      "cel-infer",
      { cel_expr: "region", cel_columns: { region: "string" }, infer_routing_values_from_data: true },
      0,
      table,
    );
    const sorted = ["B", "b", "zz", "é"];
    expect(view.manifest.build.sharding.routingValues).toEqual(sorted);
    expect(result.numDbs).toBe(4);
    for (const [i, r] of regions.entries()) {
      expect(view.shards.get(sorted.indexOf(r))!.has(hex(u64(i)))).toBe(true);
    }
  });

  test("multi-column expression over key and another column", async () => {
    const { view } = await build(
      "cel-multi",
      {
        cel_expr: 'group == "b" ? 2 : key % 4 / 2',
        cel_columns: { key: "int", group: "string" },
      },
      0,
    );
    // Odd keys are group "b" -> 2; even keys 0, 4, 8 -> 0 and 2, 6 -> 1.
    expect(view.manifest.build.numDbs).toBe(3);
    expectPlacement(view, (i) => (i % 2 === 1 ? 2 : (i % 4) / 2));
  }, 30_000);
});

describe("CEL bad input", () => {
  test("compile error: ConfigValidationError with the position and a caret line", async () => {
    const err = await build("cel-bad", { cel_expr: "key %% 3", cel_columns: { key: "int" } }, 0).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect(err.message).toContain("key %% 3");
    expect(err.message).toMatch(/\^/);
  });

  test("unknown token in the writer: ShardAssignmentError naming the row and the token", async () => {
    const err = await build(
      "cel-unknown",
      { cel_expr: "group", cel_columns: { group: "string" }, routing_values: ["a"] },
      0,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ShardAssignmentError);
    expect(err.message).toContain('"b"');
    expect(err.message).toContain("row 1");
  });

  test("runtime error (division by zero) names the row", async () => {
    const err = await build(
      "cel-div0",
      { cel_expr: "10 / (4 - key) + 10", cel_columns: { key: "int" } },
      0,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/division by zero|divide by zero/i);
    expect(err.message).toContain("row 4");
  });

  test("direct mode with non-consecutive ids is a ShardAssignmentError", async () => {
    const err = await build("cel-gap", { cel_expr: "key * 2", cel_columns: { key: "int" } }, 0).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ShardAssignmentError);
    expect(err.message).toContain("non-consecutive");
  });

  test("a cel_columns name missing from the input names the columns there are", async () => {
    const err = await build(
      "cel-nocol",
      { cel_expr: "region", cel_columns: { region: "string" }, routing_values: ["a"] },
      0,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect(err.message).toContain('"region"');
    expect(err.message).toContain('"group"');
  });
});

describe("CEL on the engine path (writeShard + publishShardResults)", () => {
  test('group with routing_values ["a","b"]: shards written per stream, manifest records the CEL sharding', async () => {
    const dir = tempDir("cel-engine");
    const config = {
      s3_prefix: `file://${dir}`,
      cel_expr: "group",
      cel_columns: { group: "string" },
      routing_values: ["a", "b"],
      adapter_factory: { kind: "sqlite" },
      output: { run_id: "cel-engine-run" },
    };
    const input = { key_col: "id", value_spec: ValueSpec.binaryCol("value") };
    const results = [];
    for (const dbId of [0, 1]) {
      // What an engine does: its own routing put even keys (group a) in shard 0, odd in 1.
      const rows = WORDS.map((_, i) => i).filter((i) => i % 2 === dbId);
      const slice = new Table({
        id: vectorFromArray(
          rows.map((i) => BigInt(i)),
          new Int64(),
        ),
        value: binaryVector(rows.map((i) => new TextEncoder().encode(WORDS[i]!))),
        group: vectorFromArray(
          rows.map((i) => (i % 2 === 0 ? "a" : "b")),
          new Utf8(),
        ),
      });
      results.push(await writeShard({ config, input, dbId, batches: slice.batches }));
    }
    const published = await publishShardResults({
      config: validateCelConfig(config),
      keyCol: "id",
      runId: "cel-engine-run",
      numDbs: 2,
      results,
    });
    expect(published.winners.length).toBe(2);
    const view = await inspectSnapshot(new FileStore(dir), "");
    expect(view.manifest.build.sharding.strategy).toBe("cel");
    expect(view.manifest.build.sharding.routingValues).toEqual(["a", "b"]);
    expectPlacement(view, (i) => i % 2);
  });
});
