/**
 * Manifests written by Python the reference way (stdlib sqlite3 + json, test/python/fixtures/
 * make_manifest.py) must parse to exactly what Python put in, and rebuild to the same columns.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildManifestBytes,
  formatPydanticDatetime,
  type Manifest,
  type ManifestKey,
  parseCurrentBytes,
  parseManifestBytes,
  type RoutingValue,
} from "../src/index.ts";
import { query } from "./helpers/manifests.ts";
import { REPO_ROOT, runPython } from "./helpers/python.ts";

type Tagged = { int: string } | { str: string } | null;

interface ExpectedShard {
  db_id: number;
  db_url: string;
  attempt: number;
  row_count: number;
  db_bytes: number;
  min_key: Tagged;
  max_key: Tagged;
  checkpoint_id: string;
  writer_info: {
    attempt: number;
    duration_ms: number;
    stage_id: number | null;
    task_attempt_id: number | null;
  };
}

interface ExpectedManifest {
  run_id: string;
  created_at: string;
  num_dbs: number;
  key_col: string;
  key_encoding: string;
  strategy: string;
  cel_expr: string | null;
  cel_columns: Record<string, string> | null;
  routing_values: Tagged[] | null;
  custom_json: string;
  shards: ExpectedShard[];
}

function untag(v: Tagged): ManifestKey {
  if (v === null) return null;
  return "int" in v ? BigInt(v.int) : v.str;
}

let dir = "";
let expected: Record<string, ExpectedManifest> & { _CURRENT: Record<string, unknown> };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "shardy-pyfixture-"));
  runPython([join(REPO_ROOT, "test/python/fixtures/make_manifest.py"), dir]);
  expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function load(name: string): Promise<{ bytes: Uint8Array; manifest: Manifest }> {
  const bytes = new Uint8Array(readFileSync(join(dir, `${name}.manifest`)));
  return { bytes, manifest: await parseManifestBytes(bytes) };
}

describe("Python-written manifests", () => {
  for (const name of ["hash", "cel_categorical", "cel_categorical_ints", "cel_direct"]) {
    test(`${name}: every field as Python wrote it`, async () => {
      const want = expected[name] as ExpectedManifest;
      const { manifest: m } = await load(name);
      expect(m.build.runId).toBe(want.run_id);
      expect(formatPydanticDatetime(m.build.createdAt)).toBe(want.created_at);
      expect(m.build.numDbs).toBe(want.num_dbs);
      expect(m.build.keyCol).toBe(want.key_col);
      expect(m.build.keyEncoding).toBe(want.key_encoding as Manifest["build"]["keyEncoding"]);
      expect(m.build.formatVersion).toBe(4);
      expect(m.build.sharding.strategy).toBe(want.strategy as "hash" | "cel");
      expect(m.build.sharding.celExpr).toBe(want.cel_expr);
      expect(m.build.sharding.celColumns).toEqual(want.cel_columns);
      expect(m.build.sharding.routingValues).toEqual(
        want.routing_values === null ? null : (want.routing_values.map(untag) as RoutingValue[]),
      );
      expect(m.shards.length).toBe(want.shards.length);
      m.shards.forEach((s, i) => {
        const w = want.shards[i] as ExpectedShard;
        expect(s).toEqual({
          dbId: w.db_id,
          dbUrl: w.db_url,
          attempt: w.attempt,
          rowCount: w.row_count,
          dbBytes: w.db_bytes,
          minKey: untag(w.min_key),
          maxKey: untag(w.max_key),
          checkpointId: w.checkpoint_id,
          writerInfo: {
            attempt: w.writer_info.attempt,
            durationMs: w.writer_info.duration_ms,
            stageId: w.writer_info.stage_id,
            taskAttemptId: w.writer_info.task_attempt_id,
          },
        });
      });
    });

    test(`${name}: rebuilding in TS reproduces Python's column text`, async () => {
      const { bytes, manifest } = await load(name);
      const rebuilt = await buildManifestBytes(manifest);
      for (const sql of ["SELECT * FROM build_meta", "SELECT * FROM shards ORDER BY db_id"]) {
        expect(await query(rebuilt, sql)).toEqual(await query(bytes, sql));
      }
      expect(await query(rebuilt, "SELECT sql FROM sqlite_master ORDER BY name")).toEqual(
        await query(bytes, "SELECT sql FROM sqlite_master ORDER BY name"),
      );
    });
  }

  test("hash: u64 bounds above 2^53 are exact bigints", async () => {
    const { manifest } = await load("hash");
    expect(manifest.shards[0]?.maxKey).toBe(2n ** 53n + 1n);
    expect(manifest.shards[1]?.minKey).toBe(2n ** 63n);
    expect(manifest.shards[1]?.maxKey).toBe(2n ** 64n - 1n);
    expect(manifest.custom.owner).toBe("Zoë 😀");
  });

  test("_CURRENT written by Python", () => {
    const p = parseCurrentBytes(new Uint8Array(readFileSync(join(dir, "_CURRENT"))));
    const want = expected._CURRENT;
    expect(p.manifestRef).toBe(want.manifest_ref as string);
    expect(p.runId).toBe(want.run_id as string);
    expect(formatPydanticDatetime(p.updatedAt)).toBe(want.updated_at as string);
  });
});
