/**
 * Reader-side routing (reference §4.4, §5.1): a key goes to `xxh3_64(canonical_bytes(key)) %
 * num_dbs` for HASH snapshots, and is looked up under its encoded bytes (`key_encoding`, with the
 * reader's extra rule that u64be/u32be also take pre-encoded 8/4-byte keys). CEL snapshots route
 * through the kernel's `CelRouter` (§4.2): key-only specs evaluate the key itself, multi-column
 * specs need a `routingContext` with every `cel_columns` value; an unknown categorical token is a
 * miss. A caller-supplied `celRoute` hook, when given, replaces the kernel router.
 */
import type { BuildMeta, KeyEncoding, ShardingSpec } from "@shardy/core";
import { ConfigValidationError, ReaderStateError, ShardAssignmentError } from "@shardy/errors";
import { CelRouter, type CelScalar, type Kernel } from "@shardy/kernel";

/** A lookup key: integers as bigint (or safe-integer number), strings, or raw bytes. */
export type ReaderKey = bigint | number | string | Uint8Array;

/** Column values for multi-column CEL snapshots (`routing_context=` in the reference). */
export type RoutingContext = Readonly<Record<string, unknown>>;

export interface CelRouteRequest {
  key: ReaderKey;
  routingContext: RoutingContext | undefined;
  sharding: ShardingSpec;
  numDbs: number;
}

/**
 * Routes one key of a CEL snapshot: the shard id, or `null` when the key's categorical token is not
 * in `routing_values` (the reference answers such keys "not found").
 */
export type CelRouteHook = (request: CelRouteRequest) => number | null;

export class SnapshotRouter {
  readonly numDbs: number;
  readonly keyEncoding: KeyEncoding;
  readonly #celRoute: CelRouteHook | undefined;

  constructor(
    private readonly kernel: Kernel,
    private readonly build: BuildMeta,
    celRoute?: CelRouteHook,
  ) {
    this.numDbs = build.numDbs;
    this.keyEncoding = build.keyEncoding;
    this.#celRoute =
      build.sharding.strategy === "cel" ? (celRoute ?? kernelCelRoute(kernel, build)) : undefined;
  }

  /** The shard of `key`, or `null` for an unknown categorical token. */
  route(key: ReaderKey, routingContext?: RoutingContext): number | null {
    if (this.build.sharding.strategy === "hash") {
      checkKeyType(key);
      return this.kernel.routeKey(key, this.numDbs);
    }
    const id = this.#celRoute!({
      key,
      routingContext,
      sharding: this.build.sharding,
      numDbs: this.numDbs,
    });
    if (id === null) return null;
    if (!Number.isInteger(id) || id < 0 || id >= this.numDbs) {
      throw new ShardAssignmentError(
        `CEL routing sent key ${describeKey(key)} to shard ${id}, outside [0, ${this.numDbs}) of snapshot ${this.build.runId}`,
      );
    }
    return id;
  }

  /** The stored bytes of `key` under the snapshot's key encoding. */
  encode(key: ReaderKey): Uint8Array {
    checkKeyType(key);
    return this.kernel.encodeKey(key, this.keyEncoding);
  }
}

/**
 * The default CEL hook: one compiled `CelRouter` per snapshot. Key-only specs route the key;
 * multi-column specs route the context (every key of a lookup shares its shard) and reject a
 * missing context.
 */
function kernelCelRoute(kernel: Kernel, build: BuildMeta): CelRouteHook {
  const { celExpr, celColumns, routingValues } = build.sharding;
  if (celExpr === null || celColumns === null) {
    throw new ReaderStateError(
      `snapshot ${build.runId} is CEL-routed but its manifest lacks cel_expr or cel_columns; rebuild the snapshot`,
    );
  }
  const router = new CelRouter(
    kernel,
    { celExpr, celColumns: celColumns as CelRouterColumns, routingValues },
    { numDbs: build.numDbs },
  );
  return ({ key, routingContext }) => {
    if (router.keyOnly) return router.routeKey(typeof key === "number" ? BigInt(key) : key);
    if (routingContext === undefined || routingContext === null) {
      // Let the router name the columns it needs.
      return router.routeKey(typeof key === "number" ? BigInt(key) : key);
    }
    return router.routeContext(routingContext as Record<string, CelScalar>);
  };
}

type CelRouterColumns = ConstructorParameters<typeof CelRouter>[1]["celColumns"];

function checkKeyType(key: unknown): asserts key is ReaderKey {
  if (
    typeof key === "bigint" ||
    typeof key === "string" ||
    key instanceof Uint8Array ||
    (typeof key === "number" && Number.isSafeInteger(key))
  ) {
    return;
  }
  throw new ConfigValidationError(
    `key ${describeKey(key)} is not a valid lookup key; pass a bigint (or safe-integer number), a string or a Uint8Array`,
  );
}

export function describeKey(key: unknown): string {
  if (typeof key === "bigint") return `${key}n`;
  if (typeof key === "string") return JSON.stringify(key);
  if (key instanceof Uint8Array) {
    const hex = Array.from(key.subarray(0, 32), (b) => b.toString(16).padStart(2, "0")).join("");
    return `0x${hex}${key.length > 32 ? "..." : ""} (${key.length} bytes)`;
  }
  return `${String(key)} (${typeof key})`;
}
