import { ShardyError } from "@shardy/errors";
import { ABI_VERSION, type KernelExports, missingExports } from "./abi.ts";
import { Kernel } from "./kernel.ts";

/** Where the kernel comes from: wasm bytes, an already compiled module, or (omitted) the file. */
export type KernelSource = ArrayBuffer | Uint8Array | WebAssembly.Module;

/** The built kernel, relative to this module (src/ or dist/ alike). */
const DEFAULT_WASM = new URL("../wasm/shardy_kernel.wasm", import.meta.url);

/**
 * Instantiates the kernel. Without a source it reads `wasm/shardy_kernel.wasm` next to the
 * package through `node:fs/promises` (Bun, Deno and Node); edge runtimes pass bytes or a module.
 */
export async function loadKernel(source?: KernelSource): Promise<Kernel> {
  const module = source instanceof WebAssembly.Module ? source : await compile(await toBytes(source));
  const instance = await WebAssembly.instantiate(module, {});
  const missing = missingExports(instance.exports);
  if (missing.length > 0) {
    throw new ShardyError(
      `the WASM module is not a shardy kernel: it lacks ${missing.join(", ")}; rebuild it with scripts/build-wasm`,
    );
  }
  const version = (instance.exports as unknown as KernelExports).kernel_abi_version();
  if (version !== ABI_VERSION) {
    throw new ShardyError(
      `shardy kernel ABI version ${version} does not match this host (${ABI_VERSION}); rebuild the kernel with scripts/build-wasm`,
    );
  }
  return new Kernel(instance, module);
}

let shared: Promise<Kernel> | undefined;

/** A process-wide kernel loaded from the default file on first use. */
export function getKernel(): Promise<Kernel> {
  if (!shared) {
    shared = loadKernel();
    // A failed load is not cached, so a later call can retry (e.g. after building the wasm).
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}

async function compile(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes);
  } catch (cause) {
    throw new ShardyError(
      `the shardy kernel bytes (${bytes.length} bytes) are not a valid WASM module: ${String(cause)}; rebuild with scripts/build-wasm`,
      { cause },
    );
  }
}

async function toBytes(source: ArrayBuffer | Uint8Array | undefined): Promise<Uint8Array<ArrayBuffer>> {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (source instanceof Uint8Array) return new Uint8Array(source);
  if (source !== undefined) {
    throw new ShardyError("loadKernel takes an ArrayBuffer, a Uint8Array or a WebAssembly.Module");
  }
  try {
    const { readFile } = await import("node:fs/promises");
    return new Uint8Array(await readFile(DEFAULT_WASM));
  } catch (cause) {
    throw new ShardyError(
      `cannot read the shardy kernel at ${DEFAULT_WASM.href}: run \`bash scripts/build-wasm\`, or pass the wasm bytes to loadKernel()`,
      { cause },
    );
  }
}
