"""Task bodies of the edgesense DAGs: core + AWS adapters, wired with provider hooks.

The DAG files only schedule and wire; everything they run is here, callable (and
tested) without a scheduler. Provider modules are imported inside functions so that
parsing a DAG file stays cheap and does no I/O.
"""

from __future__ import annotations

import gzip
import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edgesense.aggregate import Aggregator, BatchResult, SourceFile
from edgesense.config import Settings
from edgesense.metrics import build_datums, pack, pipeline_datums, sort_datums, split_by_window

log = logging.getLogger(__name__)

MAX_WINDOW = timedelta(days=1)


class RejectThresholdExceeded(Exception):
    """Too much of a batch was unreadable; nothing was published, the data is still in S3."""


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


def _parse_time(value: str, name: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"param {name}={value!r} is not an ISO 8601 date-time") from exc
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def resolve_interval(params: dict[str, Any] | None, start: datetime | None, end: datetime | None):
    """The run's interval: the ``window_start``/``window_end`` params if given, else the data interval."""
    from edgesense.aws.sources import Interval

    params = params or {}
    ws, we = params.get("window_start"), params.get("window_end")
    if bool(ws) != bool(we):
        raise ValueError("give both window_start and window_end, or neither")
    if ws:
        interval = Interval(_parse_time(ws, "window_start"), _parse_time(we, "window_end"))
        if interval.end - interval.start > MAX_WINDOW:
            raise ValueError(f"a window may span at most {MAX_WINDOW}; use a backfill for more")
        return interval
    if start is None or end is None:
        raise ValueError("no data interval and no window params")
    return Interval(start, end)


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
    from edgesense.aws.sources import BatchSource

    return BatchSource(
        hooks.s3,
        ingest_bucket=settings.ingest_bucket,
        store_bucket=settings.store_bucket,
        key_layout=settings.key_layout,
        lookback=timedelta(minutes=settings.prefix_lookback_minutes),
        shard_bytes=int(settings.shard_mb * 1024 * 1024),
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


# -- aggregate ------------------------------------------------------------------------------


def aggregate_batches(
    settings: Settings, batch_ids: list[str], rules_key: str, *, reprocess: bool = False,
    hooks: Hooks | None = None, rules_fallback: bool = False,
) -> dict[str, Any]:  # fmt: skip
    from edgesense.aws.publish import Publisher
    from edgesense.aws.rules_store import Snapshots

    hooks = hooks or Hooks.create(settings)
    client = hooks.s3.get_conn()
    rules = Snapshots(client, settings.store_bucket).load(rules_key)
    source = _source(settings, hooks)
    publisher = Publisher(None, client, settings.store_bucket)
    out: dict[str, Any] = {}
    for bid in batch_ids:
        plan = publisher.load_plan(bid)
        if plan is not None and not reprocess:
            log.info("batch %s already aggregated (plan exists); nothing to do", bid)
            out[bid] = plan["summary"]
            continue
        # Once a plan exists its calls are frozen: a publish may be under way or done.
        keep_calls = plan is not None
        out[bid] = _aggregate_one(
            settings, bid, source, rules, publisher, client, plan, keep_calls, rules_fallback
        )
    return out


def _aggregate_one(
    settings, bid, source, rules, publisher, client, old_plan, keep_calls, rules_fallback
) -> dict[str, Any]:
    manifest = source.load_manifest(bid)
    work = Path(tempfile.mkdtemp(prefix="edgesense-", dir=settings.work_dir or None))
    try:
        files, missing = source.download(manifest, work / "in")
        with Aggregator(
            threads=settings.duckdb_threads,
            memory_limit=settings.duckdb_memory_limit,
            temp_dir=work,
            structured_fields=settings.structured_field_list,
            unmatched=settings.effective_unmatched,
            unmatched_top=settings.unmatched_top,
        ) as agg:
            result = agg.process([SourceFile(p, k) for p, k in files], rules, batch_id=bid)
            result.files_rejected = missing + result.files_rejected
            _write_rejects(settings, client, bid, agg)
            if result.reject_ratio > settings.reject_threshold:
                worst = "; ".join(f"{r['object_key']}: {r['n']} line(s) {r['reject_reason']}"
                                  for r in agg.rejects_by_object(5))  # fmt: skip
                raise RejectThresholdExceeded(
                    f"batch {bid}: {result.reject_ratio:.1%} of {result.lines_total} lines rejected, over the "
                    f"{settings.reject_threshold:.1%} threshold (EDGESENSE_REJECT_THRESHOLD). Worst: {worst}. "
                    f"Samples: s3://{settings.store_bucket}/{_rejects_key(bid)}"
                )
            for bad in result.files_rejected:
                if bad["reason"] != "object no longer exists":
                    bad["quarantined_to"] = source.quarantine(bad["key"], bad["reason"])
                log.warning("object %s rejected: %s", bad["key"], bad["reason"])
            written = _upload_parquet(settings, client, bid, agg, work / "out", old_plan)
            minute_rows = agg.minute_metrics()
            latency_rows = agg.latency_distribution()
        plan = _make_plan(settings, client, bid, manifest, result, minute_rows, latency_rows, written,
                          rules_fallback)  # fmt: skip
        if keep_calls:
            # CloudWatch already has (part of) this batch: its calls are frozen, only outputs change.
            plan["calls"] = old_plan["calls"]
            for k in ("datums", "calls", "datums_out_of_window"):
                plan["summary"][k] = old_plan["summary"][k]
        publisher.save_plan(bid, plan)
        log.info("batch %s: %s", bid, json.dumps(plan["summary"], sort_keys=True))
        return plan["summary"]
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def _rejects_key(bid: str) -> str:
    return f"rejects/dt={bid[:4]}-{bid[4:6]}-{bid[6:8]}/{bid}.jsonl.gz"


def _write_rejects(settings: Settings, client, bid: str, agg: Aggregator) -> None:
    sample = agg.reject_sample(settings.reject_sample_size)
    if not sample:
        return
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample).encode()
    client.put_object(Bucket=settings.store_bucket, Key=_rejects_key(bid), Body=gzip.compress(body, mtime=0))


def _upload_parquet(settings, client, bid, agg: Aggregator, out: Path, old_plan) -> list[str]:
    written = agg.write_parquet(out, bid)
    keys = []
    for files in written.values():
        for f in files:
            key = f.relative_to(out).as_posix()
            client.upload_file(str(f), settings.store_bucket, key)
            keys.append(key)
    # A reprocessed batch may touch fewer files than before: remove its stale ones.
    for stale in set((old_plan or {}).get("outputs", ())) - set(keys):
        client.delete_object(Bucket=settings.store_bucket, Key=stale)
    return sorted(keys)


def _apply_budget(settings: Settings, client, bid: str, minute_rows, now: datetime):
    """Roll patterns past the per-host budget into ``Other`` (CloudWatch only)."""
    from edgesense import budget
    from edgesense.aws.budget_store import VolumeStore

    if settings.max_patterns_per_host <= 0:
        return minute_rows, []
    window = timedelta(hours=settings.budget_window_hours)
    volumes = VolumeStore(client, settings.store_bucket).update(
        lambda v: budget.add_batch(v, minute_rows, now, window)
    )
    rows, rolled = budget.apply(minute_rows, budget.allowed_patterns(volumes, settings.max_patterns_per_host),
                                settings.max_patterns_per_host)  # fmt: skip
    if rolled:
        log.warning("batch %s: %d pattern(s) past the budget of %d per host are published as %r: %s", bid,
                    len(rolled), settings.max_patterns_per_host, budget.OTHER,
                    ", ".join(f"{h}/{p}" for h, p in rolled))  # fmt: skip
    return rows, rolled


def _make_plan(settings, client, bid, manifest, result: BatchResult, minute_rows, latency_rows, written,
               rules_fallback) -> dict[str, Any]:  # fmt: skip
    from edgesense.aws.catalog import partitions_of

    now = datetime.now(UTC)
    cw_rows, rolled = _apply_budget(settings, client, bid, minute_rows, now)
    datums = build_datums(cw_rows, latency_rows, shape=settings.metrics_shape,
                          unmatched=settings.effective_unmatched)  # fmt: skip
    keep, skipped = split_by_window(
        datums, now, max_age=timedelta(days=settings.max_age_days),
        max_future=timedelta(hours=settings.max_future_hours),
    )  # fmt: skip
    if skipped:
        log.warning("batch %s: %d datum(s) outside CloudWatch's window (older than %s days or more than %s h "
                    "ahead) go to Parquet/Athena only", bid, len(skipped), settings.max_age_days,
                    settings.max_future_hours)  # fmt: skip
    arrivals = [datetime.fromisoformat(o["last_modified"]) for o in manifest["objects"]]
    health = {
        "LinesProcessed": result.lines_valid,
        "LinesRejected": result.lines_rejected,
        "FilesProcessed": result.files_processed,
        "FilesRejected": len(result.files_rejected),
        "RulesRejected": len(result.rules_rejected),
        "DatumsOutOfWindow": len(skipped),
        "IngestLagSeconds": max((now - t).total_seconds() for t in arrivals) if arrivals else 0.0,
    }
    if rules_fallback:
        health["RulesSnapshotFallback"] = 1
    if settings.max_patterns_per_host > 0:
        health["PatternsOverBudget"] = len(rolled)
    calls = pack(settings.effective_namespace, sort_datums(keep))
    calls += pack(settings.pipeline_namespace, pipeline_datums(health, now))
    requests_total = sum(r["requests"] for r in minute_rows)
    return {
        "batch_id": bid,
        "created_at": now.isoformat(),
        "calls": [c.to_json() for c in calls],
        "outputs": written,
        "summary": {
            "batch_id": bid,
            "objects": len(manifest["objects"]),
            "requests": requests_total,
            "datums": sum(len(c.datums) for c in calls),
            "datums_out_of_window": len(skipped),
            "calls": len(calls),
            "partitions": sorted(list(p) for p in partitions_of(written)["requests"]),
            **result.as_report(),
        },
    }


# -- publish and catalog --------------------------------------------------------------------


def publish_batches(
    settings: Settings, batch_ids: list[str], *, hooks: Hooks | None = None
) -> dict[str, Any]:
    from edgesense.aws.publish import Publisher

    hooks = hooks or Hooks.create(settings, cw=True)
    pub = Publisher(
        hooks.cloudwatch.client,
        hooks.s3.get_conn(),
        settings.store_bucket,
        base_delay=settings.publish_base_delay,
        max_attempts=settings.publish_max_attempts,
    )
    out = {}
    for bid in batch_ids:
        plan = pub.load_plan(bid)
        if plan is None:
            raise RuntimeError(f"batch {bid} has no plan; run aggregate_batch first")
        out[bid] = pub.publish(bid, plan)
    return out


def update_partitions(
    settings: Settings, batch_ids: list[str], *, hooks: Hooks | None = None
) -> dict[str, Any]:
    """Register the Glue partitions of every table the batches wrote to."""
    from edgesense.aws.catalog import partitions_of
    from edgesense.aws.publish import Publisher

    hooks = hooks or Hooks.create(settings, glue=True)
    pub = Publisher(None, hooks.s3.get_conn(), settings.store_bucket)
    keys = [k for bid in batch_ids for k in (pub.load_plan(bid) or {}).get("outputs", ())]
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
                for stale in sorted(old - set(written)):  # e.g. a batch whose requests all moved away
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
