import { S3Store } from "../src/index.ts";
import { storeContract } from "./contract.ts";
import { minioStoreOptions } from "./s3-env.ts";

// MinIO on one drive keeps objects as directories, so it cannot hold `a/b` and `a/b/c` at once.
storeContract("s3 (MinIO)", () => new S3Store({ ...minioStoreOptions(), partSize: 5 * 1024 * 1024 }), {
  keyAndChildren: false,
});
