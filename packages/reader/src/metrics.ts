/**
 * Reader metrics events, named and shaped as the reference's `metrics/_events.py` (string event
 * names, snake_case payload keys), so Prometheus/OTel adapters written for it map one to one.
 */

export const ReaderEvents = {
  initialized: "reader.initialized",
  get: "reader.get",
  multiGet: "reader.multi_get",
  refreshed: "reader.refreshed",
  closed: "reader.closed",
} as const;

export type ReaderEventName = (typeof ReaderEvents)[keyof typeof ReaderEvents];

export interface MetricsCollector {
  emit(event: string, payload: Record<string, unknown>): void;
}

/** Emits without letting a broken collector fail the read that reported it. */
export function safeEmit(
  collector: MetricsCollector | undefined,
  event: ReaderEventName,
  payload: Record<string, unknown>,
): void {
  if (!collector) return;
  try {
    collector.emit(event, payload);
  } catch {
    // Metrics are advisory.
  }
}
