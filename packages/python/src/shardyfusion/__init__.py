"""shardyfusion: sharded immutable key-value snapshots from Dask and Ray.

A thin shell over shardy's TS core: the engines build the graph, routing runs in the WASM kernel
(wasmtime), shard writing and publishing run in the ``shardy`` executable.
"""

from .config import (
    CelShardedWriteConfig,
    CelShardingConfig,
    EnvCredentialProvider,
    HashShardedWriteConfig,
    HashShardingConfig,
    KeyEncoding,
    KeyValueWriteConfig,
    KvWriteRateLimitConfig,
    RetryConfig,
    S3ConnectionOptions,
    StaticCredentialProvider,
    WriterManifestConfig,
    WriterOutputConfig,
    WriterRetryConfig,
    WriterStorageConfig,
)
from .errors import (
    ConfigValidationError,
    DbAdapterError,
    ManifestParseError,
    PublishCurrentError,
    PublishManifestError,
    ShardAssignmentError,
    ShardCoverageError,
    ShardWriteError,
    ShardyExecutableError,
    ShardyfusionError,
)
from .inputs import ColumnWriteInput
from .manifest import BuildDurations, BuildResult, BuildStats, ManifestRef, RequiredShardMeta, WriterInfo
from .serde import ValueSpec

__version__ = "0.1.0"

__all__ = [
    "BuildDurations",
    "BuildResult",
    "BuildStats",
    "CelShardedWriteConfig",
    "CelShardingConfig",
    "ColumnWriteInput",
    "ConfigValidationError",
    "DbAdapterError",
    "EnvCredentialProvider",
    "HashShardedWriteConfig",
    "HashShardingConfig",
    "KeyEncoding",
    "KeyValueWriteConfig",
    "KvWriteRateLimitConfig",
    "ManifestParseError",
    "ManifestRef",
    "PublishCurrentError",
    "PublishManifestError",
    "RequiredShardMeta",
    "RetryConfig",
    "S3ConnectionOptions",
    "ShardAssignmentError",
    "ShardCoverageError",
    "ShardWriteError",
    "ShardyExecutableError",
    "ShardyfusionError",
    "StaticCredentialProvider",
    "ValueSpec",
    "WriterInfo",
    "WriterManifestConfig",
    "WriterOutputConfig",
    "WriterRetryConfig",
    "WriterStorageConfig",
    "__version__",
]
