/**
 * Picks the SQLite engine for this runtime: `bun:sqlite` under Bun, `node:sqlite` under Deno and
 * Node >= 22.5, `sql.js` everywhere else. Each driver module is imported only when chosen.
 */
import { ConfigValidationError } from "@shardy/errors";
import type { SqlJsOptions } from "./sqljs.ts";
import type { DriverName, SqliteDriver } from "./types.ts";

const cache = new Map<DriverName, Promise<SqliteDriver>>();

/** The driver this runtime would use by default. */
export async function detectDriverName(): Promise<DriverName> {
  if ((globalThis as { Bun?: unknown }).Bun !== undefined) return "bun";
  try {
    const specifier = "node:sqlite";
    await import(specifier);
    return "node";
  } catch {
    return "sqljs";
  }
}

/** Loads (once) the named driver, or the runtime's default. */
export async function loadDriver(name?: DriverName, sqljs?: SqlJsOptions): Promise<SqliteDriver> {
  const chosen = name ?? (await detectDriverName());
  let driver = cache.get(chosen);
  if (!driver || (chosen === "sqljs" && sqljs?.wasmBinary)) {
    driver = createDriver(chosen, sqljs);
    cache.set(chosen, driver);
    driver.catch(() => cache.delete(chosen));
  }
  return driver;
}

async function createDriver(name: DriverName, sqljs?: SqlJsOptions): Promise<SqliteDriver> {
  switch (name) {
    case "bun":
      return (await import("./bun.ts")).createBunDriver();
    case "node":
      return (await import("./node.ts")).createNodeDriver();
    case "sqljs":
      return (await import("./sqljs.ts")).createSqlJsDriver(sqljs);
    default:
      throw new ConfigValidationError(
        `unknown SQLite driver ${JSON.stringify(name)}; use "bun", "node" or "sqljs"`,
        { field: "driver" },
      );
  }
}
