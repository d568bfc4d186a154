"""
### edgesense_archive: every request to `requests/` Parquet, hourly and compacted (Airflow DAG)

The metrics never wait for this: `edgesense_ingest` sends CloudWatch and writes
`minute_metrics/` within the minute. This DAG writes the wide `requests` table on its own
schedule, `EDGESENSE_ARCHIVE_INTERVAL_MINUTES` (60 by default; 15 or 30 work too), for
the interval `[start, end)`:

1. **wait_for_batches** (a reschedule-mode sensor) waits until every batch that ingest
   claimed in the interval has its plan, that is, has been aggregated. After
   `EDGESENSE_ARCHIVE_GRACE_MINUTES` it goes on without the ones that still have none (their
   aggregation failed, so CloudWatch has nothing of them either); the log names them.
2. **archive_requests** reads those batches' frozen manifests, downloads their objects once
   and writes every valid request with all kept fields, the `url_pattern` under the rules
   of the request's own batch, `source_key` and `batch_id`: one zstd file set per event
   hour (`requests/dt=…/hour=…/part-<interval>-N.parquet`), large row groups, no small files.
   A re-run replaces this interval's own files and no one else's; a finished interval is
   skipped unless `reprocess` is set.
3. **add_partitions** registers the new `requests` partitions in Glue.

**Backfill** and catch-up work as for ingest (`airflow backfill create --dag-id
edgesense_archive …` on Airflow 3, `airflow dags backfill edgesense_archive …` on 2.11).
Batches written by the ingest DAG of earlier versions (their plan names `requests/`
files) are left alone.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from edgesense import dag_helpers
from edgesense.compat import DeltaDataIntervalTimetable, Param, PokeReturnValue, dag, task

DAG_ID = "edgesense_archive"
INTERVAL = dag_helpers.archive_interval()
# Intervals start on multiples of their length since midnight (an hour: on the hour).
START_DATE = dag_helpers.floor_to(
    datetime.fromisoformat(os.environ.get("EDGESENSE_START_DATE", "2026-11-01T00:00:00+00:00")), INTERVAL
)


@dag(
    dag_id=DAG_ID,
    schedule=DeltaDataIntervalTimetable(INTERVAL),
    start_date=START_DATE,
    catchup=True,
    max_active_runs=2,
    dagrun_timeout=timedelta(hours=3),
    default_args=dag_helpers.default_args(3, 120, retry_exponential_backoff=True),
    params={
        "reprocess": Param(
            False,
            type="boolean",
            description="Rewrite this interval's requests files even if it was archived before.",
        ),
    },
    tags=["edgesense", "cdn-logs"],
    doc_md=__doc__,
    is_paused_upon_creation=True,
)
def edgesense_archive():
    @task.sensor(task_id="wait_for_batches", poke_interval=60, timeout=timedelta(hours=2), mode="reschedule")
    def wait_for_batches(data_interval_start=None, data_interval_end=None) -> PokeReturnValue:
        import logging

        from edgesense.tasks.archive import pending_batches
        from edgesense.tasks.ingest import resolve_interval

        interval = resolve_interval(None, data_interval_start, data_interval_end)
        waiting = pending_batches(dag_helpers.settings(), interval)
        if waiting:
            logging.getLogger(__name__).info("archive of %s waits: %s", interval, waiting)
        return PokeReturnValue(
            is_done=waiting is None, xcom_value=[interval.start.isoformat(), interval.end.isoformat()]
        )

    @task
    def archive_requests(bounds: list[str], params=None) -> dict:
        from edgesense.interval import Interval
        from edgesense.tasks.archive import archive_interval

        interval = Interval(datetime.fromisoformat(bounds[0]), datetime.fromisoformat(bounds[1]))
        summary = archive_interval(
            dag_helpers.settings(), interval, reprocess=bool((params or {}).get("reprocess"))
        )
        return {k: summary.get(k) for k in ("interval", "batches", "skipped", "rows", "partitions")}

    @task
    def add_partitions(summary: dict) -> dict:
        from edgesense.tasks.common import add_partitions_for

        return add_partitions_for(dag_helpers.settings(), "requests", summary.get("partitions") or [])

    add_partitions(archive_requests(wait_for_batches()))


dag_object = edgesense_archive()

if __name__ == "__main__":
    dag_object.test()
