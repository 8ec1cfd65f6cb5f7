/**
 * Cross-checks with the official SlateDB: the Node binding `@slatedb/uniffi` 0.12.1 (oldest
 * reader we support) and PyPI `slatedb` 0.17 (newest) read our snapshots by checkpoint id, and
 * our reader reads databases their writers produce (L0 and sorted runs, overwrites, deletes,
 * legacy and composite filters, every codec).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { FileStore } from "@shardy/store";
import { createSlateDbShardWriter, openSlateDbReader, type SnapshotOptions } from "../src/index.ts";
import {
  enc,
  hex,
  listFiles,
  mixedRows,
  nodeOracle,
  type OracleRead,
  pythonOracle,
  randomBytes,
  rng,
  sha256,
  tempDir,
  u64be,
} from "./helpers.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function dir(name: string): Promise<string> {
  const d = await tempDir(name);
  cleanups.push(d.cleanup);
  return d.path;
}

/** Where each oracle finds a DB at `<root>/db` in a local directory. */
function locations(root: string) {
  return {
    node: { url: `file://${root}`, path: "db" },
    // SlateDB 0.14+ wants an empty path in file URLs; the DB path carries the directory.
    python: { url: "file:///", path: `${root.replace(/^\/+/, "")}/db` },
  };
}

type Rows = [Uint8Array, Uint8Array][];

async function writeOurs(root: string, rows: Rows, options: SnapshotOptions = {}) {
  const store = new FileStore(root);
  const w = createSlateDbShardWriter({ store, dbPrefix: "db", sstTargetBytes: 128 * 1024, ...options });
  await w.writeBatch(rows);
  return w.seal();
}

function missesFor(rows: Rows, seed: number): Uint8Array[] {
  const next = rng(seed);
  const present = new Set(rows.map(([k]) => hex(k)));
  const out: Uint8Array[] = [];
  for (const [k] of rows.slice(0, 600)) {
    const m = new Uint8Array(k.length + 1);
    m.set(k);
    m[k.length] = Math.floor(next() * 256);
    if (!present.has(hex(m))) out.push(m);
  }
  out.push(enc.encode("~~~ after every key"), new Uint8Array([0x00, 0x00]));
  return out.filter((m) => !present.has(hex(m)));
}

function expectOracleRead(answer: OracleRead, rows: Rows, misses: Uint8Array[], prefixRows: Rows) {
  expect(answer.values.length).toBe(rows.length + misses.length);
  const want = [...rows.map(([, v]) => sha256(v)), ...misses.map(() => null)];
  let wrong = 0;
  answer.values.forEach((v, i) => {
    if (v !== want[i]) wrong++;
  });
  expect(wrong).toBe(0);
  expect(answer.scan).toEqual(rows.map(([k, v]) => [hex(k), sha256(v)]));
  expect(answer.prefix_rows).toEqual(prefixRows.map(([k, v]) => [hex(k), sha256(v)]));
}

describe("official readers open our snapshots by checkpoint id, writing nothing", () => {
  const cases: [string, SnapshotOptions][] = [
    ["default profile (v2 blocks, legacy bloom, no compression)", {}],
    ["lz4 blocks", { compression: "lz4" }],
    ["snappy blocks", { compression: "snappy" }],
    ["zlib blocks, v1 block format", { compression: "zlib", blockFormat: 1 }],
  ];
  for (const [name, options] of cases) {
    test(name, async () => {
      const root = await dir("ours");
      const rows = mixedRows(name.length, 2500);
      const misses = missesFor(rows, 9);
      const prefix = enc.encode("🔑/");
      const prefixRows = rows.filter(([k]) =>
        Buffer.from(k).subarray(0, prefix.length).equals(Buffer.from(prefix)),
      );
      expect(prefixRows.length).toBeGreaterThan(50);
      const res = await writeOurs(root, rows, options);
      expect(res.sstCount).toBeGreaterThan(3);
      const before = listFiles(root);
      const request = {
        op: "read",
        checkpoint: res.checkpointId,
        keys: [...rows.map(([k]) => hex(k)), ...misses.map(hex)],
        scan: true,
        prefix: hex(prefix),
      };
      const loc = locations(root);
      const [node, python] = await Promise.all([
        nodeOracle<OracleRead>({ ...request, ...loc.node }),
        pythonOracle<OracleRead>({ ...request, ...loc.python }),
      ]);
      expectOracleRead(node, rows, misses, prefixRows);
      expectOracleRead(python, rows, misses, prefixRows);
      expect(listFiles(root)).toEqual(before);
      // The newest Admin API decodes our manifest field by field.
      const m = await pythonOracle<{
        l0: number;
        compacted: number[];
        last_l0_seq: number;
        initialized: boolean;
        checkpoints: { id: string; manifest_id: number; name: string }[];
      }>({ op: "manifest", id: 1, ...loc.python });
      expect(m).toMatchObject({ l0: 0, compacted: [res.sstCount], last_l0_seq: 1, initialized: true });
      expect(m.checkpoints).toEqual([{ id: res.checkpointId, manifest_id: 1, name: "snapshot" }]);
    }, 120_000);
  }

  test("an empty snapshot", async () => {
    const root = await dir("empty");
    const res = await writeOurs(root, []);
    const request = { op: "read", checkpoint: res.checkpointId, keys: [hex(enc.encode("a"))], scan: true };
    const loc = locations(root);
    for (const answer of await Promise.all([
      nodeOracle<OracleRead>({ ...request, ...loc.node }),
      pythonOracle<OracleRead>({ ...request, ...loc.python }),
    ])) {
      expect(answer.values).toEqual([null]);
      expect(answer.scan).toEqual([]);
    }
  }, 60_000);
});

/** A reference model of what the official writer's steps leave behind. */
function applySteps(steps: Step[]): Map<string, Uint8Array> {
  const model = new Map<string, Uint8Array>();
  for (const s of steps) {
    if ("put" in s) for (const [k, v] of s.put) model.set(k, Buffer.from(v, "hex"));
    if ("delete" in s) for (const k of s.delete) model.delete(k);
  }
  return model;
}

type Step =
  | { put: [string, string][] }
  | { delete: string[] }
  | { flush: "memtable" | "wal" }
  | { wait_compacted: number };

/** Generations of puts, overwrites and deletes over one key space, each flushed to L0. */
function generations(
  seed: number,
  count: number,
  keysPer: number,
  flush: "memtable" | "wal" = "memtable",
): Step[] {
  const next = rng(seed);
  const steps: Step[] = [];
  for (let g = 0; g < count; g++) {
    const put: [string, string][] = [];
    for (let i = 0; i < keysPer; i++) {
      const id = BigInt(Math.floor(next() * keysPer * 2));
      const value = randomBytes(next, Math.floor(next() * 200));
      put.push([hex(u64be(id)), hex(value)]);
    }
    steps.push({ put });
    const del = Array.from({ length: keysPer / 20 }, () =>
      hex(u64be(BigInt(Math.floor(next() * keysPer * 2)))),
    );
    steps.push({ delete: del });
    steps.push({ flush });
  }
  return steps;
}

async function expectOurReaderMatches(
  root: string,
  model: Map<string, Uint8Array>,
  keySpace: number,
  options: { walReplay?: boolean } = {},
) {
  const r = await openSlateDbReader({ store: new FileStore(root), dbPrefix: "db", ...options });
  let wrong = 0;
  for (let i = 0; i < keySpace; i++) {
    const k = hex(u64be(BigInt(i)));
    const got = await r.get(u64be(BigInt(i)));
    const want = model.get(k);
    if ((got === undefined ? undefined : hex(got)) !== (want === undefined ? undefined : hex(want))) wrong++;
  }
  expect(wrong).toBe(0);
  const scanned: [string, string][] = [];
  for await (const [k, v] of r.scan()) scanned.push([hex(k), hex(v)]);
  const expected: [string, string][] = [...model.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => [k, hex(v)]);
  expect(scanned).toEqual(expected);
  const mid = [...model.keys()].sort()[Math.floor(model.size / 2)]!;
  const part: string[] = [];
  for await (const [k] of r.scan({ start: Buffer.from(mid, "hex"), end: u64be(BigInt(keySpace)) }))
    part.push(hex(k));
  expect(part).toEqual(expected.map(([k]) => k).filter((k) => k >= mid));
  return r;
}

describe("our reader reads databases the official writers produce", () => {
  test("Node 0.12.1 writer: L0 SSTs with overwrites and deletes, legacy filters", async () => {
    const root = await dir("node-writer");
    const steps = generations(1, 3, 2000);
    await nodeOracle({ op: "write", ...locations(root).node, settings: { min_filter_keys: 10 }, steps });
    const r = await expectOurReaderMatches(root, applySteps(steps), 4000);
    expect(r.manifest.l0.length).toBe(3);
    expect(r.manifest.l0.every((s) => s.info.filterLen > 0n && s.info.filterFormat === 0)).toBe(true);
  }, 120_000);

  test("writes only flushed to the WAL (as the reference shard writer leaves them) are replayed", async () => {
    const root = await dir("wal");
    const flushed = generations(3, 1, 2000);
    const walOnly = generations(4, 2, 2000, "wal");
    await nodeOracle({ op: "write", ...locations(root).node, steps: [...flushed, ...walOnly] });
    const r = await expectOurReaderMatches(root, applySteps([...flushed, ...walOnly]), 4000);
    expect(r.manifest.l0.length).toBe(1);
    expect(applySteps(flushed).size).not.toBe(applySteps([...flushed, ...walOnly]).size);
    // Without replay only the L0 state is visible.
    await expectOurReaderMatches(root, applySteps(flushed), 4000, { walReplay: false });
    const py = await dir("wal-py");
    const steps = generations(5, 2, 1500, "wal");
    await pythonOracle({ op: "write", ...locations(py).python, steps });
    // SlateDB 0.17 flushes the memtable to L0 on shutdown; what remains in its WAL must not shadow it.
    await expectOurReaderMatches(py, applySteps(steps), 3000);
  }, 120_000);

  for (const codec of ["Zstd", "Lz4", "Snappy", "Zlib"]) {
    test(`Python 0.17 writer, ${codec} blocks: composite filters, L0 over compacted sorted runs`, async () => {
      const root = await dir(`py-${codec}`);
      const steps: Step[] = [
        ...generations(codec.length, 5, 1500),
        { wait_compacted: 60 },
        ...generations(codec.length + 50, 2, 1500),
      ];
      const answer = await pythonOracle<{ manifest: { l0: number; compacted: number[] } }>({
        op: "write",
        ...locations(root).python,
        settings: {
          compression_codec: codec,
          min_filter_keys: 10,
          "compactor_options.poll_interval": "100ms",
          "compactor_options.worker.compactions_poll_interval": "100ms",
          "compactor_options.worker.compression_codec": codec,
        },
        steps,
      });
      expect(answer.manifest.compacted.length).toBeGreaterThan(0);
      expect(answer.manifest.l0).toBeGreaterThan(0);
      const r = await expectOurReaderMatches(root, applySteps(steps), 3000);
      const all = [...r.manifest.l0, ...r.manifest.compacted.flatMap((s) => s.ssts)];
      expect(all.every((s) => s.info.compressionFormat !== 0)).toBe(true);
      expect(all.some((s) => s.info.filterFormat === 1)).toBe(true);
    }, 180_000);
  }
});
