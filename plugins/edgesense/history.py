"""Recent ``minute_metrics``, read back for operations (core: no Airflow, no AWS).

``minute_metrics`` is what every batch counted, exactly once per batch; the ops DAG reads
it to learn which hosts exist (alarms, dashboards), to feed the anomaly detector, and to
reconcile CloudWatch with what was counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edgesense.duck import Session


@dataclass(frozen=True)
class HostSeen:
    host: str
    last_minute: datetime
    requests: int


@dataclass(frozen=True)
class HostMinute:
    """One event minute of one host, summed over patterns and statuses."""

    minute: datetime
    host: str
    requests: int
    errors_5xx: int
    errors_4xx: int
    turnaround_mean_ms: float | None
    cache_hits: int


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


class MinuteHistory:
    """``minute_metrics`` Parquet files in one DuckDB session (explicit threads and memory)."""

    def __init__(self, files: Sequence[Path], *, threads: int = 1, memory_limit: str = "512MB") -> None:
        self.session = Session(threads=threads, memory_limit=memory_limit)
        self.files = len(files)
        self.empty = not files
        if files:
            self.session.run("ops/load_history.sql", {"files": [str(f) for f in files]})

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> MinuteHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def hosts(self) -> list[HostSeen]:
        """Every host, busiest first."""
        if self.empty:
            return []
        return [HostSeen(r["host"], _utc(r["last_minute"]), int(r["requests"]))
                for r in self.session.rows("ops/hosts_seen.sql")]  # fmt: skip

    def host_minutes(self, start: datetime, end: datetime) -> list[HostMinute]:
        """Per minute x host in ``[start, end)``, ordered by minute then host."""
        if self.empty:
            return []
        rows = self.session.rows(
            "ops/host_minutes.sql",
            {"start": _utc(start).replace(tzinfo=None), "end": _utc(end).replace(tzinfo=None)},
        )
        return [
            HostMinute(
                minute=_utc(r["minute"]), host=r["host"], requests=int(r["requests"]),
                errors_5xx=int(r["errors_5xx"]), errors_4xx=int(r["errors_4xx"]),
                turnaround_mean_ms=None if r["turnaround_mean_ms"] is None else float(r["turnaround_mean_ms"]),
                cache_hits=int(r["cache_hits"]),
            )
            for r in rows
        ]  # fmt: skip

    def batches(self) -> list[str]:
        """The batches the files came from (lineage: their plans and ledgers)."""
        return [] if self.empty else [r["batch_id"] for r in self.session.rows("ops/batches.sql")]
