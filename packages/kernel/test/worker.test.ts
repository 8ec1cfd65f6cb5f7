import { expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { Int64, makeData, Vector } from "apache-arrow";
import { getKernel } from "../src/index.ts";

test("a Web Worker given the wasm bytes routes like the main thread", async () => {
  const wasm = await readFile(new URL("../wasm/shardy_kernel.wasm", import.meta.url));
  const keys = new BigInt64Array(100_000);
  for (let i = 0; i < keys.length; i++) keys[i] = BigInt(i) * 7_919n - 300_000n;
  const expected = (await getKernel()).routeBatch(
    new Vector([makeData({ type: new Int64(), length: keys.length, data: keys })]),
    97,
  );

  const worker = new Worker(new URL("./fixtures/route-worker.ts", import.meta.url));
  try {
    const reply = await new Promise<{ ids?: Int32Array; error?: string }>((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
      const bytes = wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength);
      worker.postMessage({ wasm: bytes, keys: keys.slice(), numDbs: 97 });
    });
    expect(reply.error).toBeUndefined();
    expect(reply.ids?.length).toBe(keys.length);
    expect(Array.from(reply.ids ?? [])).toEqual(Array.from(expected));
  } finally {
    worker.terminate();
  }
});
