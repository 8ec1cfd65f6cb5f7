/**
 * Prometheus text exposition (format 0.0.4). Reader events map onto the reference's metric names
 * (`metrics/prometheus.py`, prefix `shardyfusion_`): `reader_gets_total`,
 * `reader_get_duration_seconds`, `reader_multi_gets_total`, `reader_multi_get_duration_seconds`,
 * with a `snapshot` label. The server adds HTTP, refresh and snapshot gauges under the same prefix.
 */
import { type MetricsCollector, ReaderEvents } from "@shardy/reader";

export const METRIC_PREFIX = "shardyfusion_";

/** Seconds; finer at the low end than the client default, since warm gets take microseconds. */
export const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

type Labels = Readonly<Record<string, string>>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra = ""): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function num(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

export class Counter {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

interface Family<T> {
  name: string;
  help: string;
  type: "counter" | "histogram" | "gauge";
  children: Map<string, { labels: Labels; metric: T }>;
}

/** A gauge is read when scraped, so it always reports the current state. */
export type GaugeReader = () => Array<{ labels: Labels; value: number }>;

export class MetricsRegistry {
  readonly #counters = new Map<string, Family<Counter>>();
  readonly #histograms = new Map<string, Family<Histogram>>();
  readonly #gauges: Array<{ name: string; help: string; read: GaugeReader }> = [];

  counter(name: string, help: string, labels: Labels = {}): Counter {
    return this.#child(this.#counters, name, help, "counter", labels, () => new Counter());
  }

  histogram(name: string, help: string, labels: Labels = {}, buckets = DURATION_BUCKETS): Histogram {
    return this.#child(this.#histograms, name, help, "histogram", labels, () => new Histogram(buckets));
  }

  gauge(name: string, help: string, read: GaugeReader): void {
    this.#gauges.push({ name: METRIC_PREFIX + name, help, read });
  }

  #child<T>(
    families: Map<string, Family<T>>,
    name: string,
    help: string,
    type: Family<T>["type"],
    labels: Labels,
    make: () => T,
  ): T {
    const full = METRIC_PREFIX + name;
    let family = families.get(full);
    if (!family) {
      family = { name: full, help, type, children: new Map() };
      families.set(full, family);
    }
    const key = labelText(labels);
    let child = family.children.get(key);
    if (!child) {
      child = { labels, metric: make() };
      family.children.set(key, child);
    }
    return child.metric;
  }

  /** The exposition text of every metric. */
  render(): string {
    const lines: string[] = [];
    for (const f of this.#counters.values()) {
      lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} counter`);
      for (const { labels, metric } of f.children.values())
        lines.push(`${f.name}${labelText(labels)} ${metric.value}`);
    }
    for (const f of this.#histograms.values()) {
      lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} histogram`);
      for (const { labels, metric } of f.children.values()) {
        let cumulative = 0;
        metric.buckets.forEach((le, i) => {
          cumulative += metric.counts[i]!;
          lines.push(`${f.name}_bucket${labelText(labels, `le="${num(le)}"`)} ${cumulative}`);
        });
        lines.push(`${f.name}_bucket${labelText(labels, 'le="+Inf"')} ${metric.count}`);
        lines.push(`${f.name}_sum${labelText(labels)} ${num(metric.sum)}`);
        lines.push(`${f.name}_count${labelText(labels)} ${metric.count}`);
      }
    }
    for (const g of this.#gauges) {
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      for (const { labels, value } of g.read()) lines.push(`${g.name}${labelText(labels)} ${num(value)}`);
    }
    return `${lines.join("\n")}\n`;
  }
}

/**
 * The reader's metrics events for one snapshot, as the reference's Prometheus collector counts
 * them. Children are created once here, so an event costs two additions.
 */
export function readerCollector(registry: MetricsRegistry, snapshot: string): MetricsCollector {
  const labels = { snapshot };
  const gets = registry.counter("reader_gets_total", "Reader get calls.", labels);
  const getDuration = registry.histogram("reader_get_duration_seconds", "Reader get latency.", labels);
  const multiGets = registry.counter("reader_multi_gets_total", "Reader multi_get calls.", labels);
  const multiDuration = registry.histogram(
    "reader_multi_get_duration_seconds",
    "Reader multi_get latency.",
    labels,
  );
  const refreshedChanged = registry.counter("reader_refreshes_total", "Reader refreshes.", {
    snapshot,
    changed: "true",
  });
  const refreshedSame = registry.counter("reader_refreshes_total", "Reader refreshes.", {
    snapshot,
    changed: "false",
  });
  return {
    emit(event, payload) {
      switch (event) {
        case ReaderEvents.get:
          gets.inc();
          getDuration.observe(Number(payload.duration_ms) / 1000);
          break;
        case ReaderEvents.multiGet:
          multiGets.inc();
          multiDuration.observe(Number(payload.duration_ms) / 1000);
          break;
        case ReaderEvents.refreshed:
          (payload.changed ? refreshedChanged : refreshedSame).inc();
          break;
      }
    },
  };
}
