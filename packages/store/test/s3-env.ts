/**
 * The MinIO test server's coordinates, exported by `scripts/minio start`. S3 tests never skip:
 * without these variables they fail with instructions.
 */

export interface S3TestEnv {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

const VARS = {
  endpoint: "SHARDY_TEST_S3_ENDPOINT",
  bucket: "SHARDY_TEST_S3_BUCKET",
  accessKey: "SHARDY_TEST_S3_ACCESS_KEY",
  secretKey: "SHARDY_TEST_S3_SECRET_KEY",
  region: "SHARDY_TEST_S3_REGION",
} as const satisfies Record<keyof S3TestEnv, string>;

export function readS3TestEnv(env: Record<string, string | undefined> = process.env): S3TestEnv {
  const missing = Object.values(VARS).filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(
      `S3 test server not configured: ${missing.join(", ")} unset. Run the suite through \`bash scripts/test\`, ` +
        'or `eval "$(bash scripts/minio start)"` first (and `bash scripts/minio stop` afterwards).',
    );
  }
  return {
    endpoint: env[VARS.endpoint]!,
    bucket: env[VARS.bucket]!,
    accessKey: env[VARS.accessKey]!,
    secretKey: env[VARS.secretKey]!,
    region: env[VARS.region]!,
  };
}

/** `S3Store` options for the test server (type-compatible with `S3StoreOptions`). */
export function minioStoreOptions(env: S3TestEnv = readS3TestEnv()) {
  return {
    bucket: env.bucket,
    endpoint: env.endpoint,
    region: env.region,
    credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey },
  };
}
