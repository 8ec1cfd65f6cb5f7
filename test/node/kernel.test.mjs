// The kernel package as Node sees it: "@shardy/kernel" resolves to the built dist/index.js
// (scripts/test-node builds it, and the shared vector checker, first).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { getKernel, loadKernel } from "@shardy/kernel";
import { Int64, vectorFromArray } from "apache-arrow";
import { checkRoutingVectors } from "../../test-artifacts/node/check-routing.js";

const vectors = JSON.parse(await readFile(new URL("../vectors/routing.json", import.meta.url), "utf8"));

test("resolves to the built JS, not the TypeScript source", () => {
  const resolved = import.meta.resolve("@shardy/kernel");
  assert.match(resolved, /\/packages\/kernel\/dist\/index\.js$/);
});

test("routing.json vectors through the kernel loaded from its default file", async () => {
  const { checks } = checkRoutingVectors(await getKernel(), vectors);
  assert.ok(checks > 1000, `only ${checks} routing checks ran`);
});

test("routing.json vectors through a kernel loaded from bytes", async () => {
  const bytes = await readFile(new URL("../../packages/kernel/wasm/shardy_kernel.wasm", import.meta.url));
  const { checks } = checkRoutingVectors(await loadKernel(bytes), vectors);
  assert.ok(checks > 1000, `only ${checks} routing checks ran`);
});

test("errors are the typed shardy errors", async () => {
  const kernel = await getKernel();
  assert.throws(
    () => kernel.routeBatch(vectorFromArray([1n, null], new Int64()), 4),
    (err) =>
      err.name === "ConfigValidationError" && err.message === "key at row 1 is null; keys must not be null",
  );
});

test("kernel CEL: batch routing over Arrow columns and per-row evaluation", async () => {
  const kernel = await getKernel();
  const keys = vectorFromArray([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n], new Int64());
  const program = kernel.compileCel("shard_hash(key) % 3u", { key: "int" });
  assert.deepEqual(Array.from(program.routeBatch({ key: keys })), [2, 2, 1, 1, 0, 2, 0, 2, 0, 0]);
  assert.deepEqual(program.evalRow({ key: 4n }), { type: "uint", value: 0n });
  program.dispose();
  assert.throws(() => kernel.compileCel("key % 16u", { key: "int" }), /`uint\(key\) % 16u`/);
});
