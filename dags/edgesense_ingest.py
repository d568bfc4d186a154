"""
### edgesense_ingest: one minute of CDN logs to CloudWatch, Parquet and Athena (Airflow DAG)

Every minute, for the data interval `[start, end)`:

1. **sync_rules** reads the URL-pattern rules from DynamoDB, validates them (RE2) and pins
   a snapshot in S3 named by its content hash. If DynamoDB is unreachable the last good
   snapshot is used, with a warning and the `RulesSnapshotFallback` pipeline metric.
2. **wait_for_batch** (a reschedule-mode sensor) waits until the interval has *settled*
   (`EDGESENSE_SETTLE_SECONDS` after its end, for uploads in flight; the last few seconds,
   up to one poke interval, are waited in place, which beats a reschedule), then claims the
   objects of the ingest bucket whose **LastModified** lies in the interval, listing only
   the folders the key layout allows. The claim is frozen into batch manifests, one per
   shard of at most `EDGESENSE_SHARD_MB`, and each object (bucket, key, ETag) is recorded
   once in the object index, so each object is counted by exactly one batch, even when it
   is delivered again or two runs overlap. No lock is taken: a killed claim blocks nobody.
   An interval with no new objects skips the rest.
3. **aggregate_batch** (one mapped task per shard, at most 8 at once per run; on Airflow
   2.11 one task taking the shards in turn, since 2.11's backfill cannot run mapped tasks)
   is the metrics path: one narrow DuckDB scan of the objects (DS2 JSON and DS1 raw,
   detected per object) reduced straight to per-minute sums; only objects with a line
   that is not a valid request, a damaged gzip, or DS2 structured logs go line by line,
   where every reject is named and sampled to `rejects/` and corrupt objects and gzip
   bombs are quarantined. It names URL patterns once per distinct path, writes
   `minute_metrics/` and `unmatched_paths/` Parquet (Hive partitions `dt`/`hour` by
   **event time**) and freezes the CloudWatch datums into the batch's one plan, created
   with a conditional write (a run that loses that race adopts the winner's plan and
   writes nothing; patterns past `EDGESENSE_MAX_PATTERNS_PER_HOST` become `Other`).
   It logs one sentence per batch (objects, valid and rejected lines, datums, calls, rules
   version; the JSON summary is its return value) and fails, naming files and reasons,
   only if the reject ratio passes `EDGESENSE_REJECT_THRESHOLD`. The `requests/` archive is written by `edgesense_archive`,
   hourly, from the same frozen batches.
4. **publish_metrics** (mapped like aggregate_batch; pool `edgesense_cloudwatch`: create it
   once with `airflow pools set edgesense_cloudwatch 4 "CloudWatch"`) sends the plan's calls that the
   ledger has not recorded yet: retries, clears, re-runs and backfills never double count.
   A call whose fate is unknown (the worker died mid-call) is never re-sent; the log names
   its minutes and metrics.
5. **add_partitions** registers new Glue partitions (BatchCreatePartition).

**Params** (manual triggers): `window_start`/`window_end` (ISO 8601 in whole seconds; a
time without a zone is UTC; both or neither) **win over the run's Data Interval**, which is
then ignored. The form and the REST API refuse a time not written as ISO 8601 in whole
seconds; a window that ends before
it starts, spans more than 1 day (use a backfill), ends more than 5 minutes from now or
starts more than 366 days ago fails the run's first task at once, without retries, saying
which param is wrong. Every task's first log line is the window it processed. A manual
window equal to a scheduled interval maps over the batches that run froze (the log says
so); their one plan and ledger mean nothing is counted twice. `prefix` (an S3 key prefix
of the ingest bucket, never a path) replaces the key layout's folders; a run that finds
nothing says which prefix or folders it listed and how many keys they held. `reprocess`
rebuilds the `minute_metrics`/`unmatched_paths` Parquet of already aggregated batches
(CloudWatch is never re-sent; `edgesense_archive` has its own `reprocess` for `requests/`).

**Backfill** by arrival minute: `airflow backfill create --dag-id edgesense_ingest
--from-date … --to-date …` on Airflow 3 (the scheduler runs them, and only while this DAG is
unpaused), `airflow dags backfill edgesense_ingest -s … -e …` on 2.11. Repeating a backfill
(`--reprocess-behavior completed`, `--reset-dagruns`) never changes a CloudWatch sum.

**Connection**: `aws_default` (or `EDGESENSE_AWS_CONN_ID`). Settings: `EDGESENSE_*`
environment variables, see the README's configuration table.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from edgesense import dag_helpers
from edgesense.compat import (
    AIRFLOW_V3,
    AirflowFailException,
    AirflowSkipException,
    DeltaDataIntervalTimetable,
    Param,
    PokeReturnValue,
    chain,
    dag,
    task,
)
from edgesense.interval import PREFIX_PATTERN, WINDOW_PATTERN

log = logging.getLogger(__name__)

DAG_ID = "edgesense_ingest"
# One mapped aggregate/publish task per shard on Airflow 3. On 2.11 one task takes the run's
# shards in turn: 2.11's `airflow dags backfill` loses dynamically mapped task instances and
# reports a deadlock (its BackfillJob, not the scheduler), so mapping would break backfills.
MAP_SHARDS = AIRFLOW_V3
CLOUDWATCH_POOL = "edgesense_cloudwatch"
POKE_SECONDS = 15

# catchup=True is deliberate: a missed interval's objects are only ever claimed by that
# interval's run, so after an outage the scheduler must run every interval it missed.
START_DATE = datetime.fromisoformat(os.environ.get("EDGESENSE_START_DATE", "2026-11-01T00:00:00+00:00"))

default_args = dag_helpers.default_args(
    3, 30, retry_exponential_backoff=True, execution_timeout=timedelta(minutes=10)
)

WINDOW_HELP = (
    "ISO 8601 in whole seconds, e.g. 2026-12-01T07:00:00Z; a time without a zone is UTC. Give both "
    "window_start and window_end, or neither. When given, they win over the run's Data Interval, "
    "which is then ignored (the task logs say which window ran)."
)
params = {
    "window_start": Param(
        None, type=["null", "string"], pattern=WINDOW_PATTERN, title="Window start (UTC)",
        description=f"Start of a manual window, inclusive. {WINDOW_HELP}",
    ),
    "window_end": Param(
        None, type=["null", "string"], pattern=WINDOW_PATTERN, title="Window end (UTC)",
        description=f"End of a manual window, exclusive: at most 1 day after window_start and at most 5 minutes "
        f"from now. {WINDOW_HELP}",
    ),
    "prefix": Param(
        None, type=["null", "string"], maxLength=1024, pattern=PREFIX_PATTERN,
        description="List only this S3 key prefix of the ingest bucket (e.g. logs/2026/12/01/07/) instead of "
        "the key layout's folders. A key prefix, never a path: no leading '/', no s3://bucket/.",
    ),
    "reprocess": Param(
        False, type="boolean",
        description="Rebuild minute_metrics and unmatched_paths Parquet for batches already aggregated "
        "(requests/ is edgesense_archive's: reprocess there). CloudWatch is never re-sent.",
    ),
}  # fmt: skip


def processing_window(params, start, end, *, with_prefix: bool = False, claimed: bool = True):
    """The run's window, logged as each task's first line (the UI's Data Interval may not be
    what ran); params that can never work fail the task at once, without retries. Once the
    window is ``claimed``, its age is not checked again (a later clear must still work)."""
    from edgesense.interval import ParamError, check_prefix
    from edgesense.tasks.ingest import resolve_interval

    try:
        interval = resolve_interval(params, start, end, check_clock=not claimed)
        return (interval, check_prefix((params or {}).get("prefix"))) if with_prefix else interval
    except ParamError as exc:
        raise AirflowFailException(str(exc)) from exc


@dag(
    dag_id=DAG_ID,
    # A data-interval timetable: each run owns [start, start + 1 min). (A bare timedelta
    # gives zero-length intervals on Airflow 3.)
    schedule=DeltaDataIntervalTimetable(timedelta(minutes=1)),
    start_date=START_DATE,
    catchup=True,
    max_active_runs=int(os.environ.get("EDGESENSE_MAX_ACTIVE_RUNS", "4")),
    dagrun_timeout=timedelta(minutes=30),
    default_args=default_args,
    params=params,
    tags=["edgesense", "cdn-logs", "cloudwatch"],
    doc_md=__doc__,
    is_paused_upon_creation=True,
)
def edgesense_ingest():
    @task
    def sync_rules(params=None, data_interval_start=None, data_interval_end=None) -> dict:
        from edgesense.tasks.ingest import sync_rules

        processing_window(params, data_interval_start, data_interval_end, claimed=False)  # bad ones fail now
        return sync_rules(dag_helpers.settings())

    @task.sensor(
        task_id="wait_for_batch", poke_interval=POKE_SECONDS, timeout=timedelta(minutes=15), mode="reschedule"
    )
    def wait_for_batch(params=None, data_interval_start=None, data_interval_end=None) -> PokeReturnValue:
        from edgesense.tasks.ingest import claim_batches, no_new_objects

        interval, prefix = processing_window(
            params, data_interval_start, data_interval_end, with_prefix=True, claimed=False
        )
        claimed = claim_batches(dag_helpers.settings(), interval, prefix=prefix, wait_up_to=POKE_SECONDS)
        if claimed is not None and not claimed["batches"]:
            log.info("%s; the rest of the run is skipped", no_new_objects(claimed, prefix))
        # The batch ids are what the aggregate tasks are mapped over: one task per shard.
        return PokeReturnValue(
            is_done=claimed is not None, xcom_value=claimed["batches"] if claimed else None
        )

    def aggregate(batch_ids: list[str], rules: dict, params) -> list[dict]:
        from edgesense.tasks.aggregate import BatchFailed, aggregate_batches

        try:
            summaries = aggregate_batches(
                dag_helpers.settings(), batch_ids, rules["key"],
                reprocess=bool((params or {}).get("reprocess")), rules_fallback=rules["fallback"],
            )  # fmt: skip
        except BatchFailed as exc:  # too many bad lines, or a rebuild without its sources
            raise AirflowFailException(str(exc)) from exc  # retrying cannot fix these
        return [{"batch": b, "summary": summaries[b]} for b in batch_ids]

    def publish(aggregated: list[dict]) -> dict:
        from edgesense.plan import PlanConflict
        from edgesense.tasks.ingest import publish_batches

        try:
            return publish_batches(dag_helpers.settings(), [a["batch"] for a in aggregated])
        except PlanConflict as exc:  # a plan or ledger not ours: sending anything could double count
            raise AirflowFailException(str(exc)) from exc

    @task
    def add_partitions(
        aggregated: list, params=None, data_interval_start=None, data_interval_end=None
    ) -> dict:
        from edgesense.tasks.ingest import update_partitions

        processing_window(params, data_interval_start, data_interval_end)
        # One slice, not iteration: iterating a mapped task's results asks for one item past
        # the end, which the API server logs as "XCom not found" on every run.
        return update_partitions(dag_helpers.settings(), [a["batch"] for a in aggregated[:]])

    rules = sync_rules()
    batches = wait_for_batch()
    chain(rules, batches)
    if MAP_SHARDS:

        @task(task_id="aggregate_batch", max_active_tis_per_dagrun=8)
        def aggregate_shard(batch_id: str, rules: dict, params=None, data_interval_start=None,
                            data_interval_end=None) -> dict:  # fmt: skip
            processing_window(params, data_interval_start, data_interval_end)
            return aggregate([batch_id], rules, params)[0]

        @task(task_id="publish_metrics", pool=CLOUDWATCH_POOL)
        def publish_shard(
            aggregated: dict, params=None, data_interval_start=None, data_interval_end=None
        ) -> dict:
            processing_window(params, data_interval_start, data_interval_end)
            return publish([aggregated])

        aggregated = aggregate_shard.partial(rules=rules).expand(batch_id=batches)
        publish_shard.expand(aggregated=aggregated)
        add_partitions(aggregated)
    else:

        @task(task_id="aggregate_batch")
        def aggregate_shards(batch_ids: list[str], rules: dict, params=None, data_interval_start=None,
                             data_interval_end=None) -> list[dict]:  # fmt: skip
            processing_window(params, data_interval_start, data_interval_end)
            if not batch_ids:
                raise AirflowSkipException("no new objects in this run's window (see wait_for_batch's log)")
            return aggregate(batch_ids, rules, params)

        @task(task_id="publish_metrics", pool=CLOUDWATCH_POOL)
        def publish_shards(aggregated: list[dict], params=None, data_interval_start=None,
                           data_interval_end=None) -> dict:  # fmt: skip
            processing_window(params, data_interval_start, data_interval_end)
            return publish(aggregated)

        aggregated = aggregate_shards(batches, rules)
        publish_shards(aggregated)
        add_partitions(aggregated)


dag_object = edgesense_ingest()

if __name__ == "__main__":
    dag_object.test()
