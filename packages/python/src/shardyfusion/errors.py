"""The error taxonomy, mirroring ``@shardy/errors`` (and the reference's ``errors.py``).

Every class says whether running the same operation again may help (``retryable``). Errors raised
by the ``shardy`` executable come back as their TS class name and are rebuilt here by name.
"""

from __future__ import annotations

from collections.abc import Sequence


class ShardyfusionError(Exception):
    """Base of every shardyfusion error."""

    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[object, ...]:
        # Engines pickle task errors across processes; keep the subclass and extra fields.
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls: type[ShardyfusionError], message: str, state: dict[str, object]) -> ShardyfusionError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


#: The TS name of the base class.
ShardyError = ShardyfusionError


class ConfigValidationError(ShardyfusionError):
    """Invalid configuration or input; ``field`` is the dotted config path when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ShardAssignmentError(ShardyfusionError):
    """A row was routed to a shard it does not belong to, or routing disagreed with the reader."""


class ShardCoverageError(ShardyfusionError):
    """Shard results do not cover the shards that have rows (an engine gave up on a shard task)."""

    def __init__(self, message: str, db_ids: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.db_ids: tuple[int, ...] = tuple(db_ids)


class DbAdapterError(ShardyfusionError):
    """A shard database could not be opened, read or closed."""


class BridgeTimeoutError(ShardyfusionError):
    retryable = True


class ManifestBuildError(ShardyfusionError):
    """Building the manifest failed before anything was uploaded."""


class PublishManifestError(ShardyfusionError):
    """Uploading the manifest failed; nothing was published."""

    retryable = True


class PublishCurrentError(ShardyfusionError):
    """The manifest is uploaded but ``_CURRENT`` was not moved to it (write failed or lost a race)."""

    retryable = True

    def __init__(self, message: str, manifest_ref: str | None = None) -> None:
        super().__init__(message)
        self.manifest_ref = manifest_ref


class ManifestParseError(ShardyfusionError):
    """A ``_CURRENT`` pointer or manifest could not be parsed."""


class ManifestNotFoundError(ManifestParseError):
    pass


class PublishCheckError(ShardyfusionError):
    """A validate-before-flip check vetoed the publish."""


class ReaderStateError(ShardyfusionError):
    pass


class PoolExhaustedError(ShardyfusionError):
    retryable = True


class ManifestStoreError(ShardyfusionError):
    retryable = True


class ShardWriteError(ShardyfusionError):
    """Writing or uploading one shard attempt failed; a new attempt may succeed."""

    retryable = True


class S3TransientError(ShardyfusionError):
    retryable = True


class ObjectStoreError(ShardyfusionError):
    """The object store refused or failed an operation for a reason retrying will not fix."""


class PreconditionFailedError(ShardyfusionError):
    pass


class SqliteAdapterError(ShardyfusionError):
    pass


class SidecarUnavailableError(SqliteAdapterError):
    pass


class S3VfsError(ShardyfusionError):
    pass


class ShardyExecutableError(ShardyfusionError):
    """The ``shardy`` executable is missing, or failed without a typed error record."""


_BY_NAME: dict[str, type[ShardyfusionError]] = {
    cls.__name__: cls
    for cls in (
        ConfigValidationError,
        ShardAssignmentError,
        ShardCoverageError,
        DbAdapterError,
        BridgeTimeoutError,
        ManifestBuildError,
        PublishManifestError,
        PublishCurrentError,
        ManifestParseError,
        ManifestNotFoundError,
        PublishCheckError,
        ReaderStateError,
        PoolExhaustedError,
        ManifestStoreError,
        ShardWriteError,
        S3TransientError,
        ObjectStoreError,
        PreconditionFailedError,
        SqliteAdapterError,
        SidecarUnavailableError,
        S3VfsError,
    )
}


def error_class_for(name: str) -> type[ShardyfusionError] | None:
    """The Python class of a TS error name (``ShardyError`` is the base class)."""
    if name == "ShardyError":
        return ShardyfusionError
    return _BY_NAME.get(name)


__all__ = [
    "BridgeTimeoutError",
    "ConfigValidationError",
    "DbAdapterError",
    "ManifestBuildError",
    "ManifestNotFoundError",
    "ManifestParseError",
    "ManifestStoreError",
    "ObjectStoreError",
    "PoolExhaustedError",
    "PreconditionFailedError",
    "PublishCheckError",
    "PublishCurrentError",
    "PublishManifestError",
    "ReaderStateError",
    "S3TransientError",
    "S3VfsError",
    "ShardAssignmentError",
    "ShardCoverageError",
    "ShardWriteError",
    "ShardyError",
    "ShardyExecutableError",
    "ShardyfusionError",
    "SidecarUnavailableError",
    "SqliteAdapterError",
    "error_class_for",
]
