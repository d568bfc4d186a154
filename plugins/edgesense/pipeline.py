"""Task bodies of the edgesense DAGs: core + AWS adapters, wired with provider hooks.

The DAG files only schedule and wire; everything they run is here, callable (and
tested) without a scheduler. Provider modules are imported inside functions so that
parsing a DAG file stays cheap and does no I/O.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edgesense.batch_task import BatchFailed, RejectThresholdExceeded, aggregate_batches
from edgesense.config import Settings

__all__ = [
    "BatchFailed",
    "RejectThresholdExceeded",
    "aggregate_batches",
]  # the aggregate task lives in batch_task

log = logging.getLogger(__name__)


@dataclass
class Hooks:
    """The provider hooks of one task, all on the same ``aws_conn_id``."""

    s3: Any
    dynamodb: Any = None
    glue: Any = None
    cloudwatch: Any = None

    @classmethod
    def create(
        cls, settings: Settings, *, dynamodb: bool = False, glue: bool = False, cw: bool = False
    ) -> Hooks:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hooks = cls(s3=S3Hook(aws_conn_id=settings.aws_conn_id))
        if dynamodb:
            from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook

            hooks.dynamodb = DynamoDBHook(aws_conn_id=settings.aws_conn_id)
        if glue:
            from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook

            hooks.glue = GlueCatalogHook(aws_conn_id=settings.aws_conn_id)
        if cw:
            from edgesense.aws.publish import CloudWatchMetricsHook

            hooks.cloudwatch = CloudWatchMetricsHook(aws_conn_id=settings.aws_conn_id)
        return hooks


# -- interval -------------------------------------------------------------------------------


def resolve_interval(params: dict[str, Any] | None, start: datetime | None, end: datetime | None):
    """The run's interval (see :func:`edgesense.interval.resolve`); bad params raise ParamError."""
    from edgesense.interval import resolve

    return resolve(params, start, end)


# -- rules ----------------------------------------------------------------------------------


def sync_rules(settings: Settings, hooks: Hooks | None = None) -> dict[str, Any]:
    """Read the rules table, validate, pin a content-addressed snapshot; fall back to the last one."""
    from botocore.exceptions import BotoCoreError, ClientError

    from edgesense.aws.rules_store import RulesStore, Snapshots

    hooks = hooks or Hooks.create(settings, dynamodb=True)
    snaps = Snapshots(hooks.s3.get_conn(), settings.store_bucket)
    try:
        rules = RulesStore.from_hook(hooks.dynamodb, settings.rules_table).read()
    except (BotoCoreError, ClientError) as exc:
        last = snaps.latest()
        if last is None:
            raise RuntimeError(
                f"rules table {settings.rules_table} is unreadable ({exc}) and no earlier snapshot exists"
            ) from exc
        key, rules = last
        log.warning(
            "rules table %s unreadable (%s); using last good snapshot %s", settings.rules_table, exc, key
        )
        return _rules_summary(key, rules, reused=True, fallback=True)
    key, reused = snaps.save(rules)
    log.info("rules version %s (%d rules, %d rejected)%s", rules.version, len(rules.rules),
             len(rules.rejected), ", snapshot reused" if reused else "")  # fmt: skip
    return _rules_summary(key, rules, reused=reused, fallback=False)


def _rules_summary(key: str, rules, *, reused: bool, fallback: bool) -> dict[str, Any]:
    return {
        "key": key,
        "version": rules.version,
        "rules": len(rules.rules),
        "rejected": [{"rule_id": r.rule_id, "reason": r.reason} for r in rules.rejected],
        "reused": reused,
        "fallback": fallback,
    }


# -- sources --------------------------------------------------------------------------------


def _source(settings: Settings, hooks: Hooks):
    from edgesense.aws.downloads import InflateLimits
    from edgesense.aws.sources import BatchSource

    return BatchSource(
        hooks.s3,
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


def settled_at(interval_end: datetime, settle_seconds: int) -> datetime:
    return interval_end + timedelta(seconds=settle_seconds)


def claim_batches(
    settings: Settings, interval, *, prefix: str | None = None, now: datetime | None = None,
    hooks: Hooks | None = None, wait_up_to: float = 0.0, sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | None:  # fmt: skip
    """None until the interval has settled; then freeze its objects into batches.

    If it settles within ``wait_up_to`` seconds, wait here instead: a sensor's reschedule
    costs a poke interval plus a task start, which is most of the metric latency.
    """
    now = now or datetime.now(UTC)
    ready = settled_at(interval.end, settings.settle_seconds)
    remaining = (ready - now).total_seconds()
    if 0 < remaining <= wait_up_to:
        log.info("interval settles in %.1f s; waiting here rather than rescheduling", remaining)
        sleep(remaining)
    elif remaining > 0:
        log.info("interval ends %s; waiting until %s for uploads in flight to land", interval.end, ready)
        return None
    hooks = hooks or Hooks.create(settings)
    claimed = _source(settings, hooks).claim(interval, prefix=prefix or None)
    claimed["interval"] = [interval.start.isoformat(), interval.end.isoformat()]
    return claimed


# -- publish and catalog --------------------------------------------------------------------


def publish_batches(
    settings: Settings, batch_ids: list[str], *, hooks: Hooks | None = None
) -> dict[str, Any]:
    from edgesense.aws.plans import PlanStore
    from edgesense.aws.publish import Publisher

    hooks = hooks or Hooks.create(settings, cw=True)
    plans = PlanStore(hooks.s3.get_conn(), settings.store_bucket)
    pub = Publisher(
        hooks.cloudwatch.client,
        hooks.s3.get_conn(),
        settings.store_bucket,
        base_delay=settings.publish_base_delay,
        max_attempts=settings.publish_max_attempts,
    )
    out = {}
    for bid in batch_ids:
        plan = plans.load(bid)
        if plan is None:
            raise RuntimeError(f"batch {bid} has no plan; run aggregate_batch first")
        out[bid] = pub.publish(bid, plan)
    return out


def update_partitions(
    settings: Settings, batch_ids: list[str], *, hooks: Hooks | None = None
) -> dict[str, Any]:
    """Register the Glue partitions of every table the batches wrote to."""
    from edgesense.aws.catalog import partitions_of
    from edgesense.aws.plans import PlanStore

    hooks = hooks or Hooks.create(settings, glue=True)
    plans = PlanStore(hooks.s3.get_conn(), settings.store_bucket)
    keys = [k for bid in batch_ids for k in (plans.load(bid) or {}).get("outputs", ())]
    return {
        t: add_partitions_for(settings, t, sorted(p), hooks=hooks) for t, p in partitions_of(keys).items()
    }


# -- re-label history -----------------------------------------------------------------------


def relabel_days(settings: Settings, first_day: str, last_day: str, rules_key: str, *,
                 hooks: Hooks | None = None) -> dict[str, Any]:  # fmt: skip
    """Rebuild ``minute_metrics`` for [first_day, last_day] from ``requests`` with the given rules.

    Never touches CloudWatch: datapoints there cannot be changed, only added to.
    """
    import shutil
    from datetime import date

    from edgesense.aws import download_keys, list_keys
    from edgesense.aws.catalog import output_key_shape, partitions_of
    from edgesense.aws.rules_store import Snapshots
    from edgesense.relabel import History

    hooks = hooks or Hooks.create(settings)
    client = hooks.s3.get_conn()
    rules = Snapshots(client, settings.store_bucket).load(rules_key)
    d0, d1 = date.fromisoformat(first_day), date.fromisoformat(last_day)
    if d1 < d0 or (d1 - d0).days > 366:
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
                rewritten = {_batch_of(k) for k in written}
                for stale in sorted(k for k in old - set(written) if _batch_of(k) in rewritten):
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


def _batch_of(key: str) -> str:
    """The batch id in ``…/part-<batch>-<n>.parquet``."""
    return key.rsplit("/", 1)[-1].removeprefix("part-").rsplit("-", 1)[0]


def add_partitions_for(settings: Settings, table: str, partitions: list[list[str]], *,
                       hooks: Hooks | None = None) -> dict[str, int]:  # fmt: skip
    from edgesense.aws.catalog import Catalog

    hooks = hooks or Hooks.create(settings, glue=True)
    catalog = Catalog(hooks.glue, database=settings.glue_database, store_bucket=settings.store_bucket)
    return catalog.add_partitions(table, [tuple(p) for p in partitions])


# -- setup ----------------------------------------------------------------------------------


def ensure_catalog(settings: Settings, *, hooks: Hooks | None = None) -> list[str]:
    """Create or update the Glue database and tables (safe to repeat)."""
    from edgesense.aws.catalog import Catalog

    hooks = hooks or Hooks.create(settings, glue=True)
    done = Catalog(hooks.glue, database=settings.glue_database, store_bucket=settings.store_bucket).ensure()
    for line in done:
        log.info("%s", line)
    return done


def seed_rules(settings: Settings, *, hooks: Hooks | None = None) -> int:
    """Seed the original's sample rules, only into an empty table."""
    from edgesense.aws.rules_store import RulesStore

    hooks = hooks or Hooks.create(settings, dynamodb=True)
    seeded = RulesStore.from_hook(hooks.dynamodb, settings.rules_table).seed_samples()
    log.info("seeded %d sample rule(s)" if seeded else "rules table %s is not empty; nothing seeded",
             seeded or settings.rules_table)  # fmt: skip
    return seeded
