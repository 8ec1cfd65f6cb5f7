/**
 * What every verb shares: the resolved settings, the printer, and how to open the snapshot
 * (a reader, or the bare store location for history/rollback/cleanup).
 */
import { configureSqlJs } from "@shardy/core";
import { type OpenShardsPolicy, resolveLocation, ShardedReader, type SnapshotLocation } from "@shardy/reader";
import { type EmbeddedAssets, embeddedAssets } from "./embedded.ts";
import type { CliIo } from "./io.ts";
import { Printer } from "./output.ts";
import {
  type GlobalOptions,
  outputSettings,
  requireCurrentUrl,
  resolveSettings,
  type Settings,
} from "./settings.ts";

export class CliContext {
  #settings: Settings | undefined;
  #assets: EmbeddedAssets = {};
  readonly printer: Printer;

  constructor(
    readonly io: CliIo,
    readonly globals: GlobalOptions,
  ) {
    this.printer = new Printer(io, outputSettings(globals, io));
  }

  /** Loads embedded wasm (single-file executable) and wires it into the packages that need it. */
  async init(): Promise<void> {
    this.#assets = await embeddedAssets();
    if (this.#assets.sqlJsWasm) configureSqlJs({ wasmBinary: this.#assets.sqlJsWasm });
  }

  get assets(): EmbeddedAssets {
    return this.#assets;
  }

  get settings(): Settings {
    if (!this.#settings) {
      this.#settings = resolveSettings(this.globals, this.io);
      for (const w of this.#settings.warnings) this.printer.warn(w);
    }
    return this.#settings;
  }

  /** The snapshot's store, prefix and pointer name, from the current URL. */
  location(): SnapshotLocation {
    return resolveLocation({
      currentUrl: requireCurrentUrl(this.settings),
      storeOptions: this.settings.storeOptions,
    });
  }

  async openReader(openShards: OpenShardsPolicy = "lazy"): Promise<ShardedReader> {
    const s = this.settings;
    const sqlite = { ...s.sqlite };
    if (this.#assets.sqlJsWasm) sqlite.sqljs = { wasmBinary: this.#assets.sqlJsWasm };
    return ShardedReader.open({
      currentUrl: requireCurrentUrl(s),
      storeOptions: s.storeOptions,
      pin: s.pin,
      backend: s.backend,
      sqlite,
      openShards,
    });
  }
}
