/**
 * Creates the test bucket on a freshly started MinIO; `scripts/minio start` runs this with the
 * server's `SHARDY_TEST_S3_*` variables. An already existing bucket is fine.
 */
import { BucketAlreadyOwnedByYou, CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { readS3TestEnv } from "./s3-env.ts";

const env = readS3TestEnv();
const client = new S3Client({
  endpoint: env.endpoint,
  region: env.region,
  forcePathStyle: true,
  credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey },
  maxAttempts: 5,
});
try {
  await client.send(new CreateBucketCommand({ Bucket: env.bucket }));
  console.error(`created bucket ${env.bucket} on ${env.endpoint}`);
} catch (err) {
  if (!(err instanceof BucketAlreadyOwnedByYou)) throw err;
  console.error(`bucket ${env.bucket} already exists on ${env.endpoint}`);
} finally {
  client.destroy();
}
