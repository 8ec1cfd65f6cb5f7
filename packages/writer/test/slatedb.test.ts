/** The SlateDB backend through the same pipeline, read back with `@shardy/slatedb`'s reader. */
import { afterAll, expect, test } from "bun:test";
import { keyForUrl } from "@shardy/core";
import { getKernel } from "@shardy/kernel";
import { openSlateDbReader } from "@shardy/slatedb";
import { FileStore } from "@shardy/store";
import { Int64, Table, Utf8, vectorFromArray } from "apache-arrow";
import { buildSnapshot, ValueSpec } from "../src/index.ts";
import { removeTempDirs, tempDir, u64 } from "./helpers.ts";

afterAll(removeTempDirs);

for (const kind of ["slatedb", "slatedb-local"] as const) {
  test(`${kind}: every key in exactly its predicted shard, last duplicate wins`, async () => {
    const dir = tempDir(kind);
    const n = 300;
    // Keys in descending order plus a duplicate of key 7: the writer must sort and de-duplicate.
    const keys = [...Array.from({ length: n }, (_, i) => BigInt(n - 1 - i)), 7n];
    const table = new Table({
      id: vectorFromArray(keys, new Int64()),
      v: vectorFromArray(
        keys.map((k, i) => (i === n ? "latest" : `v${k}`)),
        new Utf8(),
      ),
    });
    const result = await buildSnapshot({
      inputs: table,
      config: { s3_prefix: `file://${dir}`, num_dbs: 3, adapter_factory: { kind } },
      input: { key_col: "id", value_spec: ValueSpec.binaryCol("v") },
      workers: 2,
      batchRows: 64,
    });
    expect(result.winners.length).toBe(3);
    expect(result.stats.rowsWritten).toBe(n);
    expect(result.stats.duplicates).toBe(1);
    const store = new FileStore(dir);
    const kernel = await getKernel();
    const readers = new Map<number, Awaited<ReturnType<typeof openSlateDbReader>>>();
    for (const w of result.winners) {
      readers.set(w.dbId, await openSlateDbReader({ store, dbPrefix: keyForUrl(store, w.dbUrl!) }));
      expect(w.checkpointId).not.toBeNull();
    }
    const dec = new TextDecoder();
    for (let k = 0n; k < BigInt(n); k++) {
      const want = kernel.routeKey(k, 3);
      for (const [dbId, reader] of readers) {
        const got = await reader.get(u64(k));
        if (dbId === want)
          expect(got === undefined ? undefined : dec.decode(got)).toBe(k === 7n ? "latest" : `v${k}`);
        else expect(got).toBeUndefined();
      }
    }
  });
}
