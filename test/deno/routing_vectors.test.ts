/// <reference lib="deno.ns" />
// The shared routing vectors under Deno: same checker as the Bun and Node suites.
import { getKernel, loadKernel } from "@shardy/kernel";
import { checkRoutingVectors, type RoutingVectors } from "../vectors/check-routing.ts";

async function vectors(): Promise<RoutingVectors> {
  return JSON.parse(await Deno.readTextFile(new URL("../vectors/routing.json", import.meta.url)));
}

Deno.test("routing.json vectors through the kernel loaded from its default file", async () => {
  const { checks } = checkRoutingVectors(await getKernel(), await vectors());
  if (checks < 1000) throw new Error(`only ${checks} routing checks ran; expected more than 1000`);
});

Deno.test("routing.json vectors through a kernel loaded from bytes (the edge-runtime path)", async () => {
  const bytes = await Deno.readFile(
    new URL("../../packages/kernel/wasm/shardy_kernel.wasm", import.meta.url),
  );
  const { checks } = checkRoutingVectors(await loadKernel(bytes), await vectors());
  if (checks < 1000) throw new Error(`only ${checks} routing checks ran; expected more than 1000`);
});
