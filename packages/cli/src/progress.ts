/**
 * Build progress on stderr: a redrawn bar (rows, rows/s, ETA, shards) when stderr is a terminal,
 * otherwise one plain line per interval and per phase change, so logs stay readable.
 */

/** What the bar needs from the writer's progress events (structurally `BuildProgress`). */
export interface ProgressSnapshot {
  phase: string;
  rowsRead: number;
  bytesRead: number;
  totalBytes: number;
  totalRows: number | null;
  shardsDone: number;
  shardsTotal: number | null;
  elapsedMs: number;
  rowsPerSecond: number;
  etaMs: number | null;
}

export interface ProgressOptions {
  write: (text: string) => void;
  tty: boolean;
  /** Non-TTY: minimum time between lines (phase changes always print). Default 5 s. */
  intervalMs?: number;
  /** Bar width in characters (TTY). */
  width?: number;
  now?: () => number;
}

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`
    : `${m}:${String(sec).padStart(2, "0")}`;
}

/** Fraction done in [0, 1], or null when there is nothing to measure against. */
export function fractionDone(p: ProgressSnapshot): number | null {
  if (p.phase === "done") return 1;
  if (p.phase === "writing" || p.phase === "publishing") {
    return p.shardsTotal ? Math.min(1, p.shardsDone / p.shardsTotal) : null;
  }
  if (p.totalBytes > 0) return Math.min(1, p.bytesRead / p.totalBytes);
  if (p.totalRows) return Math.min(1, p.rowsRead / p.totalRows);
  return null;
}

export function describeProgress(p: ProgressSnapshot): string {
  const parts = [`${int.format(p.rowsRead)} rows`, `${int.format(p.rowsPerSecond)} rows/s`];
  if (p.etaMs !== null && p.phase !== "done") parts.push(`ETA ${formatDuration(p.etaMs)}`);
  if (p.shardsTotal !== null) parts.push(`shards ${p.shardsDone}/${p.shardsTotal}`);
  parts.push(`${p.phase} ${formatDuration(p.elapsedMs)}`);
  return parts.join("  ");
}

export class ProgressBar {
  readonly #o: Required<Omit<ProgressOptions, "now">> & { now: () => number };
  #lastLineAt = Number.NEGATIVE_INFINITY;
  #lastPhase: string | undefined;
  #drawn = false;

  constructor(options: ProgressOptions) {
    this.#o = {
      intervalMs: 5000,
      width: 30,
      now: () => performance.now(),
      ...options,
    };
  }

  update(p: ProgressSnapshot): void {
    if (this.#o.tty) {
      const f = fractionDone(p);
      const w = this.#o.width;
      const filled = f === null ? 0 : Math.round(f * w);
      const bar =
        f === null
          ? `[${" ".repeat(w)}]`
          : `[${"=".repeat(Math.max(0, filled - 1))}${filled > 0 ? ">" : ""}${" ".repeat(w - filled)}]`;
      const pct = f === null ? "  ?%" : `${String(Math.floor(f * 100)).padStart(3)}%`;
      this.#o.write(`\r${bar} ${pct}  ${describeProgress(p)}\x1b[K`);
      this.#drawn = true;
      return;
    }
    const now = this.#o.now();
    if (p.phase === this.#lastPhase && now - this.#lastLineAt < this.#o.intervalMs) return;
    this.#lastPhase = p.phase;
    this.#lastLineAt = now;
    const f = fractionDone(p);
    this.#o.write(`[shardy] ${f === null ? "" : `${Math.floor(f * 100)}%  `}${describeProgress(p)}\n`);
  }

  /** Ends the bar's line (TTY). */
  finish(): void {
    if (this.#o.tty && this.#drawn) this.#o.write("\n");
    this.#drawn = false;
  }
}
