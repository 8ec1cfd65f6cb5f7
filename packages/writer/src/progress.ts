/** Build progress events (the CLI draws its bar from these), throttled and with rows/s and ETA. */

export type BuildPhase = "counting" | "reading" | "writing" | "publishing" | "done";

export interface BuildProgress {
  phase: BuildPhase;
  /** Rows read from the inputs so far. */
  rowsRead: number;
  /** Input bytes consumed so far (approximate for columnar formats). */
  bytesRead: number;
  /** Total input bytes (file sizes); 0 when unknown (in-memory inputs). */
  totalBytes: number;
  /** Total rows when known (a count pass ran, or all inputs were read). */
  totalRows: number | null;
  numDbs: number;
  /** Shards sealed and uploaded. */
  shardsDone: number;
  /** Shards that received rows (known once reading ends). */
  shardsTotal: number | null;
  /** Rows in sealed shards (duplicates included). */
  rowsWritten: number;
  elapsedMs: number;
  /** Rows per second over the whole build so far. */
  rowsPerSecond: number;
  /** Estimated time left, or `null` while there is nothing to estimate from. */
  etaMs: number | null;
}

export type ProgressListener = (progress: BuildProgress) => void;

export class ProgressTracker {
  readonly #listener: ProgressListener | undefined;
  readonly #started = performance.now();
  readonly #intervalMs: number;
  #last = 0;
  #writeStarted = 0;
  state: Omit<BuildProgress, "elapsedMs" | "rowsPerSecond" | "etaMs">;

  constructor(listener: ProgressListener | undefined, totalBytes: number, intervalMs = 200) {
    this.#listener = listener;
    this.#intervalMs = intervalMs;
    this.state = {
      phase: "reading",
      rowsRead: 0,
      bytesRead: 0,
      totalBytes,
      totalRows: null,
      numDbs: 0,
      shardsDone: 0,
      shardsTotal: null,
      rowsWritten: 0,
    };
  }

  setPhase(phase: BuildPhase): void {
    if (phase === "writing") this.#writeStarted = performance.now();
    this.state.phase = phase;
    this.report(true);
  }

  snapshot(): BuildProgress {
    const elapsedMs = performance.now() - this.#started;
    const s = this.state;
    const rows = s.phase === "reading" || s.phase === "counting" ? s.rowsRead : s.rowsWritten;
    const rowsPerSecond = elapsedMs > 0 ? (s.rowsRead * 1000) / elapsedMs : 0;
    let etaMs: number | null = null;
    if (s.phase === "reading" && s.totalBytes > 0 && s.bytesRead > 0) {
      etaMs = (elapsedMs * (s.totalBytes - s.bytesRead)) / s.bytesRead;
    } else if (s.phase === "reading" && s.totalRows && s.rowsRead > 0) {
      etaMs = (elapsedMs * (s.totalRows - s.rowsRead)) / s.rowsRead;
    } else if (s.phase === "writing" && s.totalRows && rows > 0) {
      const spent = performance.now() - this.#writeStarted;
      etaMs = (spent * Math.max(0, s.totalRows - rows)) / rows;
    } else if (s.phase === "done") etaMs = 0;
    return { ...s, elapsedMs, rowsPerSecond, etaMs: etaMs === null ? null : Math.max(0, etaMs) };
  }

  report(force = false): void {
    if (!this.#listener) return;
    const now = performance.now();
    if (!force && now - this.#last < this.#intervalMs) return;
    this.#last = now;
    try {
      this.#listener(this.snapshot());
    } catch {
      // A progress bar failing must not fail the build.
    }
  }
}
