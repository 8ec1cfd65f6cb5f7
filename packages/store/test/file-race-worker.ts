/**
 * One side of the two-process race in `file-race.test.ts`. Waits for the go file, then hammers
 * one store with conditional puts and prints a JSON summary on stdout.
 *   bun file-race-worker.ts <root> <go-file> cas <key> <increments> <id>
 *   bun file-race-worker.ts <root> <go-file> create <prefix> <keys> <id>
 */
import { existsSync } from "node:fs";
import { PreconditionFailedError } from "@shardy/errors";
import { FileStore } from "../src/index.ts";

const [root, goFile, mode, key, countArg, id] = process.argv.slice(2);
if (!root || !goFile || !key || !countArg || !id || (mode !== "cas" && mode !== "create")) {
  throw new Error(
    `usage: file-race-worker.ts <root> <go-file> cas|create <key> <count> <id>, got ${process.argv}`,
  );
}
const count = Number(countArg);
const store = new FileStore(root);
const enc = new TextEncoder();

while (!existsSync(goFile)) await Bun.sleep(1);

if (mode === "cas") {
  let conflicts = 0;
  for (let done = 0; done < count; ) {
    const current = await store.get(key);
    const value = current
      ? (JSON.parse(new TextDecoder().decode(current.body)) as { count: number })
      : { count: 0 };
    const next = enc.encode(JSON.stringify({ count: value.count + 1, by: id }));
    try {
      await store.put(key, next, current ? { ifMatch: current.etag } : { ifNoneMatch: "*" });
      done++;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      conflicts++;
    }
  }
  console.log(JSON.stringify({ id, conflicts }));
} else {
  // Several creates in flight, so the two processes keep colliding on the same keys.
  const won: number[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < count; i = next++) {
      try {
        await store.put(`${key}/${i}`, enc.encode(id), { ifNoneMatch: "*" });
        won.push(i);
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  console.log(JSON.stringify({ id, won: won.sort((a, b) => a - b) }));
}
