"""The Ray writer: ``write_hash_sharded`` / ``write_cel_sharded`` over a Ray Dataset."""

from .writer import RayWriteOptions, write_cel_sharded, write_hash_sharded

__all__ = ["RayWriteOptions", "write_cel_sharded", "write_hash_sharded"]
