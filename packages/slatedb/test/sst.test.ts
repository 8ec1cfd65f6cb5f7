import { describe, expect, test } from "bun:test";
import { DbAdapterError } from "@shardy/errors";
import { ByteWriter, compareBytes } from "../src/bytes.ts";
import { jsHashing } from "../src/hash/hashing.ts";
import { siphash13 } from "../src/index.ts";
import { BlockBuilderV1, BlockBuilderV2 } from "../src/sst/block-builder.ts";
import { Block } from "../src/sst/block-reader.ts";
import { BloomFilter, bloomFromFilterBlock, buildBloom, probesForBitsPerKey } from "../src/sst/bloom.ts";
import { compress, decompress } from "../src/sst/compression.ts";
import { CompressionFormat, FilterFormat } from "../src/sst/format.ts";
import { indexSeparator } from "../src/sst/index-block.ts";
import { SstBuilder } from "../src/sst/sst-builder.ts";
import { readSstFooter, SstTable } from "../src/sst/table.ts";
import { enc, randomBytes, rng, sortUnique } from "./helpers.ts";

function halves(key: Uint8Array): [number, number] {
  const h = siphash13(key);
  return [Number(h & 0xffffffffn), Number(h >> 32n)];
}

function sortedKeys(seed: number, n: number): Uint8Array[] {
  const next = rng(seed);
  const rows = sortUnique(
    Array.from({ length: n }, () => [randomBytes(next, 1 + Math.floor(next() * 12)), new Uint8Array(0)]),
  );
  return rows.map((r) => r[0]);
}

describe("data blocks", () => {
  for (const version of [1, 2] as const) {
    test(`v${version}: rows round-trip with tombstones and timestamps; seek finds the first key >= target`, () => {
      const keys = sortedKeys(version, 400);
      const builder = version === 1 ? new BlockBuilderV1(1 << 16) : new BlockBuilderV2(1 << 16);
      const next = rng(99);
      const expected = keys.map((key, i) => ({
        key,
        value: i % 7 === 0 ? null : randomBytes(next, i % 5),
        seq: BigInt(i * 3 + 1),
        expire: i % 11 === 0 ? BigInt(-i) : undefined,
        create: i % 4 === 0 ? BigInt(1_700_000_000_000 + i) : undefined,
      }));
      for (const r of expected) expect(builder.add(r.key, r.value, r.seq, 0, r.expire, r.create)).toBe(true);
      const w = new ByteWriter();
      builder.finishInto(w);
      const block = Block.decode(w.toBytes(), version);
      if (version === 2) expect(block.offsets.length).toBe(Math.ceil(keys.length / 16));
      else expect(block.offsets.length).toBe(keys.length);
      const rows = block.rows();
      expect(rows.length).toBe(expected.length);
      rows.forEach((row, i) => {
        const e = expected[i]!;
        expect(row.key).toEqual(e.key);
        expect(row.kind).toBe(e.value === null ? "tombstone" : "value");
        expect(row.value).toEqual(e.value ?? new Uint8Array(0));
        expect(row.seq).toBe(e.seq);
        expect(row.expireTs).toBe(e.expire);
        expect(row.createTs).toBe(e.create);
      });
      const probes = sortedKeys(version + 100, 300);
      for (const target of [...probes, ...keys.slice(0, 50)]) {
        const c = block.cursor();
        c.seek(target);
        const got = c.next();
        const want = keys.find((k) => compareBytes(k, target) >= 0);
        expect(got?.key).toEqual(want);
      }
    });
  }

  test("v2 obeys the block size; the first row always fits", () => {
    const b = new BlockBuilderV2(100);
    expect(b.add(enc.encode("a"), new Uint8Array(500), 1n)).toBe(true);
    expect(b.add(enc.encode("b"), new Uint8Array(1), 1n)).toBe(false);
    const small = new BlockBuilderV2(64);
    let n = 0;
    while (small.add(enc.encode(`k${n}`), new Uint8Array(3), 1n)) n++;
    expect(small.size).toBeLessThanOrEqual(64);
    expect(n).toBeGreaterThan(1);
  });
});

describe("index separators", () => {
  test("each separator is > the previous block's last key and <= this block's first key", () => {
    const keys = sortedKeys(5, 2000);
    for (let i = 1; i < keys.length; i++) {
      const sep = indexSeparator(keys[i - 1]!, keys[i]!);
      expect(compareBytes(sep, keys[i - 1]!)).toBeGreaterThan(0);
      expect(compareBytes(sep, keys[i]!)).toBeLessThanOrEqual(0);
    }
    expect(indexSeparator(enc.encode("apple"), enc.encode("apricot"))).toEqual(enc.encode("apr"));
    expect(indexSeparator(enc.encode("ab"), enc.encode("abc"))).toEqual(enc.encode("abc"));
  });
});

describe("bloom filter", () => {
  test("10 bits per key: 6 probes, no false negatives, about 1% false positives", () => {
    expect(probesForBitsPerKey(10)).toBe(6);
    const keys = Array.from({ length: 5000 }, (_, i) => enc.encode(`present-${i}`));
    const hashes = new Uint32Array(2 * keys.length);
    keys.forEach((k, i) => {
      const [lo, hi] = halves(k);
      hashes[2 * i] = lo;
      hashes[2 * i + 1] = hi;
    });
    const encoded = buildBloom(hashes, keys.length, 10);
    expect(encoded.length).toBe(2 + Math.ceil((5000 * 10) / 8));
    const bloom = BloomFilter.decode(encoded);
    for (const k of keys) expect(bloom.mightContain(...halves(k))).toBe(true);
    let fp = 0;
    for (let i = 0; i < 20_000; i++) if (bloom.mightContain(...halves(enc.encode(`absent-${i}`)))) fp++;
    expect(fp / 20_000).toBeLessThan(0.02);
    expect(fp).toBeGreaterThan(0);
  });

  test("a composite block yields its _bf filter and skips unknown ones", () => {
    const k = enc.encode("x");
    const [lo, hi] = halves(k);
    const bloom = buildBloom(new Uint32Array([lo, hi]), 1, 10);
    const w = new ByteWriter();
    w.u16(2);
    for (const [name, data] of [
      ["_pf", new Uint8Array([1, 2, 3])],
      ["_bf", bloom],
    ] as const) {
      const n = enc.encode(name);
      w.u16(n.length);
      w.bytes(n);
      w.u64(BigInt(data.length));
      w.bytes(data);
    }
    const found = bloomFromFilterBlock(w.toBytes(), FilterFormat.Composite);
    expect(found?.mightContain(lo, hi)).toBe(true);
    expect(() => bloomFromFilterBlock(w.toBytes().subarray(0, 20), FilterFormat.Composite)).toThrow(
      /past the end/,
    );
  });
});

describe("codecs", () => {
  test("snappy, zlib and lz4 round-trip, including incompressible and tiny input", () => {
    const next = rng(2);
    const inputs = [
      new Uint8Array(0),
      enc.encode("a"),
      randomBytes(next, 5000),
      enc.encode("abc".repeat(3000)),
    ];
    for (const f of [CompressionFormat.Snappy, CompressionFormat.Zlib, CompressionFormat.Lz4]) {
      for (const input of inputs) expect(decompress(f, compress(f, input))).toEqual(input);
    }
    expect(() => compress(CompressionFormat.Zstd, inputs[2]!)).toThrow(/cannot be written/);
  });
});

/** Builds one SST in memory and opens it like the reader does. */
async function buildSst(
  rows: [Uint8Array, Uint8Array | null][],
  options: { compression?: CompressionFormat; blockSize?: number; formatVersion?: 1 | 2 } = {},
) {
  const chunks: Uint8Array[] = [];
  const b = new SstBuilder({ hashing: jsHashing, chunkBytes: 3000, ...options }, (c) => chunks.push(c));
  for (const [k, v] of rows) b.add(k, v, 1n);
  const done = b.finish();
  const bytes = Buffer.concat(chunks);
  expect(bytes.length).toBe(done.size);
  const read = async (s: number, e: number) => new Uint8Array(bytes.subarray(s, e));
  const table = await SstTable.open("test.sst", done.info, options.formatVersion ?? 2, read, jsHashing);
  return { bytes: new Uint8Array(bytes), done, table };
}

describe("SSTs", () => {
  for (const compression of [
    CompressionFormat.None,
    CompressionFormat.Snappy,
    CompressionFormat.Zlib,
    CompressionFormat.Lz4,
  ]) {
    for (const formatVersion of [1, 2] as const) {
      test(`codec ${compression}, v${formatVersion} blocks: every row is found through index, bloom and block`, async () => {
        const next = rng(compression * 10 + formatVersion);
        const rows = sortUnique(
          Array.from({ length: 3000 }, () => [
            randomBytes(next, 1 + Math.floor(next() * 16)),
            randomBytes(next, 40),
          ]),
        );
        const { done, table, bytes } = await buildSst(rows, { compression, formatVersion });
        expect(done.blockCount).toBeGreaterThan(10);
        expect(table.blockCount).toBe(done.blockCount);
        expect(done.info.filterOffset).toBe(table.info.filterOffset);
        const footer = await readSstFooter(
          "test.sst",
          bytes.length,
          async (s, e) => bytes.slice(s, e),
          jsHashing,
        );
        expect(footer.info).toEqual(done.info);
        expect(footer.formatVersion).toBe(formatVersion);
        for (const [k, v] of rows) {
          expect(table.mightContain(...halves(k))).toBe(true);
          const [from, to] = table.pointBlocks(k);
          expect(to - from).toBeLessThanOrEqual(2);
          const found = (await table.readBlocks(from, to))
            .flatMap((b) => b.rows())
            .find((r) => compareBytes(r.key, k) === 0);
          expect(found?.value).toEqual(v!);
        }
        const all = (await table.readBlocks(0, table.blockCount)).flatMap((b) => b.rows());
        expect(all.map((r) => Buffer.from(r.key).toString("hex"))).toEqual(
          rows.map(([k]) => Buffer.from(k).toString("hex")),
        );
      });
    }
  }

  test("a flipped byte in a block, the index or the info is a CRC error naming the object", async () => {
    const rows = Array.from({ length: 500 }, (_, i) => [
      enc.encode(`k${String(i).padStart(4, "0")}`),
      enc.encode("v"),
    ]) as [Uint8Array, Uint8Array][];
    const { bytes, done } = await buildSst(rows);
    const corruptAt = async (at: number) => {
      const bad = bytes.slice();
      bad[at]! ^= 0x40;
      const read = async (s: number, e: number) => bad.slice(s, e);
      const t = await SstTable.open("bad.sst", done.info, 2, read, jsHashing);
      return t.readBlocks(0, t.blockCount);
    };
    await expect(corruptAt(10)).rejects.toThrow(/bad\.sst block 0 at \[0, \d+\): CRC-32 mismatch/);
    await expect(corruptAt(Number(done.info.indexOffset) + 5)).rejects.toThrow(
      /index block: CRC-32 mismatch/,
    );
    await expect(corruptAt(Number(done.info.filterOffset) + 5)).rejects.toThrow(DbAdapterError);
    const badInfo = bytes.slice();
    badInfo[bytes.length - 20]! ^= 1;
    await expect(
      readSstFooter("bad.sst", badInfo.length, async (s, e) => badInfo.slice(s, e), jsHashing),
    ).rejects.toThrow(/SsTableInfo: CRC-32 mismatch/);
  });

  test("a truncated SST is detected", async () => {
    const rows = Array.from({ length: 500 }, (_, i) => [enc.encode(`k${i}`), enc.encode("value")]) as [
      Uint8Array,
      Uint8Array,
    ][];
    const { bytes, done } = await buildSst(rows.sort((a, b) => compareBytes(a[0], b[0])));
    const cut = bytes.slice(0, Number(done.info.indexOffset) + 10);
    const read = async (s: number, e: number) => cut.slice(s, Math.min(e, cut.length));
    await expect(SstTable.open("cut.sst", done.info, 2, read, jsHashing)).rejects.toThrow(/truncated SST/);
    await expect(readSstFooter("cut.sst", 8, read, jsHashing)).rejects.toThrow(/too short/);
  });
});
