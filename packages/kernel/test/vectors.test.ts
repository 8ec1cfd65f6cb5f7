import { expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { checkRoutingVectors, type RoutingVectors } from "../../../test/vectors/check-routing.ts";
import { getKernel } from "../src/index.ts";

test("routing.json: cases, sequences, key encodings and errors", async () => {
  const vectors = JSON.parse(
    await readFile(new URL("../../../test/vectors/routing.json", import.meta.url), "utf8"),
  ) as RoutingVectors;
  const { checks } = checkRoutingVectors(await getKernel(), vectors);
  // 39 cases x 10 single-key checks alone is 390; the batch columns add several hundred more.
  expect(checks).toBeGreaterThan(1000);
});
