/**
 * The fixture builder as a command, for test entries that are not Bun (Deno):
 *   bun fixtures-cli.ts build DIR                 builds the set, writes DIR/fixtures.json, prints it
 *   bun fixtures-cli.ts publish DIR NAME PREFIX   publishes one more version, prints {"run_id"}
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildFixtures, type FixtureSet, publishVersion } from "./fixtures.ts";

const [command, dir, name, prefix] = process.argv.slice(2);
if (command === "build" && dir) {
  const set = await buildFixtures(dir);
  writeFileSync(path.join(dir, "fixtures.json"), JSON.stringify(set, null, 2));
  console.log(JSON.stringify(set));
} else if (command === "publish" && dir && name && prefix) {
  const set = JSON.parse(readFileSync(path.join(dir, "fixtures.json"), "utf8")) as FixtureSet;
  const fixture = set.snapshots.find((s) => s.name === name);
  if (!fixture) throw new Error(`no fixture ${name} in ${dir}/fixtures.json`);
  console.log(JSON.stringify({ run_id: await publishVersion(dir, fixture, prefix) }));
} else {
  console.error("usage: fixtures-cli.ts build DIR | publish DIR NAME PREFIX");
  process.exit(2);
}
process.exit(0);
