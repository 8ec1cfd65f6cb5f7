"""Shared fixtures: the shardy executable, MinIO, one Dask LocalCluster and one local Ray per
session. A resource that cannot be had fails the tests that need it, with the fix in the message."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
FAULT_SHARDY = HERE / "fault-shardy.sh"


def _real_shardy() -> str:
    env = os.environ.get("SHARDY_TEST_REAL_BIN") or os.environ.get("SHARDY_BIN")
    path = Path(env) if env else REPO / "dist" / "shardy"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"no shardy executable at {path}: run `bash scripts/build-shardy` (or set SHARDY_BIN)", pytrace=False
        )
    return str(path)


@pytest.fixture(scope="session", autouse=True)
def shardy_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every shardy call of the session (workers included) goes through the fault stand-in, which
    runs the real executable unless a test planted a fault for it."""
    fault_dir = tmp_path_factory.mktemp("faults")
    env = {
        "SHARDY_TEST_REAL_BIN": _real_shardy(),
        "SHARDY_BIN": str(FAULT_SHARDY),
        "SHARDY_TEST_FAULT_DIR": str(fault_dir),
        "SHARDY_TEST_PYTHON": sys.executable,
    }
    os.environ.update(env)
    return env


@pytest.fixture
def fault_dir(shardy_env: dict[str, str]) -> Iterator[Path]:
    d = Path(shardy_env["SHARDY_TEST_FAULT_DIR"])
    for f in d.iterdir():
        f.unlink()
    yield d
    for f in d.iterdir():
        f.unlink()


class Minio:
    def __init__(self) -> None:
        names = ["ENDPOINT", "BUCKET", "ACCESS_KEY", "SECRET_KEY", "REGION"]
        missing = [f"SHARDY_TEST_S3_{n}" for n in names if not os.environ.get(f"SHARDY_TEST_S3_{n}")]
        if missing:
            pytest.fail(
                f"MinIO is not configured ({', '.join(missing)} unset): run "
                '`eval "$(bash scripts/minio start)"` first (scripts/test does)',
                pytrace=False,
            )
        self.endpoint = os.environ["SHARDY_TEST_S3_ENDPOINT"]
        self.bucket = os.environ["SHARDY_TEST_S3_BUCKET"]
        self.access_key = os.environ["SHARDY_TEST_S3_ACCESS_KEY"]
        self.secret_key = os.environ["SHARDY_TEST_S3_SECRET_KEY"]
        self.region = os.environ["SHARDY_TEST_S3_REGION"]

    def config_kwargs(self, endpoint: str | None = None) -> dict[str, Any]:
        from shardyfusion import StaticCredentialProvider

        return {
            "s3_connection_options": {
                "endpoint_url": endpoint or self.endpoint,
                "region_name": self.region,
                "addressing_style": "path",
            },
            "credential_provider": StaticCredentialProvider(self.access_key, self.secret_key),
        }

    def cli_options(self) -> list[str]:
        opts = {
            "endpoint_url": self.endpoint,
            "region": self.region,
            "access_key_id": self.access_key,
            "secret_access_key": self.secret_key,
            "addressing_style": "path",
        }
        return [x for k, v in opts.items() for x in ("--s3-option", f"{k}={v}")]

    def filesystem(self) -> Any:
        from pyarrow import fs

        scheme, _, host = self.endpoint.partition("://")
        return fs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            endpoint_override=host,
            scheme=scheme,
            region=self.region,
            allow_bucket_creation=True,
        )


@pytest.fixture(scope="session")
def minio() -> Minio:
    return Minio()


class Location:
    """Where a test's snapshot goes: a fresh prefix on the file store or on MinIO."""

    def __init__(self, kind: str, prefix: str, minio: Minio | None) -> None:
        self.kind = kind
        self.prefix = prefix
        self.minio = minio

    def config_kwargs(self, endpoint: str | None = None) -> dict[str, Any]:
        kw: dict[str, Any] = {"s3_prefix": self.prefix}
        if self.minio is not None:
            kw.update(self.minio.config_kwargs(endpoint))
        return kw

    def cli_options(self) -> list[str]:
        return self.minio.cli_options() if self.minio is not None else []

    def read(self, url: str) -> bytes:
        """Bytes of the object at ``url`` (file:// or s3://)."""
        if url.startswith("file://"):
            return Path(url[len("file://") :]).read_bytes()
        assert self.minio is not None and url.startswith("s3://")
        with self.minio.filesystem().open_input_stream(url[len("s3://") :]) as f:
            return bytes(f.read())

    def listing(self, sub: str) -> list[str]:
        """Object keys under ``prefix/sub``."""
        if self.prefix.startswith("file://"):
            root = Path(self.prefix[len("file://") :]) / sub
            return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
        from pyarrow import fs as pafs

        assert self.minio is not None
        base = f"{self.prefix[len('s3://') :]}/{sub}"
        try:
            infos = self.minio.filesystem().get_file_info(pafs.FileSelector(base, recursive=True))
        except FileNotFoundError:
            return []
        return sorted(i.path for i in infos if i.type == pafs.FileType.File)

    @property
    def current_url(self) -> str:
        if self.prefix.startswith("file://"):
            return self.prefix[len("file://") :] + "/_CURRENT"
        return self.prefix + "/_CURRENT"


@pytest.fixture(params=["file", "minio"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    if request.param == "file":
        return Location("file", f"file://{tmp_path}/snapshot", None)
    m: Minio = request.getfixturevalue("minio")
    return Location("minio", f"s3://{m.bucket}/pytest/{uuid.uuid4().hex}", m)


@pytest.fixture
def file_location(tmp_path: Path) -> Location:
    return Location("file", f"file://{tmp_path}/snapshot", None)


@pytest.fixture
def minio_location(minio: Minio) -> Location:
    return Location("minio", f"s3://{minio.bucket}/pytest/{uuid.uuid4().hex}", minio)


@pytest.fixture(scope="session")
def dask_client(shardy_env: dict[str, str]) -> Iterator[Any]:
    """A real ``distributed.LocalCluster`` with 2 worker processes, the ambient scheduler."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="session")
def ray_session(shardy_env: dict[str, str]) -> Iterator[Any]:
    """Ray started locally with 2 CPUs."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture
def write(engine: Any) -> Any:
    """The test module's engine writer (``engine`` fixture, an ``engine_suite.Engine``), HASH."""
    return engine.hash


@pytest.fixture
def write_cel(engine: Any) -> Any:
    """The test module's engine writer, CEL."""
    return engine.cel


@pytest.fixture
def proxy_factory(minio: Minio) -> Iterator[Any]:
    """Fault-injecting proxies in front of MinIO, closed after the test."""
    from faultproxy import FaultProxy

    proxies: list[FaultProxy] = []

    def make() -> FaultProxy:
        p = FaultProxy(minio.endpoint)
        proxies.append(p)
        return p

    yield make
    for p in proxies:
        p.close()
