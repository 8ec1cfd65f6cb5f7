/**
 * The inspector page in headless Chromium (Debian `chromium`, driven by playwright-core): overview,
 * shard-size chart, key lookup with the routing decision, and rollback with the admin token.
 * Screenshots go to test-artifacts/server-inspector/. Fails (never skips) without /usr/bin/chromium:
 * `bash scripts/setup` installs it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { getKernel } from "@shardy/kernel";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { SnapshotFixture } from "./helpers/fixture-types.ts";
import { publishVersion } from "./helpers/fixtures.ts";
import { type ServerProcess, startServerProcess } from "./helpers/server-process.ts";

const ROOT = path.resolve(import.meta.dir, "../../..");
const ARTIFACTS = path.join(ROOT, "test-artifacts", "server-inspector");
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const ADMIN = `admin-${crypto.randomUUID()}`;
let dir = "";
let server: ServerProcess | undefined;
let browser: BrowserContext | undefined;
let page: Page;
const runIds: string[] = [];
const pageErrors: string[] = [];
const fixture: SnapshotFixture = {
  name: "users",
  store: "file",
  backend: "sqlite",
  keyEncoding: "u64be",
  sqliteMode: "download",
  numDbs: 8,
  rows: 3000,
  currentUrl: "",
  versions: [],
  runIds: [],
  routes: [],
  rollback: true,
  live: false,
};

async function shot(name: string) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function lookup(key: string): Promise<void> {
  await page.fill('[data-testid="lookup-key"]', key);
  await page.selectOption('[data-testid="lookup-encoding"]', "utf8");
  await page.click('[data-testid="lookup-submit"]');
  await page.waitForSelector('[data-testid="lk-value"], [data-testid="lk-error"]');
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run bash scripts/setup (it installs Debian's chromium)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(path.join(tmpdir(), "shardy-inspector-"));
  fixture.currentUrl = `file://${path.join(dir, "snap")}/_CURRENT`;
  runIds.push(await publishVersion(dir, fixture, "v1"));
  runIds.push(await publishVersion(dir, fixture, "v2"));
  const config = path.join(dir, "server.json");
  writeFileSync(
    config,
    JSON.stringify({
      port: 0,
      refresh_interval_seconds: 0,
      snapshots: { users: { current_url: fixture.currentUrl, local_root: path.join(dir, "cache") } },
    }),
  );
  server = await startServerProcess([process.execPath, "packages/server/src/main.ts", "--config", config], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SHARDY_SERVER_ADMIN_TOKEN: ADMIN },
  });
  browser = await chromium.launchPersistentContext(path.join(dir, "chromium-profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  page = await browser.newPage();
  page.on("pageerror", (err) => pageErrors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    // HTTP error answers (a missing key, a bad key, the refused rollback) are expected and the page
    // shows them; any other console error (a CSP violation, a script error) is a bug.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      pageErrors.push(`console: ${msg.text()}`);
    }
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("inspector page (Chromium)", () => {
  test("overview and shard-size chart show the snapshot", async () => {
    await page.goto(`${server!.url}/`);
    await page.waitForSelector('body[data-loaded="users"]');
    const info = await (await fetch(`${server!.url}/v1/users/info`)).json();
    expect(await page.textContent('[data-testid="ov-run-id"]')).toBe(runIds[1]!);
    expect(await page.textContent('[data-testid="ov-shards"]')).toBe("8 (8 non-empty)");
    expect(await page.textContent('[data-testid="ov-rows"]')).toBe("3,000");
    expect(await page.textContent('[data-testid="ov-backend"]')).toBe("sqlite:download");
    expect(await page.textContent('[data-testid="ov-routing"]')).toBe("hash: xxh3_64(key) % 8");
    expect(await page.textContent('[data-testid="ov-bytes"]')).toContain(
      `(${info.db_bytes.toLocaleString("en-US")})`,
    );
    const bars = await page.$$eval('[data-testid="shard-chart"] rect.bar', (rects) =>
      rects.map((r) => ({
        id: Number(r.getAttribute("data-db-id")),
        bytes: Number(r.getAttribute("data-bytes")),
      })),
    );
    expect(bars.map((b) => b.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(bars.reduce((n, b) => n + b.bytes, 0)).toBe(info.db_bytes);
    await shot("1-overview");
  });

  test("key lookup shows the routing decision and the value", async () => {
    const kernel = await getKernel();
    await lookup("42");
    expect(await page.textContent('[data-testid="lk-db-id"]')).toBe(`db ${kernel.routeKey(42n, 8)}`);
    expect(await page.textContent('[data-testid="lk-routing"]')).toBe("xxh3_64(key) % 8");
    expect(await page.textContent('[data-testid="lk-found"]')).toBe("yes");
    expect(await page.textContent('[data-testid="lk-value"]')).toBe("v2-42");
    const hit = await page.$$eval("rect.bar.hit", (rects) => rects.map((r) => r.getAttribute("data-db-id")));
    expect(hit).toEqual([String(kernel.routeKey(42n, 8))]);
    await shot("2-lookup");
    await lookup("999999");
    expect(await page.textContent('[data-testid="lk-found"]')).toBe("no");
    await lookup("not-a-number");
    expect(await page.textContent('[data-testid="lk-error"]')).toContain("is not an integer");
  });

  test("history rolls back with the admin token only", async () => {
    const rows = await page.$$eval('[data-testid="history"] tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute("data-run-id")),
    );
    expect(rows).toEqual([runIds[1]!, runIds[0]!]);
    const button = `[data-testid="rollback-${runIds[0]}"]`;
    expect(await page.isDisabled(button)).toBe(true);

    // A wrong admin token: the API refuses and the page says so.
    await page.fill('[data-testid="admin-token"]', "wrong-admin-token-000000");
    await page.dispatchEvent('[data-testid="admin-token"]', "change");
    await page.click(button);
    await page.click(button);
    await page.waitForSelector("#status.error");
    expect(await page.textContent('[data-testid="status"]')).toContain("not the admin token");

    await page.fill('[data-testid="admin-token"]', ADMIN);
    await page.dispatchEvent('[data-testid="admin-token"]', "change");
    await page.click(button);
    await page.click(button);
    await page.waitForFunction(
      (run) => document.querySelector('[data-testid="ov-run-id"]')?.textContent === run,
      runIds[0],
    );
    expect(await page.textContent('[data-testid="status"]')).toContain(`now serving run ${runIds[0]}`);
    const current = await page.$eval('[data-testid="history"] tr:has(.tag)', (tr) =>
      tr.getAttribute("data-run-id"),
    );
    expect(current).toBe(runIds[0]!);
    await lookup("42");
    expect(await page.textContent('[data-testid="lk-value"]')).toBe("v1-42");
    await shot("3-after-rollback");
  });

  test("no script errors or CSP violations on the page", () => {
    expect(pageErrors).toEqual([]);
  });
});
