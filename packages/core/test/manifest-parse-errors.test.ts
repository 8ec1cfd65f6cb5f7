/**
 * Every load-time validation rule (reference §3.1 "Validation on load" + the pydantic models) gives
 * a ManifestParseError that names the problem. Bad manifests are made by editing a good one with SQL.
 */
import { describe, expect, test } from "bun:test";
import { ManifestParseError } from "@shardy/errors";
import { buildManifestBytes, parseManifestBytes, SHARDS_DDL } from "../src/index.ts";
import { categoricalManifest, exampleManifest, mutate, shard } from "./helpers/manifests.ts";

async function expectParseError(bytes: Uint8Array, message: string | RegExp): Promise<void> {
  const err = await parseManifestBytes(bytes).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ManifestParseError);
  if (typeof message === "string") expect((err as Error).message).toContain(message);
  else expect((err as Error).message).toMatch(message);
}

const good = async () => {
  const m = exampleManifest();
  m.shards = [shard(0), shard(1)];
  return buildManifestBytes(m);
};
const sharding = (json: string) => `UPDATE build_meta SET sharding = '${json}'`;

describe("not a SQLite manifest", () => {
  test("JSON/YAML payload, garbage, empty, truncated header", async () => {
    for (const payload of [
      '{"required": {}}',
      "format_version: 4\n",
      "\u0000\u0001garbage",
      "",
      "SQLite format",
    ]) {
      await expectParseError(
        new TextEncoder().encode(payload),
        "Unsupported manifest format: expected SQLite",
      );
    }
  });

  test("SQLite magic followed by garbage", async () => {
    const bytes = new Uint8Array(4096);
    bytes.set(new TextEncoder().encode("SQLite format 3\0"));
    bytes.fill(0xab, 16);
    await expectParseError(bytes, "Failed to read SQLite manifest tables");
  });

  test("a SQLite database without the manifest tables", async () => {
    await expectParseError(await mutate(await good(), "DROP TABLE build_meta"), /no such table: build_meta/);
    await expectParseError(await mutate(await good(), "DROP TABLE shards"), /no such table: shards/);
  });

  test("missing build_meta row", async () => {
    await expectParseError(await mutate(await good(), "DELETE FROM build_meta"), "no build_meta row");
  });

  test("missing column", async () => {
    await expectParseError(
      await mutate(await good(), "ALTER TABLE build_meta DROP COLUMN key_encoding"),
      "no column key_encoding",
    );
  });
});

describe("build_meta rules", () => {
  test("format_version 3 (older manifests are rejected)", async () => {
    await expectParseError(
      await mutate(await good(), "UPDATE build_meta SET format_version = 3"),
      "Unsupported manifest format_version: 3. Supported: [4]",
    );
  });

  test("num_dbs must be > 0 and an integer", async () => {
    await expectParseError(
      await mutate(await good(), "DELETE FROM shards", "UPDATE build_meta SET num_dbs = 0"),
      "num_dbs",
    );
    await expectParseError(
      await mutate(await good(), "UPDATE build_meta SET num_dbs = 'many'"),
      'build_meta.num_dbs must be an integer, got "many"',
    );
  });

  test("created_at must be a datetime; any ISO form is fine", async () => {
    await expectParseError(
      await mutate(await good(), "UPDATE build_meta SET created_at = 'soon'"),
      'created_at is not an ISO-8601 datetime: "soon"',
    );
    const naive = await mutate(await good(), "UPDATE build_meta SET created_at = '2026-01-02 03:04:05'");
    expect((await parseManifestBytes(naive)).build.createdAt.toISOString()).toBe("2026-01-02T03:04:05.000Z");
  });

  test("unknown key encoding", async () => {
    await expectParseError(
      await mutate(await good(), "UPDATE build_meta SET key_encoding = 'u128be'"),
      'Unsupported key encoding: "u128be"',
    );
  });

  test("custom must be a JSON object; empty custom means {}", async () => {
    await expectParseError(
      await mutate(await good(), "UPDATE build_meta SET custom = '[1]'"),
      "build_meta.custom must be a JSON object",
    );
    await expectParseError(
      await mutate(await good(), "UPDATE build_meta SET custom = '{'"),
      "build_meta.custom is not valid JSON",
    );
    expect(
      (await parseManifestBytes(await mutate(await good(), "UPDATE build_meta SET custom = ''"))).custom,
    ).toEqual({});
  });
});

describe("sharding rules (ManifestShardingSpec, extra=forbid)", () => {
  test("removed boundaries field", async () => {
    await expectParseError(
      await mutate(
        await good(),
        sharding('{"boundaries": [10, 20], "hash_algorithm": "xxh3_64", "strategy": "hash"}'),
      ),
      'unknown field "boundaries"',
    );
  });

  test("hash_algorithm missing, null or unsupported", async () => {
    await expectParseError(
      await mutate(await good(), sharding('{"strategy": "hash"}')),
      "hash_algorithm is required",
    );
    await expectParseError(
      await mutate(await good(), sharding('{"hash_algorithm": null, "strategy": "hash"}')),
      "hash_algorithm is required",
    );
    await expectParseError(
      await mutate(await good(), sharding('{"hash_algorithm": "xxh64", "strategy": "hash"}')),
      'Unsupported shard hash algorithm: "xxh64"',
    );
  });

  test("strategy defaults to hash but must be known", async () => {
    const noStrategy = await mutate(await good(), sharding('{"hash_algorithm": "xxh3_64"}'));
    expect((await parseManifestBytes(noStrategy)).build.sharding.strategy).toBe("hash");
    await expectParseError(
      await mutate(await good(), sharding('{"hash_algorithm": "xxh3_64", "strategy": "range"}')),
      'strategy: "range"',
    );
  });

  test("hash forbids CEL fields; CEL requires them", async () => {
    await expectParseError(
      await mutate(
        await good(),
        sharding('{"cel_expr": "key % 2", "hash_algorithm": "xxh3_64", "strategy": "hash"}'),
      ),
      "cel_expr is only valid with CEL strategy",
    );
    await expectParseError(
      await mutate(
        await good(),
        sharding('{"hash_algorithm": "xxh3_64", "routing_values": ["a"], "strategy": "hash"}'),
      ),
      "routing_values are only valid with CEL strategy",
    );
    await expectParseError(
      await mutate(
        await good(),
        sharding('{"cel_columns": {"key": "int"}, "hash_algorithm": "xxh3_64", "strategy": "cel"}'),
      ),
      "CEL strategy requires cel_expr",
    );
    await expectParseError(
      await mutate(
        await good(),
        sharding('{"cel_columns": {}, "cel_expr": "key", "hash_algorithm": "xxh3_64", "strategy": "cel"}'),
      ),
      "CEL strategy requires cel_columns",
    );
  });

  const cel = (values: string) =>
    `{"cel_columns": {"k": "int"}, "cel_expr": "k", "hash_algorithm": "xxh3_64", "routing_values": ${values}, "strategy": "cel"}`;
  const twoShards = async () => buildManifestBytes(categoricalManifest(["a", "b"]));

  test("routing values: float, null, bool, mixed, duplicate", async () => {
    await expectParseError(
      await mutate(await twoShards(), sharding(cel("[1.5, 2.5]"))),
      "must be int, str, or bytes values; got [0]=1.5",
    );
    await expectParseError(
      await mutate(await twoShards(), sharding(cel("[1.0, 2]"))),
      "must be int, str, or bytes values",
    );
    await expectParseError(
      await mutate(await twoShards(), sharding(cel('["a", null]'))),
      "must not contain null values",
    );
    await expectParseError(
      await mutate(await twoShards(), sharding(cel("[true, false]"))),
      "must not be boolean values",
    );
    await expectParseError(
      await mutate(await twoShards(), sharding(cel('[1, "a"]'))),
      "must all share the same type",
    );
    await expectParseError(
      await mutate(await twoShards(), sharding(cel('["a", "a"]'))),
      'must be unique; duplicate "a"',
    );
  });

  test("categorical num_dbs must equal max(1, len(routing_values))", async () => {
    await expectParseError(
      await mutate(await twoShards(), sharding(cel('["a", "b", "c"]'))),
      "num_dbs must match routing_values cardinality (expected 3, got 2)",
    );
    const empty = await mutate(await twoShards(), "UPDATE build_meta SET num_dbs = 1", sharding(cel("[]")));
    expect((await parseManifestBytes(empty)).build.sharding.routingValues).toEqual([]);
  });

  test("sharding text that is not a JSON object", async () => {
    await expectParseError(
      await mutate(await good(), sharding("[]")),
      "build_meta.sharding must be a JSON object",
    );
    await expectParseError(
      await mutate(await good(), sharding("{oops")),
      "build_meta.sharding is not valid JSON",
    );
  });
});

describe("shard rules", () => {
  test("more shards than num_dbs", async () => {
    await expectParseError(
      await mutate(await good(), "UPDATE build_meta SET num_dbs = 1"),
      "shard count exceeds num_dbs: 2 > 1",
    );
  });

  test("db_id out of range", async () => {
    await expectParseError(
      await mutate(await good(), "UPDATE shards SET db_id = 9 WHERE db_id = 1"),
      "db_ids out of range [0, 4): [9]",
    );
  });

  test("duplicate db_ids (a table without the primary key)", async () => {
    const noPk = SHARDS_DDL.replace("INTEGER NOT NULL PRIMARY KEY", "INTEGER NOT NULL");
    const dup = await mutate(
      await good(),
      "CREATE TABLE s2 AS SELECT * FROM shards",
      "DROP TABLE shards",
      noPk,
      "INSERT INTO shards SELECT * FROM s2",
      "INSERT INTO shards SELECT * FROM s2 WHERE db_id = 1",
      "DROP TABLE s2",
    );
    await expectParseError(dup, "duplicate shard db_ids: [0, 1, 1]");
  });

  test("negative counts and non-integer columns", async () => {
    await expectParseError(
      await mutate(await good(), "UPDATE shards SET row_count = -1 WHERE db_id = 0"),
      "row_count must be an integer >= 0, got -1",
    );
    await expectParseError(
      await mutate(await good(), "UPDATE shards SET attempt = 'x'"),
      "shards.attempt must be an integer",
    );
    await expectParseError(
      await mutate(await good(), "UPDATE shards SET db_bytes = 1.5"),
      "shards.db_bytes must be an integer, got 1.5",
    );
  });

  test("min/max keys must be int, str or null", async () => {
    await expectParseError(
      await mutate(await good(), "UPDATE shards SET min_key = '1.5' WHERE db_id = 0"),
      "shards.min_key (db_id=0) must be an int, a string or null",
    );
    await expectParseError(
      await mutate(await good(), "UPDATE shards SET max_key = '[1]' WHERE db_id = 1"),
      "shards.max_key (db_id=1)",
    );
    const nullJson = await mutate(await good(), "UPDATE shards SET min_key = 'null'");
    expect((await parseManifestBytes(nullJson)).shards[0]?.minKey).toBeNull();
  });

  test("writer_info: defaults for missing fields, errors for bad ones", async () => {
    const empty = await mutate(await good(), "UPDATE shards SET writer_info = '{}'");
    expect((await parseManifestBytes(empty)).shards[0]?.writerInfo).toEqual({
      attempt: 0,
      durationMs: 0,
      stageId: null,
      taskAttemptId: null,
    });
    await expectParseError(
      await mutate(await good(), "UPDATE shards SET writer_info = 'nope'"),
      "writer_info (db_id=0) is not valid JSON",
    );
    await expectParseError(
      await mutate(await good(), `UPDATE shards SET writer_info = '{"stage_id": "x"}'`),
      "writer_info (db_id=0).stage_id must be an integer or null",
    );
  });
});

describe("shardy bytes extension", () => {
  test("malformed custom.shardy_bytes is rejected", async () => {
    await expectParseError(
      await mutate(
        await good(),
        `UPDATE build_meta SET custom = '{"shardy_bytes": {"key_bounds_hex": {"0": {"min_key": "zz"}}}}'`,
      ),
      "custom.shardy_bytes.key_bounds_hex.0.min_key must be a hex string",
    );
    await expectParseError(
      await mutate(
        await good(),
        `UPDATE build_meta SET custom = '{"shardy_bytes": {"key_bounds_hex": {"3": {"min_key": "00"}}}}'`,
      ),
      "names db_id 3, which has no shard row",
    );
    await expectParseError(
      await mutate(
        await good(),
        `UPDATE build_meta SET custom = '{"shardy_bytes": {"routing_values_hex": ["00"]}}'`,
      ),
      "routing_values_hex has 1 tokens but sharding.routing_values has none",
    );
  });
});
