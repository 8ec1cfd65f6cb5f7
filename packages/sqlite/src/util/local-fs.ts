/**
 * The local filesystem, reached through `process.getBuiltinModule("node:fs")` so the package
 * has no static `node:` import and edge bundles that never write files stay clean. Bun, Deno and
 * Node >= 20.16 all provide it.
 */

export interface LocalFs {
  openSync(path: string, flags: string): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset?: number, length?: number, position?: number): number;
  fstatSync(fd: number): { size: number };
  statSync(
    path: string,
    options?: { throwIfNoEntry?: boolean },
  ): { size: number; isDirectory(): boolean } | undefined;
  existsSync(path: string): boolean;
  mkdirSync(path: string, options?: { recursive?: boolean }): unknown;
  readFileSync(path: string): Uint8Array;
  readFileSync(path: string, encoding: "utf8"): string;
  writeFileSync(path: string, data: Uint8Array | string): void;
  renameSync(from: string, to: string): void;
  rmSync(path: string, options?: { force?: boolean; recursive?: boolean }): void;
  readdirSync(path: string): string[];
  /** Callback forms, run off the calling thread. */
  open(path: string, flags: string, callback: (err: Error | null, fd: number) => void): void;
  fdatasync(fd: number, callback: (err: Error | null) => void): void;
  close(fd: number, callback: (err: Error | null) => void): void;
}

let cached: LocalFs | undefined;

export function localFs(): LocalFs {
  if (cached) return cached;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.("node:fs") as LocalFs | undefined;
  if (!fs) {
    throw new Error(
      "this operation needs a local filesystem (node:fs via process.getBuiltinModule): run it under Bun, Deno or Node >= 20.16",
    );
  }
  cached = fs;
  return fs;
}

/** `a/b` joined with `/`, without doubling separators. */
export function joinPath(...parts: string[]): string {
  return parts
    .filter((p) => p.length > 0)
    .map((p, i) => (i === 0 ? p.replace(/\/+$/, "") : p.replace(/^\/+|\/+$/g, "")))
    .join("/");
}

/** Process id when there is one (temp-file names), else a random number. */
export function processId(): number {
  const proc = (globalThis as { process?: { pid?: number } }).process;
  return proc?.pid ?? Math.floor(Math.random() * 1e9);
}
