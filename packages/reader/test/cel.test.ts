/**
 * CEL snapshots built by the real writer and read back (reference §4.2, §11 CEL smoke scenarios):
 * key-only expressions route the key itself; multi-column ones route the `routingContext`, every
 * key of a lookup to the context's shard; an unknown categorical token is a miss for get/multiGet
 * and an error for routeKey; a missing context is a ConfigValidationError.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { ConfigValidationError, ShardAssignmentError } from "@shardy/errors";
import { getKernel } from "@shardy/kernel";
import { buildSnapshot, ValueSpec } from "@shardy/writer";
import { tableFromArrays } from "apache-arrow";
import { ShardedReader } from "../src/index.ts";
import { fileStores, minioStores, tempDir, text } from "./helpers/snapshots.ts";

const kernel = await getKernel();
const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const KEYS = WORDS.map((_, i) => BigInt(i));
const SMOKE = tableFromArrays({
  key: BigInt64Array.from(KEYS),
  value: WORDS,
  group: WORDS.map((_, i) => (i % 2 === 0 ? "a" : "b")),
});

for (const makeStores of [fileStores, minioStores]) {
  const stores = makeStores();
  afterAll(() => stores.cleanup());

  describe(`CEL smoke scenarios read back (${stores.name})`, () => {
    async function build(sharding: Record<string, unknown>) {
      const { store, prefix, url } = stores.open();
      const result = await buildSnapshot({
        inputs: [SMOKE.batches[0]!],
        config: {
          s3_prefix: url,
          key_encoding: "u64be",
          adapter_factory: { kind: "sqlite" },
          output: { local_root: tempDir() },
          ...sharding,
        },
        input: { key_col: "key", value_spec: ValueSpec.binaryCol("value") },
        store,
        workers: 0,
      });
      const reader = await ShardedReader.open({ store, prefix, sqlite: { localRoot: tempDir() } });
      return { result, reader };
    }

    const keyOnly: Array<[string, number, (i: number) => number]> = [
      ["key % 3", 3, (i) => i % 3],
      ["shard_hash(key) % 3u", 3, (i) => kernel.routeKey(KEYS[i]!, 3)],
      ["uint(key)", 10, (i) => i],
    ];
    for (const [expr, winners, predict] of keyOnly) {
      test(`${expr}: ${winners} winners, every key read from its predicted shard`, async () => {
        const { result, reader } = await build({ cel_expr: expr, cel_columns: { key: "int" } });
        try {
          expect(result.winners.length).toBe(winners);
          expect(reader.snapshotInfo().sharding.strategy).toBe("cel");
          expect(KEYS.map((k) => reader.routeKey(k))).toEqual(KEYS.map((_, i) => predict(i)));
          expect((await reader.multiGet(KEYS)).map(text)).toEqual(WORDS);
          for (const [i, k] of KEYS.entries()) expect(text(await reader.get(k))).toBe(WORDS[i]);
          for (const d of reader.shardDetails()) {
            expect(d.rowCount).toBe(KEYS.filter((_, i) => predict(i) === d.dbId).length);
          }
          if (winners === 10) {
            // Direct mode: an id beyond the snapshot's shards is an error, not a miss.
            expect(await reader.get(99n).catch((e) => e)).toBeInstanceOf(ShardAssignmentError);
          } else {
            expect(await reader.get(99n)).toBeUndefined();
          }
        } finally {
          await reader.close();
        }
      }, 30_000);
    }

    test('group with routing_values ["a","b"]: reads need routing_context', async () => {
      const { result, reader } = await build({
        cel_expr: "group",
        cel_columns: { group: "string" },
        routing_values: ["a", "b"],
      });
      try {
        expect(result.winners.length).toBe(2);
        const even = KEYS.filter((k) => k % 2n === 0n);
        const odd = KEYS.filter((k) => k % 2n === 1n);
        expect((await reader.multiGet(even, { routingContext: { group: "a" } })).map(text)).toEqual(
          even.map((k) => WORDS[Number(k)]),
        );
        expect((await reader.multiGet(odd, { routingContext: { group: "b" } })).map(text)).toEqual(
          odd.map((k) => WORDS[Number(k)]),
        );
        expect(text(await reader.get(3n, { routingContext: { group: "b" } }))).toBe("three");
        // The context decides the shard: an odd key looked up under "a" is not in shard 0.
        expect(await reader.get(3n, { routingContext: { group: "a" } })).toBeUndefined();
        expect(reader.routeKey(3n, { routingContext: { group: "b" } })).toBe(1);
        // Unknown token: a miss for reads, an error for routeKey.
        expect(await reader.get(0n, { routingContext: { group: "zzz" } })).toBeUndefined();
        expect(await reader.multiGet([0n, 1n], { routingContext: { group: "zzz" } })).toEqual([
          undefined,
          undefined,
        ]);
        expect(() => reader.routeKey(0n, { routingContext: { group: "zzz" } })).toThrow(/routing_values/);
        // No context, or a mistyped one: typed errors naming the column.
        const missing = await reader.get(0n).catch((e) => e);
        expect(missing).toBeInstanceOf(ConfigValidationError);
        expect(missing.message).toContain("group");
        const mistyped = await reader.get(0n, { routingContext: { group: 1 } }).catch((e) => e);
        expect(mistyped).toBeInstanceOf(ConfigValidationError);
        expect(mistyped.message).toContain("group");
      } finally {
        await reader.close();
      }
    }, 30_000);
  });
}
