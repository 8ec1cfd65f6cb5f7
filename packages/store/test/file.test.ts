import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../src/index.ts";
import { storeContract } from "./contract.ts";

const root = mkdtempSync(join(tmpdir(), "shardy-store-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A directory tree cannot hold a file `a/b` and a directory `a/b/` at once.
storeContract("file", () => new FileStore(root), { keyAndChildren: false });
