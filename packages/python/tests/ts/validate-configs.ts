// Runs the TS core's config validator over JSON cases from stdin ([{strategy, input}]) and prints,
// per case, the normalised config or the ConfigValidationError message: the Python port must agree.
// CEL expressions are compile-checked by the kernel, as the TS writers do.
import { validateCelConfig, validateHashConfig } from "@shardy/core";
import { getKernel } from "@shardy/kernel";

const kernel = await getKernel();
const cases = JSON.parse(await Bun.stdin.text()) as { strategy: "hash" | "cel"; input: unknown }[];
const out = cases.map(({ strategy, input }) => {
  try {
    const config =
      strategy === "hash"
        ? validateHashConfig(input)
        : validateCelConfig(input, {
            checkCelExpr: (expr, columns) => {
              kernel.compileCel(expr, columns);
            },
          });
    return { ok: JSON.parse(JSON.stringify(config, (_k, v) => (typeof v === "bigint" ? Number(v) : v))) };
  } catch (err) {
    return { error: (err as Error).message, type: (err as Error).name };
  }
});
console.log(JSON.stringify(out));
