/** The reference smoke scenarios on the SlateDB backend (the seeds' default), file store and MinIO. */
import { afterAll } from "bun:test";
import { FileStore } from "@shardy/store";
import { minio, removeTempDirs, tempDir } from "./helpers.ts";
import { smokeSuite } from "./scenarios.ts";

afterAll(removeTempDirs);

const RUN = crypto.randomUUID().slice(0, 8);

smokeSuite(
  "file store",
  {
    location(label) {
      const dir = tempDir(label);
      return { config: { s3_prefix: `file://${dir}` }, store: new FileStore(dir), prefix: "" };
    },
  },
  [0, 3],
  "slatedb",
);

// MinIO must be running (`eval "$(bash scripts/minio start)"`); without it these tests fail.
smokeSuite(
  "MinIO",
  {
    location(label) {
      const { store, bucket, connection } = minio();
      const prefix = `writer-smoke-slatedb/${RUN}/${label}-${crypto.randomUUID().slice(0, 8)}`;
      return { config: { s3_prefix: `s3://${bucket}/${prefix}`, ...connection }, store, prefix };
    },
  },
  [2],
  "slatedb",
);
