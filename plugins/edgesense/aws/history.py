"""``minute_metrics`` files of a time range, downloaded for :class:`edgesense.history.MinuteHistory`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from edgesense.aws.s3 import download_keys
from edgesense.tables import output_key_shape

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TABLE = "minute_metrics"


def hour_prefixes(start: datetime, end: datetime) -> list[str]:
    """``minute_metrics/dt=…/hour=…/`` of every event hour that overlaps ``[start, end)``."""
    hour, out = start.replace(minute=0, second=0, microsecond=0), []
    while hour < end:
        out.append(f"{TABLE}/dt={hour:%Y-%m-%d}/hour={hour:%H}/")
        hour += timedelta(hours=1)
    return out


def download_minute_metrics(
    client: S3Client, bucket: str, start: datetime, end: datetime, into: Path
) -> list[Path]:
    """The files of the hours of ``[start, end)``; only keys of the shape edgesense writes reach the disk."""
    shape = output_key_shape(TABLE)
    return [
        f for prefix in hour_prefixes(start, end) for f in download_keys(client, bucket, prefix, shape, into)
    ]
