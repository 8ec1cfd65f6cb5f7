/**
 * A hand-built LSM state (two L0 SSTs over two sorted runs) exercising the read rules: newest
 * source first, versions of one key across blocks, rows above `last_l0_seq` invisible,
 * tombstones, rows with a TTL, visible ranges, v1 and v2 blocks. Our reader must agree with the model
 * and with both official readers on every key and on full scans.
 */
import { afterAll, expect, test } from "bun:test";
import { FileStore } from "@shardy/store";
import { jsHashing } from "../src/hash/hashing.ts";
import {
  encodeManifestV1,
  newUlid,
  openSlateDbReader,
  type SstRef,
  sstKey,
  uuidFromString,
} from "../src/index.ts";
import { I64_MIN } from "../src/manifest/codec.ts";
import { BoundType } from "../src/manifest/types.ts";
import { SstBuilder } from "../src/sst/sst-builder.ts";
import { enc, hex, nodeOracle, type OracleRead, pythonOracle, sha256, tempDir } from "./helpers.ts";

interface Version {
  key: string;
  value: string | null;
  seq: bigint;
  expireTs?: bigint;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

const CHECKPOINT = "6a0f5a3e-2d0c-4c53-9a43-0c3b7c1d2e4f";
const LAST_L0_SEQ = 90n;
const k = (prefix: string, i: number) => `${prefix}${String(i).padStart(3, "0")}`;

async function writeSst(store: FileStore, versions: Version[], formatVersion: 1 | 2): Promise<SstRef> {
  const chunks: Uint8Array[] = [];
  const b = new SstBuilder({ hashing: jsHashing, blockSize: 256, formatVersion }, (c) => chunks.push(c));
  for (const v of versions)
    b.add(enc.encode(v.key), v.value === null ? null : enc.encode(v.value), v.seq, v.expireTs);
  const done = b.finish();
  const id = newUlid();
  await store.put(sstKey("db", id), Buffer.concat(chunks));
  return { id, info: done.info, formatVersion };
}

/** Keys in order; versions of a key newest first (the SST order SlateDB requires). */
function sorted(vs: Version[]): Version[] {
  return vs.sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.seq > b.seq ? -1 : a.seq < b.seq ? 1 : 0,
  );
}

test("read rules match the model and both official readers", async () => {
  const d = await tempDir("semantics");
  cleanups.push(d.cleanup);
  const store = new FileStore(d.path);
  const now = BigInt(Date.now());

  // Sorted run 7 (newer run): k000..k199, with 40 versions of k050 spanning several blocks.
  const runA1: Version[] = [];
  for (let i = 0; i < 100; i++) runA1.push({ key: k("k", i), value: `sr-${k("k", i)}`, seq: 10n });
  for (let s = 100n; s > 60n; s--) runA1.push({ key: "k050", value: `v-${s}-${"x".repeat(20)}`, seq: s });
  const runA2: Version[] = [];
  for (let i = 100; i < 200; i++) runA2.push({ key: k("k", i), value: `sr-${k("k", i)}`, seq: 10n });
  const a1 = await writeSst(store, sorted(runA1), 2);
  const a2 = await writeSst(store, sorted(runA2), 1);
  // Only [k100, k180) of the second SST is visible.
  a2.visibleRange = {
    start: { key: enc.encode("k100"), boundType: BoundType.Included },
    end: { key: enc.encode("k180"), boundType: BoundType.Excluded },
  };
  // Sorted run 2 (older): m000..m049 and an older k005 the newer run shadows.
  const runB = sorted([
    ...Array.from({ length: 50 }, (_, i) => ({ key: k("m", i), value: `old-${k("m", i)}`, seq: 5n })),
    { key: "k005", value: "older-k005", seq: 3n },
  ]);
  const b1 = await writeSst(store, runB, 2);

  // L0, oldest: overwrites, deletes, TTLs, and a row above last_l0_seq.
  const l0old: Version[] = [];
  for (let i = 10; i < 20; i++) l0old.push({ key: k("k", i), value: `l0-${k("k", i)}`, seq: 80n });
  for (let i = 20; i < 30; i++) l0old.push({ key: k("k", i), value: null, seq: 80n });
  l0old.push({ key: "k030", value: "expired", seq: 80n, expireTs: 1n });
  l0old.push({ key: "k031", value: "ttl-future", seq: 80n, expireTs: now + 3_600_000n });
  l0old.push({ key: "k060", value: "not-yet-visible", seq: 95n });
  const l0a = await writeSst(store, sorted(l0old), 2);
  // L0, newest.
  const l0b = await writeSst(
    store,
    sorted([
      { key: "k010", value: "l0b-k010", seq: 85n },
      { key: "k020", value: "revived", seq: 85n },
      { key: "n000", value: "only-in-l0", seq: 86n },
    ]),
    2,
  );

  await store.put(
    "db/manifest/00000000000000000001.manifest",
    encodeManifestV1({
      formatVersion: 1,
      initialized: true,
      writerEpoch: 0n,
      compactorEpoch: 0n,
      replayAfterWalId: 0n,
      walIdLastSeen: 0n,
      l0: [l0b, l0a],
      compacted: [
        { id: 7, ssts: [a1, a2] },
        { id: 2, ssts: [b1] },
      ],
      lastL0ClockTick: I64_MIN,
      checkpoints: [
        { id: uuidFromString(CHECKPOINT), manifestId: 1n, expireTimeS: 0, createTimeS: 1, name: "t" },
      ],
      lastL0Seq: LAST_L0_SEQ,
      recentSnapshotMinSeq: 0n,
      segments: [],
    }),
  );

  // The model, by the rules.
  const model = new Map<string, string>();
  for (let i = 0; i < 180; i++) model.set(k("k", i), `sr-${k("k", i)}`);
  for (let i = 0; i < 50; i++) model.set(k("m", i), `old-${k("m", i)}`);
  model.set("k050", `v-90-${"x".repeat(20)}`);
  for (let i = 10; i < 20; i++) model.set(k("k", i), `l0-${k("k", i)}`);
  for (let i = 20; i < 30; i++) model.delete(k("k", i));
  // Official readers do not filter rows past their TTL (compaction drops them); neither do we.
  model.set("k030", "expired");
  model.set("k031", "ttl-future");
  model.set("k010", "l0b-k010");
  model.set("k020", "revived");
  model.set("n000", "only-in-l0");
  const expectedScan = [...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

  const probe = [
    ...Array.from({ length: 210 }, (_, i) => k("k", i)),
    ...Array.from({ length: 55 }, (_, i) => k("m", i)),
    "n000",
    "a",
    "zzz",
  ];

  const r = await openSlateDbReader({ store, dbPrefix: "db", checkpointId: CHECKPOINT });
  const ours = await Promise.all(probe.map(async (p) => r.get(enc.encode(p))));
  expect(ours.map((v) => (v === undefined ? null : Buffer.from(v).toString()))).toEqual(
    probe.map((p) => model.get(p) ?? null),
  );
  // Again with every table and block cached (the reader's synchronous path), one by one and batched.
  const warm: (string | null)[] = [];
  for (const p of probe) {
    const v = await r.get(enc.encode(p));
    warm.push(v === undefined ? null : Buffer.from(v).toString());
  }
  expect(warm).toEqual(probe.map((p) => model.get(p) ?? null));
  const batched = await r.multiGet(probe.map((p) => enc.encode(p)));
  expect(batched.map((v) => (v === undefined ? null : Buffer.from(v).toString()))).toEqual(warm);
  const scanned: [string, string][] = [];
  for await (const [key, value] of r.scan())
    scanned.push([Buffer.from(key).toString(), Buffer.from(value).toString()]);
  expect(scanned).toEqual(expectedScan);
  const part: string[] = [];
  for await (const [key] of r.scan({ start: enc.encode("k045"), end: enc.encode("k055") }))
    part.push(Buffer.from(key).toString());
  expect(part).toEqual(expectedScan.map(([key]) => key).filter((key) => key >= "k045" && key < "k055"));

  const request = {
    op: "read",
    checkpoint: CHECKPOINT,
    keys: probe.map((p) => hex(enc.encode(p))),
    scan: true,
  };
  const [node, python] = await Promise.all([
    nodeOracle<OracleRead>({ ...request, url: `file://${d.path}`, path: "db" }),
    pythonOracle<OracleRead>({ ...request, url: "file:///", path: `${d.path.replace(/^\/+/, "")}/db` }),
  ]);
  // Official scans do not clip an SST at its visible range's end consistently: across runs of
  // the same database, 0.12 and 0.17 each sometimes return the hidden tail k180..k199 (their gets
  // never do; we clip both). Visible ranges only come from official compactions and clones, never
  // from our snapshots, so the tail is left out of the scan comparison.
  const hiddenTail = new Set(Array.from({ length: 20 }, (_, i) => hex(enc.encode(k("k", 180 + i)))));
  const wantScan: [string, string][] = expectedScan.map(([key, v]) => [
    hex(enc.encode(key)),
    sha256(enc.encode(v)),
  ]);
  for (const answer of [node, python]) {
    expect(answer.values).toEqual(
      probe.map((p) => (model.has(p) ? sha256(enc.encode(model.get(p)!)) : null)),
    );
    expect(answer.scan?.filter(([key]) => !hiddenTail.has(key))).toEqual(wantScan);
  }
}, 120_000);
