import { describe, expect, test } from "bun:test";
import { ManifestParseError } from "@shardy/errors";
import {
  buildCurrentBytes,
  formatPydanticDatetime,
  joinS3,
  MANIFEST_PREFIX_RE,
  manifestKeyFor,
  parseCurrentBytes,
  parseIsoDatetime,
  parseManifestDirName,
  runIdFromManifestRef,
  shardAttemptUrl,
  toEpochMicros,
} from "../src/index.ts";
import { EXAMPLE_CURRENT } from "./fixtures/spec-examples.ts";

const encode = (s: string) => new TextEncoder().encode(s);

describe("_CURRENT", () => {
  const pointer = {
    manifestRef: "s3://bucket/prefix/manifests/2026-04-20T15:23:01.123456Z_run_id=3f2a/manifest",
    manifestContentType: "application/x-sqlite3",
    runId: "3f2a",
    updatedAt: parseIsoDatetime("2026-11-22T09:19:25.071411Z"),
    formatVersion: 1,
  };

  test("builds the exact bytes of the §3.2 example", () => {
    expect(new TextDecoder().decode(buildCurrentBytes(pointer))).toBe(EXAMPLE_CURRENT);
  });

  test("parses the example back, field by field", () => {
    const parsed = parseCurrentBytes(encode(EXAMPLE_CURRENT));
    expect(parsed.manifestRef).toBe(pointer.manifestRef);
    expect(parsed.manifestContentType).toBe("application/x-sqlite3");
    expect(parsed.runId).toBe("3f2a");
    expect(parsed.formatVersion).toBe(1);
    expect(toEpochMicros(parsed.updatedAt)).toBe(toEpochMicros(pointer.updatedAt));
  });

  test("non-ASCII refs are escaped like json.dumps and round-trip", () => {
    const p = { ...pointer, runId: "zü", manifestRef: "s3://b/p/manifests/x_run_id=zü/manifest" };
    const text = new TextDecoder().decode(buildCurrentBytes(p));
    expect(text).toContain('"run_id":"z\\u00fc"');
    expect(parseCurrentBytes(encode(text)).runId).toBe("zü");
  });

  test("ignores unknown fields, accepts any ISO datetime, defaults format_version", () => {
    const parsed = parseCurrentBytes(
      encode(
        '{"manifest_ref": "r", "manifest_content_type": "application/x-sqlite3", "run_id": "x", "updated_at": "2026-01-02T05:04:05+02:00", "etag_hint": 1}',
      ),
    );
    expect(formatPydanticDatetime(parsed.updatedAt)).toBe("2026-01-02T03:04:05Z");
    expect(parsed.formatVersion).toBe(1);
  });

  test("malformed pointers are ManifestParseErrors naming the problem", () => {
    const cases: [string, string][] = [
      ["", "not valid UTF-8 JSON"],
      ["[]", "must be a JSON object"],
      [
        '{"manifest_content_type": "a", "run_id": "x", "updated_at": "2026-01-01"}',
        "manifest_ref must be a string, got nothing",
      ],
      [
        '{"manifest_ref": 5, "manifest_content_type": "a", "run_id": "x", "updated_at": "2026-01-01"}',
        "manifest_ref must be a string, got 5",
      ],
      [
        '{"manifest_ref": "r", "manifest_content_type": "a", "run_id": "x", "updated_at": "later"}',
        'updated_at is not a datetime: "later"',
      ],
      [
        '{"manifest_ref": "r", "manifest_content_type": "a", "run_id": "x", "updated_at": "2026-01-01", "format_version": "1"}',
        "format_version must be an integer",
      ],
    ];
    for (const [text, message] of cases) {
      expect(() => parseCurrentBytes(encode(text))).toThrow(ManifestParseError);
      expect(() => parseCurrentBytes(encode(text))).toThrow(message);
    }
    expect(() => parseCurrentBytes(new Uint8Array([0xff, 0xfe]))).toThrow(ManifestParseError);
  });
});

describe("layout (§2)", () => {
  test("join_s3 strips slashes and skips empty parts", () => {
    expect(joinS3("s3://b/p/", "/shards/", "", "run_id=r")).toBe("s3://b/p/shards/run_id=r");
    expect(joinS3("", "manifests", "x")).toBe("manifests/x");
    expect(joinS3("prefix", "a")).toBe("prefix/a");
  });

  test("manifest key uses the publish time with six fractional digits", () => {
    const at = parseIsoDatetime("2026-04-20T15:23:01Z");
    expect(manifestKeyFor("s3://bucket/prefix", "3f2a", at)).toBe(
      "s3://bucket/prefix/manifests/2026-04-20T15:23:01.000000Z_run_id=3f2a/manifest",
    );
    expect(manifestKeyFor("prefix", "r", parseIsoDatetime("2026-04-20T15:23:01.123456Z"))).toBe(
      "prefix/manifests/2026-04-20T15:23:01.123456Z_run_id=r/manifest",
    );
  });

  test("MANIFEST_PREFIX_RE and parseManifestDirName", () => {
    const info = parseManifestDirName("2026-04-20T15:23:01.123456Z_run_id=3f2a/");
    expect(info?.runId).toBe("3f2a");
    expect(info?.timestamp).toBe("2026-04-20T15:23:01.123456Z");
    expect(info && toEpochMicros(info.publishedAt)).toBe(
      toEpochMicros(parseIsoDatetime("2026-04-20T15:23:01.123456Z")),
    );
    expect(parseManifestDirName("2026-04-20T15:23:01.123456Z_run_id=3f2a")?.runId).toBe("3f2a");
    for (const bad of [
      "run_id=x",
      "2026-04-20T15:23:01Z_run_id=x",
      "2026-04-20T15:23:01.123456Z_run_id=",
      "2026-13-20T15:23:01.123456Z_run_id=x",
    ]) {
      expect(parseManifestDirName(bad)).toBeUndefined();
    }
    expect(MANIFEST_PREFIX_RE.test("2026-04-20T15:23:01.123456Z_run_id=a/b")).toBe(false);
  });

  test("run id from a manifest ref", () => {
    expect(runIdFromManifestRef("s3://b/p/manifests/2026-04-20T15:23:01.123456Z_run_id=abc/manifest")).toBe(
      "abc",
    );
    expect(runIdFromManifestRef("s3://b/p/manifests/nothing/manifest")).toBeUndefined();
  });

  test("shard attempt URL (make_shard_url) with the default and custom templates", () => {
    expect(shardAttemptUrl("s3://bucket/prefix", "shards", "3f2a", "db={db_id:05d}", 0, 0)).toBe(
      "s3://bucket/prefix/shards/run_id=3f2a/db=00000/attempt=00",
    );
    expect(shardAttemptUrl("s3://b/p/", "shards", "r", "part-{db_id}", 12, 3)).toBe(
      "s3://b/p/shards/run_id=r/part-12/attempt=03",
    );
    expect(shardAttemptUrl("file:///tmp/x", "s", "r", "db={db_id:05d}", 1, 100)).toBe(
      "file:///tmp/x/s/run_id=r/db=00001/attempt=100",
    );
  });
});
