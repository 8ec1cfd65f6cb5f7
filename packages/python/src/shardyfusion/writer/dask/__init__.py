"""The Dask writer: ``write_hash_sharded`` / ``write_cel_sharded`` over a Dask DataFrame."""

from .writer import DaskWriteOptions, write_cel_sharded, write_hash_sharded

__all__ = ["DaskWriteOptions", "write_cel_sharded", "write_hash_sharded"]
