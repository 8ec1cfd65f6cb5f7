import { describe, expect, test } from "bun:test";
import { ManifestParseError } from "@shardy/errors";
import { decodeRunRecord, encodeRunRecord, parseIsoDatetime, type RunRecord } from "../src/index.ts";
import vectors from "./fixtures/run-yaml-vectors.json";

type WireRecord = Record<string, string | number | null>;

function fromWire(w: WireRecord): RunRecord {
  const s = (k: string) => w[k] as string;
  const o = (k: string) => (w[k] as string | null) ?? null;
  return {
    formatVersion: w.format_version as number,
    runId: s("run_id"),
    writerType: s("writer_type"),
    status: s("status") as RunRecord["status"],
    startedAt: parseIsoDatetime(s("started_at")),
    updatedAt: parseIsoDatetime(s("updated_at")),
    leaseExpiresAt: parseIsoDatetime(s("lease_expires_at")),
    s3Prefix: s("s3_prefix"),
    shardPrefix: s("shard_prefix"),
    dbPathTemplate: s("db_path_template"),
    manifestRef: o("manifest_ref"),
    errorType: o("error_type"),
    errorMessage: o("error_message"),
  };
}

describe("run.yaml matches PyYAML safe_dump byte for byte", () => {
  for (const [i, v] of vectors.vectors.entries()) {
    const label = `#${i} ${JSON.stringify(v.record.run_id)} ${JSON.stringify(v.record.error_message).slice(0, 40)}`;
    test(label, () => {
      const record = fromWire(v.record as WireRecord);
      expect(encodeRunRecord(record)).toBe(v.yaml);
      expect(decodeRunRecord(v.yaml)).toEqual(record);
    });
  }
});

describe("decodeRunRecord", () => {
  test("keeps plain scalars that YAML 1.2 would turn into numbers as text", () => {
    const base = vectors.vectors[0]!.yaml;
    const record = decodeRunRecord(base.replace("run_id: abc", "run_id: 1e3"));
    expect(record.runId).toBe("1e3");
  });

  test("rejects an unknown status and a missing field with the field named", () => {
    const base = vectors.vectors[0]!.yaml;
    expect(() => decodeRunRecord(base.replace("status: running", "status: paused"))).toThrow(/status/);
    expect(() => decodeRunRecord(base.replace(/^run_id: .*\n/m, ""))).toThrow(ManifestParseError);
    expect(() => decodeRunRecord(base.replace(/^run_id: .*\n/m, ""))).toThrow(/run_id/);
    expect(() => decodeRunRecord("- a\n- b\n")).toThrow(/mapping/);
  });
});
