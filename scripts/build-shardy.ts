/**
 * Builds the `shardy` single-file executable (bun build --compile) with the WASM it needs inside:
 * the shardy kernel and sql.js's sql-wasm.wasm are embedded as `{ type: "file" }` assets, so the
 * binary runs without Bun, node_modules or the repository, from any directory.
 *   bun scripts/build-shardy.ts [--outfile dist/shardy]
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import type { BunPlugin } from "bun";

const ROOT = path.resolve(import.meta.dir, "..");
const argv = process.argv.slice(2);
const outIndex = argv.indexOf("--outfile");
const outfile = path.resolve(
  outIndex >= 0 && argv[outIndex + 1] ? argv[outIndex + 1]! : path.join(ROOT, "dist/shardy"),
);
const entry = path.join(ROOT, "packages/cli/src/main.ts");
// build-snapshot's shard writers run on worker threads; the worker is a second entry point of the
// executable, addressed by its path relative to the entry points' common directory.
const workerEntry = path.join(ROOT, "packages/writer/src/workers/shard-worker.ts");
const entryRoot = path.join(ROOT, "packages");
const workerUrl = `./${path.relative(entryRoot, workerEntry).split(path.sep).join("/")}`;
const kernelWasm = path.join(ROOT, "packages/kernel/wasm/shardy_kernel.wasm");
const sqlJsWasm = path.join(
  path.dirname(Bun.resolveSync("sql.js", path.join(ROOT, "packages/core"))),
  "sql-wasm.wasm",
);

for (const [what, file] of [
  ["kernel wasm (run bash scripts/build-wasm)", kernelWasm],
  ["sql.js wasm (run bun install)", sqlJsWasm],
  ["shard-writer worker entry", workerEntry],
] as const) {
  if (!existsSync(file)) throw new Error(`missing ${what}: ${file}`);
}

/** The kernel reads its wasm from a URL next to its source; point that at the embedded file. */
const KERNEL_URL = 'new URL("../wasm/shardy_kernel.wasm", import.meta.url)';

const embed: BunPlugin = {
  name: "shardy-embed-wasm",
  setup(build) {
    build.onLoad({ filter: /[\\/]packages[\\/]kernel[\\/]src[\\/]load\.ts$/ }, async (args) => {
      const source = await Bun.file(args.path).text();
      if (!source.includes(KERNEL_URL)) {
        throw new Error(
          `${args.path} no longer loads its wasm from ${KERNEL_URL}; update scripts/build-shardy.ts to embed it`,
        );
      }
      const contents = `import __shardyKernelWasm from ${JSON.stringify(kernelWasm)} with { type: "file" };\n${source.replace(
        KERNEL_URL,
        "__shardyKernelWasm",
      )}`;
      return { contents, loader: "ts" };
    });
    build.onLoad({ filter: /[\\/]packages[\\/]cli[\\/]src[\\/]embedded\.ts$/ }, () => ({
      loader: "ts",
      contents: `import sqlJsWasmPath from ${JSON.stringify(sqlJsWasm)} with { type: "file" };
import { readFileSync } from "node:fs";
export async function embeddedAssets() {
  return { sqlJsWasm: new Uint8Array(readFileSync(sqlJsWasmPath)), workerUrl: ${JSON.stringify(workerUrl)} };
}
`,
    }));
  },
};

mkdirSync(path.dirname(outfile), { recursive: true });
const started = performance.now();
const result = await Bun.build({
  entrypoints: [entry, workerEntry],
  root: entryRoot,
  compile: { outfile },
  // Identifiers stay unminified: error classes name themselves after their class (`error_type`).
  minify: { whitespace: true, syntax: true, identifiers: false },
  sourcemap: "none",
  plugins: [embed],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  throw new Error("bun build --compile failed");
}
const mb = (statSync(outfile).size / 1024 / 1024).toFixed(1);
console.error(`built ${outfile} (${mb} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
