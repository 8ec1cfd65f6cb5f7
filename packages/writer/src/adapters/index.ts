import type { AdapterFactoryConfig } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import type { AdapterTuning, ShardAdapterFactory } from "../adapter.ts";
import { slateDbAdapterFactory } from "./slatedb.ts";
import { sqliteAdapterFactory } from "./sqlite.ts";

export { slateDbAdapterFactory } from "./slatedb.ts";
export { DEFAULT_SQLITE_CONFIG, sqliteAdapterFactory } from "./sqlite.ts";

/** The factory a config's `kv.adapter_factory` names. */
export function adapterFactoryFromConfig(
  config: AdapterFactoryConfig,
  tuning: AdapterTuning = {},
): ShardAdapterFactory {
  switch (config.kind) {
    case "sqlite": {
      const { kind: _kind, ...rest } = config;
      return sqliteAdapterFactory(rest, tuning);
    }
    case "slatedb":
    case "slatedb-local":
      return slateDbAdapterFactory(config.kind, tuning);
    default:
      throw new ConfigValidationError(
        `unknown adapter factory kind ${JSON.stringify((config as { kind?: unknown }).kind)}; use "sqlite", "slatedb" or "slatedb-local"`,
        { field: "kv.adapter_factory" },
      );
  }
}
