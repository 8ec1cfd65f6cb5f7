/**
 * Builds the edge worker bundle with Bun's bundler: `worker.js` (ES module, default export
 * `{ fetch }`) plus `shardy_kernel.wasm` and `sql-wasm.wasm`, which the worker imports as compiled
 * modules (workers may not compile wasm from bytes). `sql.js` is swapped for a small shim that
 * instantiates the embedded module, and the AWS SDK for a stub (the edge reads S3 with `fetch`). Node
 * built-ins stay external (the worker runs with `nodejs_compat`; the range-reading paths never call
 * them).
 *
 *   bun packages/server/src/edge/build.ts [OUT_DIR]     (default dist/edge)
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export const KERNEL_WASM_NAME = "shardy_kernel.wasm";
export const SQL_WASM_NAME = "sql-wasm.wasm";

export interface EdgeBundle {
  dir: string;
  /** The module worker script. */
  script: string;
  /** Wasm modules the script imports by these names, each next to it. */
  wasm: Record<string, string>;
  bytes: number;
}

const HERE = import.meta.dir;
const ROOT = path.resolve(HERE, "../../../..");

export async function buildEdgeBundle(outDir = path.join(ROOT, "dist", "edge")): Promise<EdgeBundle> {
  mkdirSync(outDir, { recursive: true });
  const sqlJsDir = path.dirname(Bun.resolveSync("sql.js/dist/sql-wasm-browser.js", HERE));
  const kernelWasm = path.join(ROOT, "packages", "kernel", "wasm", KERNEL_WASM_NAME);
  const work = path.join(outDir, ".src");
  mkdirSync(work, { recursive: true });

  // The entry re-exports the handler as the module default, the shape workerd expects.
  const entry = path.join(work, "entry.ts");
  writeFileSync(
    entry,
    [
      `import kernel from "./${KERNEL_WASM_NAME}";`,
      `import { createEdgeWorker } from ${JSON.stringify(path.join(HERE, "worker.ts"))};`,
      "export default createEdgeWorker({ kernel });",
      "",
    ].join("\n"),
  );
  // sql.js's browser build sees `WorkerGlobalScope` and reads `self.location.href` at load time;
  // workers have no location, so give it one before sql.js evaluates (imports run in order).
  const location = path.join(work, "worker-location.js");
  writeFileSync(
    location,
    'if (globalThis.location === undefined) globalThis.location = new URL("file:///bundle/worker.js");\n',
  );
  // sql.js's own loader fetches or compiles its wasm; this one instantiates the embedded module.
  const shim = path.join(work, "sqljs-shim.js");
  writeFileSync(
    shim,
    [
      'import "./worker-location.js";',
      `import initSqlJsBrowser from ${JSON.stringify(path.join(sqlJsDir, "sql-wasm-browser.js"))};`,
      `import wasmModule from "./${SQL_WASM_NAME}";`,
      "export default function initSqlJs(config = {}) {",
      "  return initSqlJsBrowser({",
      "    ...config,",
      "    instantiateWasm(imports, receive) {",
      "      WebAssembly.instantiate(wasmModule, imports).then((instance) => receive(instance, wasmModule));",
      "      return {};",
      "    },",
      "  });",
      "}",
      "",
    ].join("\n"),
  );

  // The edge reads S3 through FetchObjectStore (fetch + SigV4). S3Store imports the AWS SDK only
  // when first used, but the bundler would still inline it (about 1 MB); a stub that fails when
  // loaded keeps it out, and names the way if anything ever reaches it.
  const noSdk = path.join(work, "no-aws-sdk.js");
  writeFileSync(
    noSdk,
    'throw new Error("the AWS SDK is not in the edge bundle: the edge worker reads S3 through ' +
      'FetchObjectStore (SHARDY_S3_ENDPOINT); S3Store needs the shardy server");\n',
  );

  const result = await Bun.build({
    entrypoints: [entry],
    outdir: outDir,
    naming: "worker.js",
    target: "browser",
    format: "esm",
    minify: false,
    external: ["node:*", `./${KERNEL_WASM_NAME}`, `./${SQL_WASM_NAME}`],
    // Modules that resolve files next to themselves at load time need a URL base in a worker.
    define: { "import.meta.url": JSON.stringify("file:///bundle/worker.js") },
    plugins: [
      {
        name: "shardy-edge",
        setup(build) {
          build.onResolve({ filter: /^sql\.js$/ }, () => ({ path: shim }));
          build.onResolve({ filter: /^@aws-sdk\// }, () => ({ path: noSdk }));
          // Workspace packages from source (as deno.json maps them): a package's prebuilt dist
          // would bring its own copy of @shardy/errors and break instanceof checks.
          build.onResolve({ filter: /^@shardy\/[a-z]+$/ }, (args) => ({
            path: path.join(ROOT, "packages", args.path.slice("@shardy/".length), "src", "index.ts"),
          }));
          build.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
  });
  if (!result.success) {
    throw new Error(`edge bundle failed:\n${result.logs.map((l) => String(l)).join("\n")}`);
  }
  copyFileSync(kernelWasm, path.join(outDir, KERNEL_WASM_NAME));
  copyFileSync(path.join(sqlJsDir, "sql-wasm-browser.wasm"), path.join(outDir, SQL_WASM_NAME));
  const script = path.join(outDir, "worker.js");
  return {
    dir: outDir,
    script,
    wasm: {
      [KERNEL_WASM_NAME]: path.join(outDir, KERNEL_WASM_NAME),
      [SQL_WASM_NAME]: path.join(outDir, SQL_WASM_NAME),
    },
    bytes: Bun.file(script).size,
  };
}

if (import.meta.main) {
  const bundle = await buildEdgeBundle(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(
    `edge bundle: ${bundle.script} (${(bundle.bytes / 1e6).toFixed(2)} MB) + ${Object.keys(bundle.wasm).join(", ")}`,
  );
}
