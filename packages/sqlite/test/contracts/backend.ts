/**
 * What a shard backend hands the contract suites: how to write a shard attempt and how to open a
 * reader on what was written. The SQLite backend provides three (download, range, range without
 * sidecar); the SlateDB backend provides its own.
 */
import type { ObjectStore } from "@shardy/store";
import type { ShardReader, ShardWriteResult, ShardWriter } from "../../src/index.ts";

export interface ShardBackend {
  name: string;
  newWriter(store: ObjectStore, dbUrl: string, localDir: string): Promise<ShardWriter>;
  openReader(store: ObjectStore, result: ShardWriteResult, localRoot: string): Promise<ShardReader>;
}

export interface ContractStore {
  name: string;
  open(): { store: ObjectStore; prefixUrl: string };
}

export interface ContractContext {
  tempDir(label: string): string;
}
