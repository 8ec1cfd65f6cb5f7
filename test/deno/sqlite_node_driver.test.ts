/// <reference lib="deno.ns" />
// @shardy/sqlite under Deno: the driver conformance suite on node:sqlite (Deno's built-in
// SQLite), then a shard written under Deno and read back by the download and range readers.
import assert from "node:assert/strict";
import {
  detectDriverName,
  loadDriver,
  SqliteDownloadReader,
  SqliteRangeReader,
  SqliteShardWriter,
} from "@shardy/sqlite";
import { driverCases } from "../../packages/sqlite/test/driver-suite.ts";
// memory.ts directly: the store index pulls in file-lock.ts, whose top-level os.hostname() needs --allow-sys.
import { MemoryStore } from "../../packages/store/src/memory.ts";

function u64(i: number): Uint8Array {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setBigUint64(0, BigInt(i));
  return k;
}

function value(i: number): Uint8Array {
  const v = new Uint8Array(i % 11 === 0 ? 9000 : 40).fill(i & 0xff);
  new DataView(v.buffer).setUint32(0, i);
  return v;
}

Deno.test("Deno picks node:sqlite", async () => {
  assert.equal(await detectDriverName(), "node");
});

for (const c of driverCases) {
  Deno.test(`driver node: ${c.name}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "shardy-sqlite-deno-" });
    try {
      await c.run(await loadDriver("node"), dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a shard written under Deno reads back through both readers (node:sqlite)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shardy-sqlite-deno-" });
  try {
    const store = new MemoryStore("deno-sqlite");
    const dbUrl = `${store.baseUrl}/snap/shards/run_id=d/db=00000/attempt=00`;
    const writer = await SqliteShardWriter.create({ store, dbUrl, localDir: `${dir}/w` });
    for (let i = 999; i >= 0; i--) writer.put(u64(i), value(i));
    const result = await writer.finish();
    assert.equal(result.rowCount, 1000);
    assert.equal(result.sidecar.written, true);

    const dl = await SqliteDownloadReader.open({
      store,
      dbUrl,
      dbId: 0,
      localRoot: `${dir}/cache`,
      expectedChecksum: result.checksum,
    });
    assert.deepEqual(await dl.multiGet([u64(0), u64(7), u64(1000)]), [value(0), value(7), undefined]);
    await dl.close();

    const rr = await SqliteRangeReader.open({ store, dbUrl });
    assert.equal(rr.info.sidecar, "used");
    for (const i of [11, 500, 999]) {
      rr.resetStats();
      assert.deepEqual(await rr.get(u64(i)), value(i));
      assert.ok(rr.stats().rangeRequests <= 2, `get ${i} took ${rr.stats().rangeRequests} range requests`);
    }
    await rr.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
