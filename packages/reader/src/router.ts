/**
 * Reader-side routing (reference §4.4, §5.1): a key goes to `xxh3_64(canonical_bytes(key)) %
 * num_dbs` for HASH snapshots, and is looked up under its encoded bytes (`key_encoding`, with the
 * reader's extra rule that u64be/u32be also take pre-encoded 8/4-byte keys). CEL snapshots route
 * through a caller-supplied hook until the kernel's CEL evaluator lands.
 */
import type { BuildMeta, KeyEncoding, ShardingSpec } from "@shardy/core";
import { ConfigValidationError, ReaderStateError, ShardAssignmentError } from "@shardy/errors";
import type { Kernel } from "@shardy/kernel";

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

  constructor(
    private readonly kernel: Kernel,
    private readonly build: BuildMeta,
    private readonly celRoute?: CelRouteHook,
  ) {
    this.numDbs = build.numDbs;
    this.keyEncoding = build.keyEncoding;
    if (build.sharding.strategy === "cel" && !celRoute) {
      throw new ReaderStateError(
        `snapshot ${build.runId} is CEL-routed (${JSON.stringify(build.sharding.celExpr)}), which this reader ` +
          "cannot evaluate yet; pass a `celRoute` hook to ShardedReader.open, or read a HASH snapshot",
      );
    }
  }

  /** The shard of `key`, or `null` for an unknown categorical token. */
  route(key: ReaderKey, routingContext?: RoutingContext): number | null {
    if (this.build.sharding.strategy === "hash") {
      checkKeyType(key);
      return this.kernel.routeKey(key, this.numDbs);
    }
    const id = this.celRoute!({
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
