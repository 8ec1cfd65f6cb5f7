/** The shared shard contracts, run for the SQLite readers on memory, file and MinIO stores. */
import { afterAll } from "bun:test";
import {
  type ShardWriteResult,
  SqliteDownloadReader,
  SqliteRangeReader,
  type SqliteShardWriteResult,
  SqliteShardWriter,
} from "../src/index.ts";
import type { ShardBackend } from "./contracts/backend.ts";
import { shardReaderContract } from "./contracts/shard-reader-contract.ts";
import { shardWriterContract } from "./contracts/shard-writer-contract.ts";
import { fileFixture, memoryFixture, minioFixture, removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

const newWriter: ShardBackend["newWriter"] = (store, dbUrl, localDir) =>
  SqliteShardWriter.create({ store, dbUrl, localDir });

const backends: ShardBackend[] = [
  {
    name: "sqlite download reader",
    newWriter,
    openReader: (store, result: ShardWriteResult, localRoot) =>
      SqliteDownloadReader.open({
        store,
        dbUrl: result.dbUrl,
        dbId: 0,
        checkpointId: "c0",
        localRoot,
        expectedChecksum: (result as SqliteShardWriteResult).checksum,
        expectedBytes: result.dbBytes,
      }),
  },
  {
    name: "sqlite range reader (sidecar)",
    newWriter,
    openReader: (store, result) => SqliteRangeReader.open({ store, dbUrl: result.dbUrl, pageCachePages: 64 }),
  },
  {
    name: "sqlite range reader (no sidecar)",
    newWriter,
    openReader: (store, result) => SqliteRangeReader.open({ store, dbUrl: result.dbUrl, useSidecar: false }),
  },
];

const ctx = { tempDir };
for (const where of [memoryFixture, fileFixture, minioFixture]) {
  shardWriterContract(backends[0]!, where, ctx);
  for (const backend of backends) shardReaderContract(backend, where, ctx);
}
shardWriterContract(backends[1]!, memoryFixture, ctx);
