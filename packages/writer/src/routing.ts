/**
 * How the single-host build assigns rows to shards: HASH (`xxh3_64(key) % num_dbs`) or CEL
 * (reference §4.2) through the kernel's `CelRouter`. CEL binds `key` to the key column and every
 * other `cel_columns` name to the input column of that name. Direct CEL routing and inferred
 * categorical routing need the whole input before the shard count is known, so they take a first
 * pass over the input (`discover`) that only evaluates the expression.
 */
import {
  type CelShardedWriteConfig,
  type HashShardedWriteConfig,
  hashSharding,
  type ShardingSpec,
} from "@shardy/core";
import { ConfigValidationError, ShardAssignmentError } from "@shardy/errors";
import {
  CelRouter,
  type CelToken,
  discoverDirectNumDbs,
  inferRoutingValues,
  type Kernel,
} from "@shardy/kernel";
import type { RecordBatch, Vector } from "apache-arrow";
import type { InputBatch } from "./inputs/types.ts";

/** Assigns every row of one batch to a shard. */
export interface RowRouter {
  assign(batch: RecordBatch, keys: Vector, item: InputBatch): Int32Array;
  dispose(): void;
}

export class HashRowRouter implements RowRouter {
  constructor(
    private readonly kernel: Kernel,
    private readonly numDbs: number,
  ) {}

  assign(_batch: RecordBatch, keys: Vector): Int32Array {
    return this.kernel.routeBatch(keys, this.numDbs);
  }

  dispose(): void {}
}

/** Input columns a CEL config reads besides the key column. */
export function celInputColumns(config: CelShardedWriteConfig): string[] {
  return Object.keys(config.sharding.cel_columns).filter((n) => n !== "key");
}

function celColumnsOf(
  router: CelRouter,
  batch: RecordBatch,
  keys: Vector,
  item: InputBatch,
): Record<string, Vector> {
  const out: Record<string, Vector> = {};
  for (const name of Object.keys(router.spec.celColumns)) {
    if (name === "key") {
      out[name] = keys;
      continue;
    }
    const col = batch.getChild(name);
    if (col === null) {
      const names = item.columns ?? batch.schema.fields.map((f) => f.name);
      throw new ConfigValidationError(
        `CEL column ${JSON.stringify(name)} (from cel_columns) is not in ${item.file}; its columns are ${JSON.stringify(names)}; ` +
          "add the column or fix cel_columns",
        { field: "cel_columns" },
      );
    }
    out[name] = col;
  }
  return out;
}

/** Adds where the batch came from to a kernel error that names a row of the batch only. */
function located(err: unknown, item: InputBatch): unknown {
  if (!(err instanceof Error) || err.message.includes(item.file)) return err;
  const where = `${item.file} (batch starting at row ${item.firstRow})`;
  if (err instanceof ShardAssignmentError)
    return new ShardAssignmentError(`${where}: ${err.message}`, { cause: err });
  if (err instanceof ConfigValidationError) {
    return new ConfigValidationError(`${where}: ${err.message}`, { field: err.field, cause: err });
  }
  return err;
}

export class CelRowRouter implements RowRouter {
  constructor(readonly router: CelRouter) {}

  assign(batch: RecordBatch, keys: Vector, item: InputBatch): Int32Array {
    try {
      return this.router.assignBatch(celColumnsOf(this.router, batch, keys, item));
    } catch (err) {
      throw located(err, item);
    }
  }

  dispose(): void {
    this.router.dispose();
  }
}

/** Batches of the input with their key column (the first pass reads the same way the build does). */
export type BatchStream = AsyncIterable<{ batch: RecordBatch; keys: Vector; item: InputBatch }>;

export interface CelDiscovery {
  router: CelRowRouter;
  numDbs: number;
  /** The routing values the manifest records (`null`: direct mode). */
  routingValues: CelToken[] | null;
}

/**
 * Builds the CEL router of a config. With `routing_values` the shard count is their number; in
 * direct mode the first pass requires consecutive ids `0..max` (`discoverDirectNumDbs`); with
 * `infer_routing_values_from_data` the first pass collects the sorted distinct tokens.
 */
export async function discoverCelRouting(
  kernel: Kernel,
  config: CelShardedWriteConfig,
  firstPass: () => BatchStream,
): Promise<CelDiscovery> {
  const {
    cel_expr: celExpr,
    cel_columns: celColumns,
    routing_values,
    infer_routing_values_from_data,
  } = config.sharding;
  const spec = { celExpr, celColumns };
  if (routing_values !== null) {
    const router = new CelRouter(kernel, { ...spec, routingValues: routing_values });
    return { router: new CelRowRouter(router), numDbs: router.numDbs!, routingValues: [...routing_values] };
  }
  const probe = new CelRouter(kernel, spec);
  try {
    if (infer_routing_values_from_data) {
      let tokens: CelToken[] = [];
      for await (const { batch, keys, item } of firstPass()) {
        try {
          tokens = inferRoutingValues([
            ...tokens,
            ...probe.inferRoutingValues([celColumnsOf(probe, batch, keys, item)]),
          ]);
        } catch (err) {
          throw located(err, item);
        }
      }
      const router = new CelRouter(kernel, { ...spec, routingValues: tokens });
      return { router: new CelRowRouter(router), numDbs: router.numDbs!, routingValues: tokens };
    }
    const ids: Int32Array[] = [];
    for await (const { batch, keys, item } of firstPass()) {
      ids.push(new CelRowRouter(probe).assign(batch, keys, item).slice(0, batch.numRows));
    }
    const numDbs = discoverDirectNumDbs(ids);
    const router = new CelRouter(kernel, spec, { numDbs });
    return { router: new CelRowRouter(router), numDbs, routingValues: null };
  } finally {
    probe.dispose();
  }
}

/** The manifest's `sharding` for a config (and the routing values a CEL build settled on). */
export function shardingSpecOf(
  config: HashShardedWriteConfig | CelShardedWriteConfig,
  routingValues?: readonly CelToken[] | null,
): ShardingSpec {
  if (config.strategy === "hash") {
    return hashSharding();
  }
  const values = routingValues !== undefined ? routingValues : config.sharding.routing_values;
  return {
    strategy: "cel",
    hashAlgorithm: "xxh3_64",
    celExpr: config.sharding.cel_expr,
    celColumns: { ...config.sharding.cel_columns },
    routingValues: values === null ? null : [...values],
  };
}
