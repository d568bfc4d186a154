"""``aggregate_batch``: one frozen batch to Parquet, rejects and its one CloudWatch plan.

Order matters for exactly-once. Everything is read and computed first (the objects the
batch counts, their lines, the rules, the budget); then the plan is created with a
conditional write. Only the run that created it writes the batch's Parquet and budget
volumes: a run that lost the race to a concurrent one adopts the winner's plan and
writes nothing, so the Parquet always matches the datums CloudWatch gets. Rejected-line
samples are written before a threshold failure, so that they exist to look at.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgesense import budget
from edgesense.aggregate import ReadOptions, SourceFile
from edgesense.aws.budget_store import VolumeStore
from edgesense.aws.clients import AwsClients
from edgesense.aws.plans import PlanStore, StoredPlan
from edgesense.aws.rules_store import Snapshots
from edgesense.aws.s3 import exists
from edgesense.aws.sources import BatchSource
from edgesense.config import Settings
from edgesense.metrics_path import MetricsAggregator
from edgesense.plan import Aggregated, BatchSummary, build_plan
from edgesense.rules import RuleSet
from edgesense.tasks.common import BatchFailed, batch_source, clients_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


class RejectThresholdExceeded(BatchFailed):
    """Too much of a batch was unreadable; nothing was published, the data is still in S3."""


class SourcesGone(BatchFailed):
    """Rebuilding a batch's Parquet needs its objects, and some have expired from the ingest bucket."""


def aggregate_batches(
    settings: Settings, batch_ids: list[str], rules_key: str, *, reprocess: bool = False,
    clients: AwsClients | None = None, rules_fallback: bool = False,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Aggregate each batch once (its plan is the proof); return each batch's summary (JSON)."""
    clients = clients_for(settings, clients)
    work = _Batches(settings, clients, rules_fallback)
    out: dict[str, dict[str, Any]] = {}
    for bid in batch_ids:
        stored = work.plans.get(bid)
        key, missing = rules_key, None
        if stored is not None and not reprocess:
            missing = [
                k for k in stored.plan.metrics_outputs if not exists(clients.s3, settings.store_bucket, k)
            ]
            if not missing:
                log.info("batch %s already aggregated (plan %s exists); nothing to do", bid,
                         stored.plan.plan_hash or "from before hashes")  # fmt: skip
                out[bid] = stored.plan.summary.to_json()
                continue
            # The run that created the plan died before its Parquet was complete: rebuild the
            # missing files with the rules of the plan, so that archive and CloudWatch agree
            # (plans from before rules_key: the current rules).
            key = stored.plan.rules_key or rules_key
            log.warning("batch %s: plan exists but %d output(s) are missing (e.g. %s); rebuilding them with "
                        "rules %s", bid, len(missing), missing[0], key)  # fmt: skip
        out[bid] = work.one(bid, key, stored, missing).to_json()
    return out


class _Batches:
    """The clients, stores and settings the batches of one task share."""

    def __init__(self, settings: Settings, clients: AwsClients, rules_fallback: bool) -> None:
        self.settings, self.s3, self.rules_fallback = settings, clients.s3, rules_fallback
        self.source: BatchSource = batch_source(settings, clients)
        self.plans = PlanStore(clients.s3, settings.store_bucket)
        self.snapshots = Snapshots(clients.s3, settings.store_bucket)

    def one(
        self, bid: str, rules_key: str, stored: StoredPlan | None, heal: list[str] | None
    ) -> BatchSummary:
        """Aggregate a new batch (``stored`` None), reprocess one, or ``heal`` its missing outputs."""
        settings = self.settings
        rules = self.snapshots.load(rules_key)
        objects = self.source.objects_of(self.source.load_manifest(bid))
        work = Path(tempfile.mkdtemp(prefix="edgesense-", dir=settings.work_dir or None))
        try:
            agg, local = self._compute(bid, objects, rules, work, stored)
            if heal is not None:
                # Only the files the plan names and S3 lacks; nothing is deleted, the plan stays.
                _upload(settings, self.s3, {k: f for k, f in local.items() if k in heal}, ())
                log.info("batch %s: rebuilt %d missing output(s)", bid, len(heal))
                return stored.plan.summary
            now = datetime.now(UTC)
            cw_rows, rolled, fold_in = _budget(settings, self.s3, bid, agg.minute_rows, now)
            plan = build_plan(settings, agg, now=now, rules_key=rules_key, rules_fallback=self.rules_fallback,
                              cloudwatch_rows=cw_rows, rolled=rolled)  # fmt: skip
            if plan.summary.datums_out_of_window:
                log.warning("batch %s: %d datum(s) outside CloudWatch's window (older than %s days or more than %s "
                            "h ahead) go to Parquet/Athena only", bid, plan.summary.datums_out_of_window,
                            settings.max_age_days, settings.max_future_hours)  # fmt: skip
            if stored is not None:
                # CloudWatch may already have (part of) this batch: its calls are frozen, only outputs change.
                plan = self.plans.rewrite(plan.keeping_calls_of(stored.plan), stored)
            else:
                plan, ours = self.plans.create(plan)
                if not ours:
                    log.warning("batch %s was aggregated at the same time by another run, which finished first: "
                                "adopting its plan %s and writing nothing of this run's", bid, plan.plan_hash)  # fmt: skip
                    return plan.summary
                if fold_in is not None:
                    fold_in()
            summary = self._quarantine(plan.summary, objects)
            _upload(settings, self.s3, local, stored.plan.metrics_outputs if stored else ())
            log.info(summary.sentence())
            return summary
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _compute(self, bid: str, objects: list[dict[str, Any]], rules: RuleSet, work: Path,
                 stored: StoredPlan | None) -> tuple[Aggregated, dict[str, Path]]:  # fmt: skip
        """Download and aggregate; write the reject samples (before a threshold failure) and the Parquet locally."""
        settings = self.settings
        arrived = {o["key"]: datetime.fromisoformat(o["last_modified"]) for o in objects}
        files, missing = self.source.fetcher.download(objects, work / "in")
        gone = [m["key"] for m in missing if m["reason"] == "object no longer exists"]
        if stored is not None and gone:
            raise SourcesGone(
                f"batch {bid}: {len(gone)} of its objects no longer exist in s3://{settings.ingest_bucket} (e.g. "
                f"{gone[0]}), so its Parquet cannot be rebuilt; nothing was changed"
            )
        with MetricsAggregator(ReadOptions.from_settings(settings), threads=settings.duckdb_threads,
                               memory_limit=settings.duckdb_memory_limit, temp_dir=work) as agg:  # fmt: skip
            result = agg.process([SourceFile(p, k, arrived[k]) for p, k in files], rules, batch_id=bid)
            result = dataclasses.replace(result, files_rejected=missing + result.files_rejected)
            _write_rejects(settings, self.s3, bid, agg)
            if result.reject_ratio > settings.reject_threshold:
                worst = "; ".join(f"{r['object_key']}: {r['n']} line(s) {r['reject_reason']}"
                                  for r in agg.rejects_by_object(5))  # fmt: skip
                raise RejectThresholdExceeded(
                    f"batch {bid}: {result.reject_ratio:.1%} of {result.lines_total} lines rejected, over the "
                    f"{settings.reject_threshold:.1%} threshold (EDGESENSE_REJECT_THRESHOLD). Worst: {worst}. "
                    f"Samples: s3://{settings.store_bucket}/{rejects_key(bid)}"
                )
            out_dir = work / "out"
            local = {f.relative_to(out_dir).as_posix(): f for fs in agg.write_parquet(out_dir, bid).values()
                     for f in fs}  # fmt: skip
            computed = Aggregated(batch_id=bid, objects=objects, result=result, minute_rows=agg.minute_metrics(),
                                  latency_rows=agg.latency_distribution(), outputs=sorted(local))  # fmt: skip
        return computed, local

    def _quarantine(self, summary: BatchSummary, objects: list[dict[str, Any]]) -> BatchSummary:
        """Move the batch's unreadable objects aside; the summary says where each went."""
        etags = {o["key"]: o["etag"] for o in objects}
        rejected = []
        for bad in summary.files_rejected:
            if bad["reason"] not in ("object no longer exists", "object changed since its batch was frozen"):
                bad = {**bad, "quarantined_to": self.source.fetcher.quarantine(bad["key"], bad["reason"],
                                                                               etags.get(bad["key"]))}  # fmt: skip
            log.warning("object %s rejected: %s", bad["key"], bad["reason"])
            rejected.append(bad)
        return dataclasses.replace(summary, files_rejected=rejected)


def rejects_key(bid: str) -> str:
    return f"rejects/dt={bid[:4]}-{bid[4:6]}-{bid[6:8]}/{bid}.jsonl.gz"


def _write_rejects(settings: Settings, client: S3Client, bid: str, agg: MetricsAggregator) -> None:
    sample = agg.reject_sample(settings.reject_sample_size)
    if not sample:
        return
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample).encode()
    client.put_object(Bucket=settings.store_bucket, Key=rejects_key(bid), Body=gzip.compress(body, mtime=0))


def _upload(settings: Settings, client: S3Client, local: dict[str, Path], old_outputs) -> None:
    for key, f in local.items():
        client.upload_file(str(f), settings.store_bucket, key)
    # A reprocessed batch may touch fewer files than before: remove its stale ones.
    for stale in sorted(set(old_outputs) - set(local)):
        client.delete_object(Bucket=settings.store_bucket, Key=stale)


def _budget(settings: Settings, client: S3Client, bid: str, minute_rows: list[dict[str, Any]], now: datetime
            ) -> tuple[list[dict[str, Any]], list[tuple[str, str]], Callable[[], None] | None]:  # fmt: skip
    """Roll patterns past the per-host budget into ``Other`` (CloudWatch only).

    Reads the volumes and ranks with this batch folded in; returns the rows for
    CloudWatch, the rolled patterns, and the write that folds the batch in for good, to
    be done only by the run whose plan wins.
    """
    if settings.max_patterns_per_host <= 0:
        return minute_rows, [], None
    window = timedelta(hours=settings.budget_window_hours)
    store = VolumeStore(client, settings.store_bucket)
    volumes = budget.add_batch(store.read(), minute_rows, now, window)
    rows, rolled = budget.apply(minute_rows, budget.allowed_patterns(volumes, settings.max_patterns_per_host),
                                settings.max_patterns_per_host)  # fmt: skip
    if rolled:
        log.warning("batch %s: %d pattern(s) past the budget of %d per host are published as %r: %s", bid,
                    len(rolled), settings.max_patterns_per_host, budget.OTHER,
                    ", ".join(f"{h}/{p}" for h, p in rolled))  # fmt: skip
    return rows, rolled, (lambda: store.update(lambda v: budget.add_batch(v, minute_rows, now, window)))
