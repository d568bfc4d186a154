"""What every edgesense DAG file shares: default task arguments and run-time settings.

Cheap to import at parse time (no Airflow, no AWS, no DuckDB); environment reads only.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

OWNER = "edgesense"


def default_args(retries: int, retry_delay_seconds: int, **extra: Any) -> dict[str, Any]:
    """Owner, retries, a retry delay that ``EDGESENSE_RETRY_DELAY_SECONDS`` can override (tests
    use 0), and the failure callback that publishes to the alarm topic (every edgesense task)."""
    from edgesense.tasks.notify import on_task_failure

    delay = int(os.environ.get("EDGESENSE_RETRY_DELAY_SECONDS", str(retry_delay_seconds)))
    return {"owner": OWNER, "retries": retries, "retry_delay": timedelta(seconds=delay),
            "on_failure_callback": on_task_failure, **extra}  # fmt: skip


def settings():
    """The run's Settings, read when a task runs, never at parse time."""
    from edgesense.config import Settings

    return Settings.from_env()


def archive_interval() -> timedelta:
    """``EDGESENSE_ARCHIVE_INTERVAL_MINUTES`` (checked as Settings checks it: it must divide a day)."""
    raw = os.environ.get("EDGESENSE_ARCHIVE_INTERVAL_MINUTES") or "60"
    minutes = int(raw) if raw.isdigit() else 0
    if not 1 <= minutes <= 1440 or 1440 % minutes:
        raise ValueError(
            f"EDGESENSE_ARCHIVE_INTERVAL_MINUTES must divide a day (e.g. 15, 30, 60), not {raw!r}"
        )
    return timedelta(minutes=minutes)


def floor_to(t: datetime, step: timedelta) -> datetime:
    midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((t - midnight) // step) * step
