/** Two `bun` processes race conditional puts on one file store: no lost update, one creator per key. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../src/index.ts";

const WORKER = join(import.meta.dir, "file-race-worker.ts");
const scratch = mkdtempSync(join(tmpdir(), "shardy-race-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function race(root: string, args: (id: string) => string[]): Promise<Record<string, unknown>[]> {
  const goFile = `${root}.go`;
  const workers = ["w1", "w2"].map((id) =>
    Bun.spawn([process.execPath, WORKER, root, goFile, ...args(id), id], { stdout: "pipe", stderr: "pipe" }),
  );
  writeFileSync(goFile, "go"); // both are started: release them together
  return Promise.all(
    workers.map(async (worker) => {
      const [out, err, code] = await Promise.all([
        new Response(worker.stdout).text(),
        new Response(worker.stderr).text(),
        worker.exited,
      ]);
      if (code !== 0) throw new Error(`race worker exited with ${code}:\n${err}`);
      return JSON.parse(out) as Record<string, unknown>;
    }),
  );
}

describe("FileStore across processes", () => {
  test("compare-and-swap increments from two processes lose no update", async () => {
    const root = join(scratch, "cas");
    const increments = 150;
    const results = await race(root, () => ["cas", "counter", String(increments)]);
    const final = await new FileStore(root).get("counter");
    expect(JSON.parse(new TextDecoder().decode(final!.body)).count).toBe(2 * increments);
    // Both really ran and collided at least sometimes (otherwise this test proves nothing).
    expect(results.map((r) => r.id).sort()).toEqual(["w1", "w2"]);
    expect(results.reduce((sum, r) => sum + (r.conflicts as number), 0)).toBeGreaterThan(0);
  }, 120_000);

  test("create-only puts from two processes: each key has exactly one winner", async () => {
    const root = join(scratch, "create");
    const keys = 300;
    const results = await race(root, () => ["create", "slots", String(keys)]);
    const won = Object.fromEntries(results.map((r) => [r.id as string, r.won as number[]]));
    const all = [...won.w1!, ...won.w2!].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: keys }, (_, i) => i)); // every key once: no double win, none lost
    const store = new FileStore(root);
    for (const [id, slots] of Object.entries(won)) {
      for (const slot of slots.slice(0, 20)) {
        expect(new TextDecoder().decode((await store.get(`slots/${slot}`))!.body)).toBe(id);
      }
    }
    expect((await store.list("slots/")).objects.length).toBe(keys);
  }, 120_000);
});
