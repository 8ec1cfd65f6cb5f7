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
