import { describe, expect, test } from "bun:test";
import { ManifestParseError } from "@shardy/errors";
import { MemoryStore } from "@shardy/store";
import {
  decodeManifest,
  encodeManifestV1,
  type ManifestState,
  newUlid,
  openManifest,
  ulidFromString,
  ulidToString,
  uuidFromString,
  uuidToString,
} from "../src/index.ts";
import { I64_MIN } from "../src/manifest/codec.ts";
import { enc } from "./helpers.ts";

function sampleState(): ManifestState {
  const info = (first: string, last: string) => ({
    firstEntry: enc.encode(first),
    lastEntry: enc.encode(last),
    indexOffset: 4000n,
    indexLen: 120n,
    filterOffset: 3000n,
    filterLen: 1000n,
    compressionFormat: 0,
    sstType: 0,
    statsOffset: 0n,
    statsLen: 0n,
    filterFormat: 0,
  });
  return {
    formatVersion: 1,
    initialized: true,
    writerEpoch: 0n,
    compactorEpoch: 0n,
    replayAfterWalId: 0n,
    walIdLastSeen: 0n,
    l0: [{ id: newUlid(1_700_000_000_000), info: info("m", "n"), formatVersion: 2 }],
    compacted: [
      {
        id: 3,
        ssts: [
          { id: newUlid(1), info: info("a", "f"), formatVersion: 2 },
          {
            id: newUlid(2),
            info: info("g", "z"),
            formatVersion: 1,
            visibleRange: {
              start: { key: enc.encode("h"), boundType: 2 },
              end: { key: new Uint8Array(0), boundType: 1 },
            },
          },
        ],
      },
    ],
    lastL0ClockTick: I64_MIN,
    checkpoints: [
      {
        id: uuidFromString("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
        manifestId: 1n,
        expireTimeS: 0,
        createTimeS: 17,
        name: "snapshot",
      },
    ],
    lastL0Seq: 1n,
    recentSnapshotMinSeq: 0n,
    segments: [],
  };
}

describe("ManifestV1", () => {
  test("encodes with the u16 version prefix and decodes to the same state", () => {
    const state = sampleState();
    const bytes = encodeManifestV1(state);
    expect([bytes[0], bytes[1]]).toEqual([0, 1]);
    expect(decodeManifest(bytes)).toEqual(state);
  });

  test("bad prefixes and truncation are typed errors that name the problem", async () => {
    const bytes = encodeManifestV1(sampleState());
    expect(() => decodeManifest(new Uint8Array([0]))).toThrow(/no version prefix/);
    const v9 = bytes.slice();
    v9[1] = 9;
    expect(() => decodeManifest(v9)).toThrow(/format version 9 is not supported/);
    expect(() => decodeManifest(bytes.subarray(0, bytes.length - 40))).toThrow(/corrupt manifest/);
    const store = new MemoryStore("manifest-test");
    await store.put("db/manifest/00000000000000000001.manifest", bytes.subarray(0, 30));
    await expect(openManifest(store, "db", {})).rejects.toBeInstanceOf(ManifestParseError);
  });

  test("opening by checkpoint follows the latest manifest to the pinned one", async () => {
    const store = new MemoryStore("checkpoint-test");
    const pinned = sampleState();
    const latest = { ...sampleState(), lastL0Seq: 99n };
    latest.checkpoints = [{ ...pinned.checkpoints[0]!, manifestId: 1n }];
    pinned.checkpoints = [];
    await store.put("db/manifest/00000000000000000001.manifest", encodeManifestV1(pinned));
    await store.put("db/manifest/00000000000000000002.manifest", encodeManifestV1(latest));
    await store.put("db/manifest/junk.txt", enc.encode("ignored"));
    const viaCp = await openManifest(store, "db", { checkpointId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0" });
    expect(viaCp.id).toBe(1n);
    expect(viaCp.state.lastL0Seq).toBe(1n);
    expect((await openManifest(store, "db", {})).id).toBe(2n);
    await expect(
      openManifest(store, "db", { checkpointId: "00000000-0000-0000-0000-000000000001" }),
    ).rejects.toThrow(
      /checkpoint 00000000-0000-0000-0000-000000000001 is not in .*checkpoints: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/,
    );
    await expect(openManifest(store, "nowhere", {})).rejects.toThrow(/holds no manifest/);
  });
});

describe("ids", () => {
  test("ULIDs are 26 Crockford characters carrying the millisecond time", () => {
    const u = newUlid(1_700_000_000_123);
    const s = ulidToString(u);
    expect(s).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(ulidFromString(s)).toEqual(u);
    expect(Number(u.high >> 16n)).toBe(1_700_000_000_123);
    expect(ulidToString(ulidFromString("01J79C21YKR31J2BS1EFXJZ7MR"))).toBe("01J79C21YKR31J2BS1EFXJZ7MR");
    expect(() => ulidFromString("01J79C21YKR31J2BS1EFXJZ7M!")).toThrow(/non-Crockford/);
  });

  test("UUIDs split into big-endian u64 halves", () => {
    const u = uuidFromString("01234567-89ab-cdef-0011-223344556677");
    expect(u).toEqual({ high: 0x0123456789abcdefn, low: 0x0011223344556677n });
    expect(uuidToString(u)).toBe("01234567-89ab-cdef-0011-223344556677");
    expect(() => uuidFromString("not-a-uuid")).toThrow(/is not a UUID/);
  });
});
