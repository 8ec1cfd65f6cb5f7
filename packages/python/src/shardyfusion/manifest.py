"""``BuildResult`` and its parts, as returned by every writer (reference ``manifest.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BYTES_HEX_TAG = "__bytes_hex__"
_PUBLISHED_RE = re.compile(r"/manifests/(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6})Z_run_id=")

Key = int | str | bytes | None


def key_from_wire(value: Any) -> Key:
    if isinstance(value, dict) and isinstance(value.get(BYTES_HEX_TAG), str):
        return bytes.fromhex(value[BYTES_HEX_TAG])
    if value is None or isinstance(value, (int, str)):
        return value
    raise ValueError(f"unexpected key {value!r} in a shard result")


@dataclass(frozen=True)
class ManifestRef:
    ref: str
    run_id: str
    published_at: datetime | None


@dataclass(frozen=True)
class WriterInfo:
    attempt: int
    duration_ms: int = 0
    stage_id: int | None = None
    task_attempt_id: int | None = None


@dataclass(frozen=True)
class RequiredShardMeta:
    db_id: int
    db_url: str | None
    attempt: int
    row_count: int
    min_key: Key
    max_key: Key
    checkpoint_id: str | None
    writer_info: WriterInfo
    db_bytes: int = 0


@dataclass(frozen=True)
class BuildDurations:
    sharding_ms: int
    write_ms: int
    manifest_ms: int
    total_ms: int


@dataclass(frozen=True)
class BuildStats:
    durations: BuildDurations
    num_attempt_results: int
    num_winners: int
    rows_written: int


@dataclass(frozen=True)
class BuildResult:
    run_id: str
    winners: list[RequiredShardMeta]
    manifest_ref: ManifestRef
    stats: BuildStats
    num_dbs: int
    run_record_ref: str | None = None


def shard_meta_from_wire(w: dict[str, Any]) -> RequiredShardMeta:
    wi = w.get("writer_info") or {}
    return RequiredShardMeta(
        db_id=int(w["db_id"]),
        db_url=w.get("db_url"),
        attempt=int(w["attempt"]),
        row_count=int(w["row_count"]),
        min_key=key_from_wire(w.get("min_key")),
        max_key=key_from_wire(w.get("max_key")),
        checkpoint_id=w.get("checkpoint_id"),
        writer_info=WriterInfo(
            attempt=int(wi.get("attempt", w["attempt"])),
            duration_ms=int(wi.get("duration_ms") or 0),
            stage_id=wi.get("stage_id"),
            task_attempt_id=wi.get("task_attempt_id"),
        ),
        db_bytes=int(w.get("db_bytes") or 0),
    )


def published_at_of(ref: str) -> datetime | None:
    m = _PUBLISHED_RE.search(ref)
    if not m:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def build_result_from_wire(w: dict[str, Any], *, sharding_ms: int, write_ms: int, total_ms: int) -> BuildResult:
    """The ``shardy publish`` record, with this build's engine-side timings."""
    stats = w["stats"]
    d = stats["durations"]
    return BuildResult(
        run_id=w["run_id"],
        winners=[shard_meta_from_wire(x) for x in w["winners"]],
        manifest_ref=ManifestRef(
            ref=w["manifest_ref"], run_id=w["run_id"], published_at=published_at_of(w["manifest_ref"])
        ),
        stats=BuildStats(
            durations=BuildDurations(
                sharding_ms=sharding_ms, write_ms=write_ms, manifest_ms=int(d["manifest_ms"]), total_ms=total_ms
            ),
            num_attempt_results=int(stats["num_attempt_results"]),
            num_winners=int(stats["num_winners"]),
            rows_written=int(stats["rows_written"]),
        ),
        num_dbs=int(w["num_dbs"]),
        run_record_ref=w.get("run_record_ref"),
    )


__all__ = [
    "BuildDurations",
    "BuildResult",
    "BuildStats",
    "ManifestRef",
    "RequiredShardMeta",
    "WriterInfo",
]
