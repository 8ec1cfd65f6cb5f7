import { expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { ShardyError } from "@shardy/errors";
import { Int64, vectorFromArray } from "apache-arrow";
import { ABI_VERSION, getKernel, loadKernel } from "../src/index.ts";

const wasmUrl = new URL("../wasm/shardy_kernel.wasm", import.meta.url);

async function wasmBytes(): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(wasmUrl));
  } catch (cause) {
    throw new Error(`kernel wasm missing at ${wasmUrl.pathname}; run bash scripts/build-wasm`, { cause });
  }
}

const keys = () => vectorFromArray([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n], new Int64());
const SEQ_0_9_N3 = [2, 2, 1, 1, 0, 2, 0, 2, 0, 0];

test("loads from the default file, bytes, an ArrayBuffer and a compiled module alike", async () => {
  const bytes = await wasmBytes();
  const fromFile = await loadKernel();
  const fromBytes = await loadKernel(bytes);
  const fromBuffer = await loadKernel(bytes.slice().buffer);
  const fromModule = await loadKernel(fromFile.module);
  for (const k of [fromFile, fromBytes, fromBuffer, fromModule]) {
    expect(Array.from(k.routeBatch(keys(), 3))).toEqual(SEQ_0_9_N3);
  }
  expect(fromModule.module).toBe(fromFile.module);
  expect(fromModule.instance).not.toBe(fromFile.instance);
  expect(ABI_VERSION).toBe(2);
});

test("getKernel returns one shared instance", async () => {
  const [a, b] = await Promise.all([getKernel(), getKernel()]);
  expect(a).toBe(b);
  expect(await getKernel()).toBe(a);
});

test("rejects modules that are not the kernel, with the fix", async () => {
  const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const err = await loadKernel(empty).catch((e) => e);
  expect(err).toBeInstanceOf(ShardyError);
  expect(err.message).toMatch(
    /^the WASM module is not a shardy kernel: it lacks kernel_alloc, .*memory; rebuild it/,
  );
  const garbage = await loadKernel(new Uint8Array([1, 2, 3])).catch((e) => e);
  expect(garbage).toBeInstanceOf(ShardyError);
  expect(garbage.message).toMatch(/^the shardy kernel bytes \(3 bytes\) are not a valid WASM module/);
  const wrongType = await loadKernel("kernel.wasm" as never).catch((e) => e);
  expect(wrongType.message).toBe("loadKernel takes an ArrayBuffer, a Uint8Array or a WebAssembly.Module");
});

test("scratch memory is reused: repeated large batches do not grow kernel memory", async () => {
  const kernel = await loadKernel(await wasmBytes());
  const big = vectorFromArray(
    Array.from({ length: 200_000 }, (_, i) => BigInt(i)),
    new Int64(),
  );
  kernel.routeBatch(big, 10);
  const memory = kernel.instance.exports.memory as WebAssembly.Memory;
  const size = memory.buffer.byteLength;
  for (let i = 0; i < 5; i++) kernel.routeBatch(big, 10);
  expect(memory.buffer.byteLength).toBe(size);
  // bounded by the chunk size, not the batch: 200K int64 keys are 1.6 MB, far below this cap
  expect(size).toBeLessThan(4 * 1024 * 1024);
});
