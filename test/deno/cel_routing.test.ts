/// <reference lib="deno.ns" />
// Kernel CEL under Deno: the same program routes like HASH sharding and reports errors alike.
import { getKernel } from "@shardy/kernel";
import { Int64, vectorFromArray } from "apache-arrow";

Deno.test("CEL shard_hash(key) % 3u routes like HASH with 3 shards; compile errors carry a caret", async () => {
  const kernel = await getKernel();
  const keys = vectorFromArray([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n], new Int64());
  const program = kernel.compileCel("shard_hash(key) % 3u", { key: "int" });
  const ids = Array.from(program.routeBatch({ key: keys }));
  const want = [2, 2, 1, 1, 0, 2, 0, 2, 0, 0];
  if (JSON.stringify(ids) !== JSON.stringify(want)) throw new Error(`got ${ids}, want ${want}`);
  program.dispose();
  let message = "";
  try {
    kernel.compileCel("key % 16u", { key: "int" });
  } catch (e) {
    message = (e as Error).message;
  }
  if (!message.includes("`uint(key) % 16u`") || !message.includes("key % 16u\n      ^")) {
    throw new Error(`unexpected compile error: ${message}`);
  }
});
