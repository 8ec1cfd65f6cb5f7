import { afterAll, describe, expect, test } from "bun:test";
import { detectDriverName, loadDriver } from "../src/index.ts";
import { driverCases } from "./driver-suite.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

for (const name of ["bun", "sqljs"] as const) {
  describe(`driver ${name}`, () => {
    for (const c of driverCases) {
      test(c.name, async () => {
        await c.run(await loadDriver(name), tempDir(`drv-${name}`));
      });
    }
  });
}

test("Bun picks bun:sqlite by default", async () => {
  expect(await detectDriverName()).toBe("bun");
  expect((await loadDriver()).name).toBe("bun");
});

test("an unknown driver name is a config error", async () => {
  await expect(loadDriver("nope" as "bun")).rejects.toThrow(/unknown SQLite driver "nope"/);
});
