/**
 * The CEL compile check for `@shardy/core`'s config validation (`validateCelConfig`'s
 * `checkCelExpr` hook, or `setDefaultCelExprCheck`): compiles the expression against
 * `cel_columns` and rejects result types that cannot route.
 */
import { ConfigValidationError } from "@shardy/errors";
import type { Kernel } from "../kernel.ts";
import type { CelColumnType } from "./columns.ts";
import { compileCel } from "./program.ts";

const ROUTABLE = new Set(["int", "uint", "string", "bytes", "dyn"]);

/** A synchronous check with core's `CelExprCheck` signature, bound to a loaded kernel. */
export function celExprCheck(
  kernel: Kernel,
): (celExpr: string, celColumns: Readonly<Record<string, CelColumnType>>) => void {
  return (celExpr, celColumns) => {
    const program = compileCel(kernel, celExpr, { ...celColumns });
    try {
      if (!ROUTABLE.has(program.resultType)) {
        throw new ConfigValidationError(
          `CEL routing expression ${JSON.stringify(celExpr)} returns ${program.resultType}; it must return int or uint (a shard id) or int, uint, string or bytes (a routing token)`,
          { field: "cel_expr" },
        );
      }
    } finally {
      program.dispose();
    }
  };
}
