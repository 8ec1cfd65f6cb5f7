import { minio } from "./helpers.ts";
import { smokeSuite } from "./scenarios.ts";

// MinIO must be running (`eval "$(bash scripts/minio start)"`); without it these tests fail.
const RUN = crypto.randomUUID().slice(0, 8);

smokeSuite(
  "MinIO",
  {
    location(label) {
      const { store, bucket, connection } = minio();
      const prefix = `writer-smoke/${RUN}/${label}-${crypto.randomUUID().slice(0, 8)}`;
      return { config: { s3_prefix: `s3://${bucket}/${prefix}`, ...connection }, store, prefix };
    },
  },
  [0, 2],
);
