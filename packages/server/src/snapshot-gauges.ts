/** Per-snapshot gauges for /metrics, read at scrape time so they always show the current state. */
import type { ShardedReader } from "@shardy/reader";
import type { MetricsRegistry } from "./metrics.ts";
import type { SnapshotHandle, SnapshotRegistry } from "./registry.ts";

/** Snapshot gauges, read at scrape time. */
export function registerSnapshotGauges(metrics: MetricsRegistry, registry: SnapshotRegistry): void {
  const each = (f: (r: ShardedReader, h: SnapshotHandle) => number) => () =>
    registry.handles().flatMap((h) => {
      const r = h.peek();
      return r ? [{ labels: { snapshot: h.name }, value: f(r, h) }] : [];
    });
  metrics.gauge("snapshot_loaded", "1 when the snapshot is loaded and served.", () =>
    registry.handles().map((h) => ({ labels: { snapshot: h.name }, value: h.loaded ? 1 : 0 })),
  );
  metrics.gauge("store_reachable", "1 when the snapshot's store answered the last attempt.", () =>
    registry.handles().map((h) => ({ labels: { snapshot: h.name }, value: h.storeReachable ? 1 : 0 })),
  );
  metrics.gauge(
    "snapshot_rows",
    "Rows in the served snapshot.",
    each((r) => r.snapshotInfo().rowCount),
  );
  metrics.gauge(
    "snapshot_shards",
    "Shards (num_dbs) of the served snapshot.",
    each((r) => r.snapshotInfo().numDbs),
  );
  metrics.gauge(
    "snapshot_manifest_age_seconds",
    "Seconds since the served manifest was created.",
    each((r) => r.health().manifestAgeMs / 1000),
  );
}
