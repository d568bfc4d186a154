"""What every edgesense DAG file shares: default task arguments and run-time settings.

Cheap to import at parse time (no Airflow, no AWS, no DuckDB); environment reads only.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

OWNER = "edgesense"


def default_args(retries: int, retry_delay_seconds: int, **extra: Any) -> dict[str, Any]:
    """Owner, retries and a retry delay that ``EDGESENSE_RETRY_DELAY_SECONDS`` can override (tests use 0)."""
    delay = int(os.environ.get("EDGESENSE_RETRY_DELAY_SECONDS", str(retry_delay_seconds)))
    return {"owner": OWNER, "retries": retries, "retry_delay": timedelta(seconds=delay), **extra}


def settings():
    """The run's Settings, read when a task runs, never at parse time."""
    from edgesense.config import Settings

    return Settings.from_env()
