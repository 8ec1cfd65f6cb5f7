/**
 * CEL routing throughput: the WASM kernel evaluating a compiled expression over whole Arrow
 * columns (routeBatch: one shard id per row) against @bufbuild/cel evaluating a planned
 * expression once per row, measured in the same run.
 *
 *   bun scripts/bench/cel.ts [--rows N] [--runs R] [--per-row-rows M] [--wasm path]
 *
 * Prints a table and writes bench-results/cel.json. Data generation is outside the timings.
 * The per-row path is timed on the first min(N, M) rows (default M = 200k; its cost per row does
 * not depend on N) and gets its inputs as ready JS values (bigint, string), which favours it:
 * the kernel path reads the Arrow buffers itself. `shard_hash` for @bufbuild/cel is native
 * XXH3 (@node-rs/xxhash), also in its favour. A second per-row column reads each row from the
 * Arrow columns (`Vector.get`), as a per-row evaluator over the same input must.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { CelScalar, celEnv, celFunc, celUint, isCelError, parse, plan } from "@bufbuild/cel";
import { xxh3 as nodeRsXxh3 } from "@node-rs/xxhash";
import { Int64, makeData, Utf8, Vector } from "apache-arrow";
import {
  type CelColumnType,
  getKernel,
  type KeyColumn,
  loadKernel,
} from "../../packages/kernel/src/index.ts";
import { fmtMillions as fmt, makeIntKeys, measureRoundRobin, runtimeName, writeReport } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "10000000" },
    runs: { type: "string", default: "5" },
    "per-row-rows": { type: "string", default: "200000" },
    // Another kernel build (e.g. the previous commit's) to compare against.
    wasm: { type: "string" },
  },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const PER_ROW = Math.min(ROWS, Number(args["per-row-rows"]));
if (![ROWS, RUNS, PER_ROW].every((n) => Number.isSafeInteger(n) && n >= 1)) {
  throw new Error(
    `--rows, --runs and --per-row-rows must be positive integers, got ${ROWS}, ${RUNS}, ${PER_ROW}`,
  );
}
const GOAL_RATIO = 10;

// ---- data (not timed) ---------------------------------------------------------------------------

const REGIONS = ["eu", "us", "ap", "sa", "eu-west", "us-east"];

/** Region codes as an Arrow Utf8 column, written byte by byte. */
function makeRegions(n: number): { vector: Vector<Utf8>; js: string[] } {
  const enc = REGIONS.map((r) => new TextEncoder().encode(r));
  const offsets = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) total += (enc[(i * 7) % REGIONS.length] as Uint8Array).length;
  const data = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const b = enc[(i * 7) % REGIONS.length] as Uint8Array;
    data.set(b, at);
    at += b.length;
    offsets[i + 1] = at;
  }
  const js = Array.from(
    { length: Math.min(n, PER_ROW) },
    (_, i) => REGIONS[(i * 7) % REGIONS.length] as string,
  );
  return { vector: new Vector([makeData({ type: new Utf8(), length: n, data, valueOffsets: offsets })]), js };
}

function int64Vector(values: BigInt64Array): Vector<Int64> {
  return new Vector([makeData({ type: new Int64(), length: values.length, data: values })]);
}

// ---- @bufbuild/cel per row ----------------------------------------------------------------------

function canonical(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, v, true);
  return b;
}

const enc = new TextEncoder();
const shardHash = [
  celFunc("shard_hash", [CelScalar.INT], CelScalar.UINT, (x) => celUint(nodeRsXxh3.xxh64(canonical(x), 0n))),
  celFunc("shard_hash", [CelScalar.STRING], CelScalar.UINT, (x) =>
    celUint(nodeRsXxh3.xxh64(enc.encode(x), 0n)),
  ),
];

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const runtime = runtimeName();
  console.log(
    `cel bench: ${ROWS.toLocaleString()} rows (per-row path: ${PER_ROW.toLocaleString()}), ${RUNS} runs, ${runtime}, kernel ${args.wasm ?? "packages/kernel/wasm"}`,
  );
  const kernel = args.wasm ? await loadKernel(await readFile(args.wasm)) : await getKernel();
  const keys = makeIntKeys(ROWS);
  const tiers = new BigInt64Array(ROWS);
  for (let i = 0; i < ROWS; i++) tiers[i] = BigInt(i % 5);
  const regions = makeRegions(ROWS);
  const columns: Record<string, KeyColumn> = {
    key: int64Vector(keys),
    region: regions.vector,
    tier: int64Vector(tiers),
  };
  const jsRows = Array.from({ length: PER_ROW }, (_, i) => ({
    key: keys[i] as bigint,
    region: regions.js[i] as string,
    tier: tiers[i] as bigint,
  }));

  const cases: { expr: string; cols: Record<string, CelColumnType> }[] = [
    { expr: "shard_hash(key) % 16u", cols: { key: "int" } },
    { expr: 'region == "eu" ? 0 : 1', cols: { region: "string" } },
    { expr: 'shard_hash(region + ":" + string(tier)) % 8u', cols: { region: "string", tier: "int" } },
  ];
  const env = celEnv({ funcs: shardHash });
  const results = [];
  for (const c of cases) {
    const program = kernel.compileCel(c.expr, c.cols);
    const out = new Int32Array(ROWS);
    const planned = plan(env, parse(c.expr));
    const names = Object.keys(c.cols);
    const bindings = jsRows.map((r) => Object.fromEntries(names.map((n) => [n, r[n as keyof typeof r]])));
    // Both paths must agree before anything is timed.
    const check = program.routeBatch(columns, out);
    for (let i = 0; i < Math.min(PER_ROW, 10_000); i++) {
      const v = planned(bindings[i]);
      if (isCelError(v)) throw new Error(`@bufbuild/cel failed on row ${i}: ${v.message}`);
      const id = typeof v === "bigint" ? Number(v) : Number((v as { value: bigint }).value);
      if (id !== check[i]) throw new Error(`paths disagree on row ${i} of ${c.expr}: ${check[i]} vs ${id}`);
    }
    const [kernelM, perRowM, arrowM] = measureRoundRobin(
      [
        { rows: ROWS, run: () => program.routeBatch(columns, out)[ROWS - 1] as number },
        {
          rows: PER_ROW,
          run: () => {
            let n = 0;
            for (let i = 0; i < PER_ROW; i++) if (!isCelError(planned(bindings[i]))) n++;
            return n;
          },
        },
        {
          rows: PER_ROW,
          run: () => {
            // What a per-row evaluator over Arrow input really does: read each row's values.
            let n = 0;
            const vecs = names.map((c) => [c, columns[c] as Vector] as const);
            for (let i = 0; i < PER_ROW; i++) {
              const row: Record<string, unknown> = {};
              for (const [c, v] of vecs) row[c] = v.get(i);
              if (!isCelError(planned(row as Record<string, bigint | string>))) n++;
            }
            return n;
          },
        },
      ],
      RUNS,
    );
    program.dispose();
    if (!kernelM || !perRowM || !arrowM) throw new Error("unreachable");
    const ratio = kernelM.rowsPerSec / perRowM.rowsPerSec;
    results.push({
      expr: c.expr,
      columns: c.cols,
      kernel: { path: "kernel CelProgram.routeBatch (Arrow columns)", rows: ROWS, ...kernelM },
      perRow: { path: "@bufbuild/cel plan() per row, inputs as ready JS values", rows: PER_ROW, ...perRowM },
      perRowFromArrow: {
        path: "@bufbuild/cel plan() per row, inputs read from the Arrow columns (Vector.get)",
        rows: PER_ROW,
        ...arrowM,
      },
      ratio,
      ratioFromArrow: kernelM.rowsPerSec / arrowM.rowsPerSec,
      meetsGoal: ratio >= GOAL_RATIO,
    });
  }

  console.log("");
  console.log(
    `${"expression".padEnd(46)} ${"kernel rows/s".padStart(13)} ${"bufbuild".padStart(9)} ${"ratio".padStart(7)} ${"bufbuild+arrow".padStart(15)} ${"ratio".padStart(7)}`,
  );
  for (const r of results) {
    console.log(
      `${r.expr.padEnd(46)} ${fmt(r.kernel.rowsPerSec).padStart(13)} ${fmt(r.perRow.rowsPerSec).padStart(9)} ${`${r.ratio.toFixed(1)}x`.padStart(7)} ${fmt(r.perRowFromArrow.rowsPerSec).padStart(15)} ${`${r.ratioFromArrow.toFixed(1)}x`.padStart(7)}${r.meetsGoal ? "" : `  (goal ${GOAL_RATIO}x)`}`,
    );
  }
  await writeReport("cel", {
    wasm: args.wasm ?? null,
    rows: ROWS,
    perRowRows: PER_ROW,
    runs: RUNS,
    goalRatio: GOAL_RATIO,
    results,
  });
}

await main();
