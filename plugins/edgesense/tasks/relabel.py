"""Task body of ``edgesense_relabel``: rebuild ``minute_metrics`` from ``requests`` with other rules.

Never touches CloudWatch: datapoints there cannot be changed, only added to.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from edgesense.aws.clients import AwsClients
from edgesense.aws.rules_store import Snapshots
from edgesense.aws.s3 import download_keys, list_keys
from edgesense.config import Settings
from edgesense.relabel import History
from edgesense.tables import output_key_shape, partitions_of
from edgesense.tasks.common import clients_for

log = logging.getLogger(__name__)

#: The longest range one run may rewrite.
MAX_DAYS = 366


def relabel_days(settings: Settings, first_day: str, last_day: str, rules_key: str, *,
                 clients: AwsClients | None = None) -> dict[str, Any]:  # fmt: skip
    """Rebuild ``minute_metrics`` for [first_day, last_day] from ``requests`` with the given rules."""
    client = clients_for(settings, clients).s3
    rules = Snapshots(client, settings.store_bucket).load(rules_key)
    d0, d1 = date.fromisoformat(first_day), date.fromisoformat(last_day)
    if d1 < d0 or (d1 - d0).days > MAX_DAYS:
        raise ValueError(f"bad date range {first_day}..{last_day} (at most a year, first <= last)")
    summary: dict[str, Any] = {"rules_version": rules.version, "days": {}}
    partitions: set[tuple[str, str]] = set()
    day = d0
    while day <= d1:
        work = Path(tempfile.mkdtemp(prefix="edgesense-relabel-", dir=settings.work_dir or None))
        try:
            files = download_keys(client, settings.store_bucket, f"requests/dt={day.isoformat()}/",
                                  output_key_shape("requests"), work / "in")  # fmt: skip
            if files:
                with History.from_parquet(files, unmatched=settings.effective_unmatched,
                                          threads=settings.duckdb_threads,
                                          memory_limit=settings.duckdb_memory_limit) as history:  # fmt: skip
                    written = history.label(rules).write_minute_metrics(work / "out")
                old = set(list_keys(client, settings.store_bucket, f"minute_metrics/dt={day.isoformat()}/"))
                for key, local in written.items():
                    client.upload_file(str(local), settings.store_bucket, key)
                # Only files of the batches just rewritten: a batch not archived yet (requests/
                # lags by an archive interval) keeps its minute_metrics as ingest wrote them.
                rewritten = {batch_of(k) for k in written}
                for stale in sorted(k for k in old - set(written) if batch_of(k) in rewritten):
                    client.delete_object(Bucket=settings.store_bucket, Key=stale)
                partitions |= partitions_of(written)["minute_metrics"]
                summary["days"][day.isoformat()] = {
                    "requests_files": len(files),
                    "minute_metrics_files": len(written),
                }
                log.info("%s: %d requests file(s) -> %d minute_metrics file(s) with rules %s", day, len(files),
                         len(written), rules.version)  # fmt: skip
        finally:
            shutil.rmtree(work, ignore_errors=True)
        day += timedelta(days=1)
    summary["partitions"] = sorted(list(p) for p in partitions)
    return summary


def batch_of(key: str) -> str:
    """The batch id in ``…/part-<batch>-<n>.parquet``."""
    return key.rsplit("/", 1)[-1].removeprefix("part-").rsplit("-", 1)[0]
