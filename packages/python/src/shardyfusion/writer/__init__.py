"""Engine writers: ``shardyfusion.writer.dask`` and ``shardyfusion.writer.ray``."""
