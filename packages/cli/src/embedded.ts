/**
 * Assets embedded into the single-file executable. Running from source this module has nothing
 * to offer (the packages find their wasm files on disk); `scripts/build-shardy` replaces it at
 * bundle time with a version that imports the sql.js wasm with `{ type: "file" }`.
 */

export interface EmbeddedAssets {
  /** The `sql-wasm.wasm` bytes for sql.js (manifests, range reads). */
  sqlJsWasm?: Uint8Array;
  /** The shard-writer worker entry inside the executable (for `build-snapshot` worker threads). */
  workerUrl?: string;
}

export async function embeddedAssets(): Promise<EmbeddedAssets> {
  return {};
}
