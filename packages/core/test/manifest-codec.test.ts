import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { ManifestBuildError } from "@shardy/errors";
import {
  BUILD_META_DDL,
  buildManifestBytes,
  formatPydanticDatetime,
  type Manifest,
  PyFloat,
  parseManifestBytes,
  pyJsonLoads,
  SHARDS_DDL,
  type SqlJsModule,
  toEpochMicros,
} from "../src/index.ts";
import {
  EXAMPLE_BUILD_META_ROW,
  EXAMPLE_KEY_JSON,
  EXAMPLE_SHARD_ROW,
  EXAMPLE_SHARDING_CEL_CATEGORICAL,
  EXAMPLE_SHARDING_CEL_DIRECT,
} from "./fixtures/spec-examples.ts";
import { categoricalManifest, exampleManifest, query, shard } from "./helpers/manifests.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

describe("buildManifestBytes: the spec's example rows", () => {
  test("build_meta and shards rows equal §3.1 field by field", async () => {
    const bytes = await buildManifestBytes(exampleManifest());
    const [meta] = await query(bytes, "SELECT * FROM build_meta");
    const [row] = await query(bytes, "SELECT * FROM shards");
    expect(meta).toEqual([...EXAMPLE_BUILD_META_ROW]);
    expect(row).toEqual([...EXAMPLE_SHARD_ROW]);
    const types = await query(
      bytes,
      "SELECT typeof(num_dbs), typeof(format_version), typeof(created_at), typeof(custom) FROM build_meta",
    );
    expect(types).toEqual([["integer", "integer", "text", "text"]]);
  });

  test("exact DDL, SQLite header, 4096-byte pages, one build_meta row", async () => {
    const bytes = await buildManifestBytes(exampleManifest());
    expect(new TextDecoder().decode(bytes.subarray(0, 16))).toBe("SQLite format 3\0");
    const ddl = await query(bytes, "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name");
    expect(ddl).toEqual([
      ["build_meta", BUILD_META_DDL],
      ["shards", SHARDS_DDL],
    ]);
    expect(await query(bytes, "PRAGMA page_size")).toEqual([[4096]]);
    expect(await query(bytes, "SELECT count(*) FROM build_meta")).toEqual([[1]]);
    const custom = await buildManifestBytes(exampleManifest(), { pageSize: 8192 });
    expect(await query(custom, "PRAGMA page_size")).toEqual([[8192]]);
    await expect(buildManifestBytes(exampleManifest(), { pageSize: 1000 })).rejects.toThrow("power of two");
  });

  test("CEL sharding JSON equals the spec's direct and categorical examples", async () => {
    const direct = exampleManifest();
    direct.build.sharding = {
      strategy: "cel",
      hashAlgorithm: "xxh3_64",
      celExpr: "shard_hash(key) % 4u",
      celColumns: { key: "int" },
      routingValues: null,
    };
    const cat = categoricalManifest(["ap", "eu", "us"]);
    expect(await query(await buildManifestBytes(direct), "SELECT sharding FROM build_meta")).toEqual([
      [EXAMPLE_SHARDING_CEL_DIRECT],
    ]);
    expect(await query(await buildManifestBytes(cat), "SELECT sharding FROM build_meta")).toEqual([
      [EXAMPLE_SHARDING_CEL_CATEGORICAL],
    ]);
  });

  test("min/max keys are json.dumps(value): ints, ASCII-escaped strings, NULL", async () => {
    const m = exampleManifest();
    m.build.numDbs = 8;
    m.shards = EXAMPLE_KEY_JSON.map(([key], i) => shard(i, { minKey: key, maxKey: key }));
    m.shards.push(shard(7));
    const rows = await query(
      await buildManifestBytes(m),
      "SELECT min_key, max_key FROM shards ORDER BY db_id",
    );
    expect(rows).toEqual([...EXAMPLE_KEY_JSON.map(([, json]) => [json, json]), [null, null]]);
  });
});

describe("round trip", () => {
  test("build -> parse returns the same model, microseconds included", async () => {
    const m = exampleManifest();
    const parsed = await parseManifestBytes(await buildManifestBytes(m));
    expect(toEpochMicros(parsed.build.createdAt)).toBe(toEpochMicros(m.build.createdAt));
    expect(formatPydanticDatetime(parsed.build.createdAt)).toBe("2026-04-20T15:23:01.123456Z");
    const withoutTime = (x: Manifest) => ({ ...x, build: { ...x.build, createdAt: 0 } });
    expect(withoutTime(parsed)).toEqual(withoutTime(m));
  });

  test("u64 keys beyond 2^53 stay exact in the TEXT column and in the model", async () => {
    const m = exampleManifest();
    m.shards = [shard(0, { minKey: 9007199254740993n, maxKey: 18446744073709551615n })];
    const bytes = await buildManifestBytes(m);
    expect(await query(bytes, "SELECT min_key, max_key FROM shards")).toEqual([
      ["9007199254740993", "18446744073709551615"],
    ]);
    const parsed = await parseManifestBytes(bytes);
    expect(parsed.shards[0]?.minKey).toBe(9007199254740993n);
    expect(parsed.shards[0]?.maxKey).toBe(18446744073709551615n);
  });

  test("shards are written sorted by db_id and manifests may be sparse", async () => {
    const m = exampleManifest();
    m.build.numDbs = 10;
    m.shards = [shard(7), shard(2), shard(9)];
    const parsed = await parseManifestBytes(await buildManifestBytes(m));
    expect(parsed.shards.map((s) => s.dbId)).toEqual([2, 7, 9]);
  });

  test("custom keeps unicode, big ints and integral floats byte for byte", async () => {
    const m = exampleManifest();
    m.custom = {
      note: "zü😀",
      big: 18446744073709551615n,
      ratio: new PyFloat(1),
      half: 0.5,
      nested: { b: [1], a: null },
    };
    const bytes = await buildManifestBytes(m);
    const [[text]] = (await query(bytes, "SELECT custom FROM build_meta")) as [[string]];
    expect(text).toBe(
      '{"big": 18446744073709551615, "half": 0.5, "nested": {"a": null, "b": [1]}, "note": "z\\u00fc\\ud83d\\ude00", "ratio": 1.0}',
    );
    const parsed = await parseManifestBytes(bytes);
    expect(parsed.custom.ratio).toBeInstanceOf(PyFloat);
    expect(parsed.custom.big).toBe(18446744073709551615n);
    const again = await buildManifestBytes(parsed);
    expect(await query(again, "SELECT custom FROM build_meta")).toEqual([[text]]);
  });
});

describe("bytes keys and tokens (reference weaknesses 2 and 3, fixed additively)", () => {
  test("UTF-8 bytes min/max: reference column gets the string, custom.shardy_bytes the exact bytes", async () => {
    const m = exampleManifest();
    m.build.keyEncoding = "raw";
    m.shards = [shard(0, { minKey: utf8("apple"), maxKey: utf8("zü") })];
    const bytes = await buildManifestBytes(m);
    expect(await query(bytes, "SELECT min_key, max_key FROM shards")).toEqual([['"apple"', '"z\\u00fc"']]);
    const [[custom]] = (await query(bytes, "SELECT custom FROM build_meta")) as [[string]];
    expect(pyJsonLoads(custom)).toMatchObject({
      shardy_bytes: { key_bounds_hex: { "0": { min_key: "6170706c65", max_key: "7ac3bc" } } },
    });
    const parsed = await parseManifestBytes(bytes);
    expect(parsed.shards[0]?.minKey).toEqual(utf8("apple"));
    expect(parsed.shards[0]?.maxKey).toEqual(utf8("zü"));
    expect(parsed.custom).toEqual(m.custom); // the extension is consumed, not exposed
  });

  test("non-UTF-8 bytes keys do not crash: NULL in the reference column, bytes restored by us", async () => {
    const m = exampleManifest();
    m.shards = [shard(0, { minKey: new Uint8Array([0xff, 0x00]), maxKey: new Uint8Array([0xff, 0xfe]) })];
    const bytes = await buildManifestBytes(m);
    expect(await query(bytes, "SELECT min_key, max_key FROM shards")).toEqual([[null, null]]);
    const parsed = await parseManifestBytes(bytes);
    expect(parsed.shards[0]?.minKey).toEqual(new Uint8Array([0xff, 0x00]));
    expect(parsed.shards[0]?.maxKey).toEqual(new Uint8Array([0xff, 0xfe]));
  });

  test("bytes routing tokens: strings for the reference, bytes for us; non-UTF-8 -> hex strings", async () => {
    const text = await buildManifestBytes(categoricalManifest([utf8("ap"), utf8("eu")]));
    expect(await query(text, "SELECT sharding FROM build_meta")).toEqual([
      [
        '{"cel_columns": {"region": "string"}, "cel_expr": "region", "hash_algorithm": "xxh3_64", "routing_values": ["ap", "eu"], "strategy": "cel"}',
      ],
    ]);
    expect((await parseManifestBytes(text)).build.sharding.routingValues).toEqual([utf8("ap"), utf8("eu")]);

    const raw = await buildManifestBytes(categoricalManifest([new Uint8Array([0xff]), utf8("ab")]));
    const [[sharding]] = (await query(raw, "SELECT sharding FROM build_meta")) as [[string]];
    expect(pyJsonLoads(sharding)).toMatchObject({ routing_values: ["ff", "6162"] });
    expect((await parseManifestBytes(raw)).build.sharding.routingValues).toEqual([
      new Uint8Array([0xff]),
      utf8("ab"),
    ]);
  });

  test('{"__bytes_hex__": hex} routing tokens (the reference vector spelling) parse to bytes', async () => {
    const { mutate } = await import("./helpers/manifests.ts");
    const base = await buildManifestBytes(categoricalManifest(["a", "b"]));
    const tagged = await mutate(
      base,
      `UPDATE build_meta SET sharding = '{"cel_columns": {"t": "bytes"}, "cel_expr": "t", "hash_algorithm": "xxh3_64", "routing_values": [{"__bytes_hex__": "00ff"}, {"__bytes_hex__": "01"}], "strategy": "cel"}'`,
    );
    expect((await parseManifestBytes(tagged)).build.sharding.routingValues).toEqual([
      new Uint8Array([0x00, 0xff]),
      new Uint8Array([0x01]),
    ]);
  });

  test("int routing tokens beyond 2^53 stay exact", async () => {
    const tokens = [1n, 18446744073709551615n];
    const bytes = await buildManifestBytes(categoricalManifest(tokens));
    expect((await parseManifestBytes(bytes)).build.sharding.routingValues).toEqual(tokens);
  });

  test("custom.shardy_bytes is reserved on build", async () => {
    const m = exampleManifest();
    m.custom = { shardy_bytes: {} };
    await expect(buildManifestBytes(m)).rejects.toThrow(ManifestBuildError);
  });
});

describe("build refuses manifests the reader would refuse", () => {
  const cases: [string, (m: Manifest) => void, string][] = [
    ["db_id out of range", (m) => (m.shards = [shard(4)]), "out of range"],
    ["duplicate db_id", (m) => (m.shards = [shard(1), shard(1)]), "duplicate"],
    [
      "more shards than num_dbs",
      (m) => {
        m.build.numDbs = 1;
        m.shards = [shard(0), shard(1)];
      },
      "exceeds num_dbs",
    ],
    [
      "num_dbs 0",
      (m) => {
        m.build.numDbs = 0;
        m.shards = [];
      },
      "num_dbs must be an integer > 0",
    ],
    ["format_version 3", (m) => (m.build.formatVersion = 3), "format_version: 3"],
    ["bad key encoding", (m) => (m.build.keyEncoding = "u128" as never), "Unsupported key encoding"],
    [
      "number min_key",
      (m) => ((m.shards[0] as { minKey: unknown }).minKey = 5),
      "min_key must be an int (bigint)",
    ],
    [
      "negative row_count",
      (m) => ((m.shards[0] as { rowCount: number }).rowCount = -1),
      "row_count must be an integer >= 0",
    ],
    ["undefined in custom", (m) => (m.custom = { a: undefined }), "not JSON-serializable"],
  ];
  for (const [name, change, message] of cases) {
    test(name, async () => {
      const m = exampleManifest();
      change(m);
      const err = await buildManifestBytes(m).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ManifestBuildError);
      expect((err as Error).message).toContain(message);
    });
  }
});

describe("injectable sql.js", () => {
  test("wasm bytes can be passed in (edge runtimes have no file system)", async () => {
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve("sql.js/dist/sql-wasm.wasm");
    const wasmBinary = new Uint8Array(await Bun.file(wasmPath).arrayBuffer());
    const bytes = await buildManifestBytes(exampleManifest(), { sqlJs: { wasmBinary } });
    const parsed = await parseManifestBytes(bytes, { sqlJs: { wasmBinary } });
    expect(parsed.build.runId).toBe("3f2a");
  });

  test("a custom initialiser is used instead of the npm loader", async () => {
    let calls = 0;
    const init = async (): Promise<SqlJsModule> => {
      calls++;
      const mod = await import("sql.js");
      return (mod.default as unknown as () => Promise<SqlJsModule>)();
    };
    await parseManifestBytes(await buildManifestBytes(exampleManifest(), { sqlJs: { init } }), {
      sqlJs: { init },
    });
    expect(calls).toBe(2);
  });
});
