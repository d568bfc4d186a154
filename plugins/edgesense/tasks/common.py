"""What the task modules share: clients from settings, the batch source, Glue partitions,
and ``minute_metrics`` read back."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from edgesense.aws.catalog import Catalog
from edgesense.aws.clients import AwsClients
from edgesense.aws.downloads import InflateLimits
from edgesense.aws.history import download_minute_metrics
from edgesense.aws.sources import BatchSource
from edgesense.config import Settings
from edgesense.history import MinuteHistory


class BatchFailed(Exception):
    """A batch that no retry can fix: the DAG fails the task at once."""


def clients_for(settings: Settings, clients: AwsClients | None = None) -> AwsClients:
    """The given clients (tests), else the provider hooks' on the settings' connection."""
    return clients or AwsClients(settings.aws_conn_id)


def batch_source(settings: Settings, clients: AwsClients) -> BatchSource:
    return BatchSource(
        clients.s3,
        ingest_bucket=settings.ingest_bucket,
        store_bucket=settings.store_bucket,
        key_layout=settings.key_layout,
        lookback=timedelta(minutes=settings.prefix_lookback_minutes),
        shard_bytes=int(settings.shard_mb * 1024 * 1024),
        inflate=InflateLimits(
            ratio=settings.max_inflate_ratio,
            object_bytes=int(settings.max_object_inflated_mb * 2**20),
            batch_bytes=int(settings.max_batch_inflated_mb * 2**20),
        ),
    )


def catalog(settings: Settings, clients: AwsClients) -> Catalog:
    return Catalog(clients.glue, database=settings.glue_database, store_bucket=settings.store_bucket)


def add_partitions_for(settings: Settings, table: str, partitions: list[list[str]], *,
                       clients: AwsClients | None = None) -> dict[str, int]:  # fmt: skip
    """Register ``table``'s (dt, hour) partitions with Glue (existing ones are fine)."""
    return catalog(settings, clients_for(settings, clients)).add_partitions(
        table, [tuple(p) for p in partitions]
    )


@contextmanager
def minute_history(settings: Settings, clients: AwsClients, start: datetime, end: datetime
                   ) -> Iterator[MinuteHistory]:  # fmt: skip
    """The ``minute_metrics`` of the event hours of ``[start, end)``, downloaded to scratch and
    open in DuckDB with the settings' threads and memory; both go when the block ends."""
    with tempfile.TemporaryDirectory(prefix="edgesense-history-", dir=settings.work_dir or None) as tmp:
        files = download_minute_metrics(clients.s3, settings.store_bucket, start, end, Path(tmp))
        with MinuteHistory(
            files, threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit
        ) as h:
            yield h
