/**
 * The writer configuration, with the reference's snake_case field names (reference format §9) so
 * the TS API, the CLI's JSON and the Python package share one vocabulary. These are the
 * *normalised* shapes returned by `validateHashConfig` / `validateCelConfig`: grouped, with every
 * default filled in. Inputs may also use the reference's flat aliases (see `*Input`).
 */
import type { PyJsonObject } from "../json/python-json.ts";
import type { KeyEncoding, RoutingValue } from "../manifest/types.ts";

export type SqlitePageSize = 4096 | 8192 | 16384 | 32768 | 65536 | "auto";

/** `SqliteFactory(page_size=4096, cache_size_pages=-2000, emit_sidecar=True)`. */
export interface SqliteAdapterConfig {
  kind: "sqlite";
  page_size: SqlitePageSize;
  /** `PRAGMA cache_size`; negative = KiB (SQLite's convention). */
  cache_size_pages: number;
  emit_sidecar: boolean;
}

/** SlateDB written directly to the object store (the reference's default `SlateDbFactory`). */
export interface SlateDbAdapterConfig {
  kind: "slatedb";
}

/** SlateDB written locally, then uploaded (`LocalSlateDbFactory`). */
export interface SlateDbLocalAdapterConfig {
  kind: "slatedb-local";
}

export type AdapterFactoryConfig = SqliteAdapterConfig | SlateDbAdapterConfig | SlateDbLocalAdapterConfig;

/** `S3ConnectionOptions`; every key optional. */
export interface S3ConnectionOptions {
  endpoint_url?: string;
  region_name?: string;
  addressing_style?: "virtual" | "path" | "auto";
  signature_version?: string;
  verify_ssl?: boolean | string;
  /** Seconds. */
  connect_timeout?: number;
  /** Seconds. */
  read_timeout?: number;
  max_attempts?: number;
}

export type CredentialProviderConfig =
  | { kind: "static"; access_key_id: string; secret_access_key: string; session_token: string | null }
  | { kind: "env" };

export interface WriterStorageConfig {
  /** `s3://bucket/prefix`, or (shardy's embedded stores) `file:///abs/path` / `memory://name`. */
  s3_prefix: string;
  credential_provider: CredentialProviderConfig | null;
  s3_connection_options: S3ConnectionOptions | null;
}

export interface WriterOutputConfig {
  /** `null`: a fresh uuid4 hex per run. */
  run_id: string | null;
  db_path_template: string;
  shard_prefix: string;
  run_registry_prefix: string;
  /** Local scratch root; `null`: the runtime's temp dir + `/shardyfusion`. */
  local_root: string | null;
}

export interface WriterManifestConfig {
  custom_manifest_fields: PyJsonObject;
  credential_provider: CredentialProviderConfig | null;
  s3_connection_options: S3ConnectionOptions | null;
}

export interface KeyValueWriteConfig {
  key_encoding: KeyEncoding;
  batch_size: number;
  adapter_factory: AdapterFactoryConfig;
  profile_value_sizes_for_page_size: boolean;
}

/** `RetryConfig(max_retries=3, initial_backoff=1s, backoff_multiplier=2.0)`. */
export interface RetryConfig {
  max_retries: number;
  initial_backoff_ms: number;
  backoff_multiplier: number;
}

export interface WriterRetryConfig {
  /** `null`: one attempt per shard. */
  shard_retry: RetryConfig | null;
}

export interface KvWriteRateLimitConfig {
  max_writes_per_second: number | null;
  max_write_bytes_per_second: number | null;
}

export interface BaseWriteConfig {
  storage: WriterStorageConfig;
  output: WriterOutputConfig;
  manifest: WriterManifestConfig;
  kv: KeyValueWriteConfig;
  retry: WriterRetryConfig;
  rate_limits: KvWriteRateLimitConfig;
  shard_id_col: string;
}

export interface HashShardingConfig {
  /** `null` only together with `max_keys_per_shard`. */
  num_dbs: number | null;
  max_keys_per_shard: number | null;
}

export type CelColumnType = "int" | "uint" | "string" | "bytes" | "double" | "bool";

export interface CelShardingConfig {
  cel_expr: string;
  cel_columns: Record<string, CelColumnType>;
  routing_values: RoutingValue[] | null;
  infer_routing_values_from_data: boolean;
}

export interface HashShardedWriteConfig extends BaseWriteConfig {
  strategy: "hash";
  sharding: HashShardingConfig;
}

export interface CelShardedWriteConfig extends BaseWriteConfig {
  strategy: "cel";
  sharding: CelShardingConfig;
}

export type ShardedWriteConfig = HashShardedWriteConfig | CelShardedWriteConfig;

// ---------------------------------------------------------------------------------------------
// Inputs: grouped (any subset of each group) or the reference's flat aliases, never both per group.
// ---------------------------------------------------------------------------------------------

type Loose<T> = { [K in keyof T]?: T[K] | null };

export type AdapterFactoryInput =
  | ({ kind: "sqlite" } & Loose<Omit<SqliteAdapterConfig, "kind">>)
  | SlateDbAdapterConfig
  | SlateDbLocalAdapterConfig;

export type CredentialProviderInput =
  | { kind: "static"; access_key_id: string; secret_access_key: string; session_token?: string | null }
  | { kind: "env" };

export interface BaseWriteConfigInput {
  storage?: Loose<Omit<WriterStorageConfig, "credential_provider">> & {
    credential_provider?: CredentialProviderInput | null;
  };
  output?: Loose<WriterOutputConfig>;
  manifest?: Loose<Omit<WriterManifestConfig, "credential_provider">> & {
    credential_provider?: CredentialProviderInput | null;
  };
  kv?: Loose<Omit<KeyValueWriteConfig, "adapter_factory">> & { adapter_factory?: AdapterFactoryInput | null };
  retry?: { shard_retry?: Loose<RetryConfig> | null };
  rate_limits?: Loose<KvWriteRateLimitConfig>;
  shard_id_col?: string;
  // Flat aliases (reference §9).
  s3_prefix?: string;
  credential_provider?: CredentialProviderInput | null;
  s3_connection_options?: S3ConnectionOptions | null;
  key_encoding?: KeyEncoding;
  batch_size?: number;
  adapter_factory?: AdapterFactoryInput | null;
  shard_retry?: Loose<RetryConfig> | null;
  max_writes_per_second?: number | null;
  max_write_bytes_per_second?: number | null;
}

export interface HashShardedWriteConfigInput extends BaseWriteConfigInput {
  strategy?: "hash";
  sharding?: Loose<HashShardingConfig> | null;
  num_dbs?: number | null;
  max_keys_per_shard?: number | null;
}

/** A routing token as accepted on input: safe-integer numbers become bigint; `{"__bytes_hex__"}` bytes. */
export type RoutingValueInput = RoutingValue | number | { __bytes_hex__: string };

export interface CelShardedWriteConfigInput extends BaseWriteConfigInput {
  strategy?: "cel";
  sharding?: {
    cel_expr?: string;
    cel_columns?: Record<string, string>;
    routing_values?: RoutingValueInput[] | null;
    infer_routing_values_from_data?: boolean | null;
  } | null;
  cel_expr?: string;
  cel_columns?: Record<string, string>;
  routing_values?: RoutingValueInput[] | null;
  infer_routing_values_from_data?: boolean | null;
}
