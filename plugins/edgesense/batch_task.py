"""``aggregate_batch``: one frozen batch to Parquet, rejects and its one CloudWatch plan.

Order matters for exactly-once. Everything is read and computed first (the objects the
batch counts, their lines, the rules, the budget); then the plan is created with a
conditional write. Only the run that created it writes the batch's Parquet and budget
volumes: a run that lost the race to a concurrent one adopts the winner's plan and
writes nothing, so the Parquet always matches the datums CloudWatch gets. Rejected-line
samples are written before a threshold failure, so that they exist to look at.
"""

from __future__ import annotations

import gzip
import json
import logging
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edgesense.aggregate import BatchResult, SourceFile
from edgesense.config import Settings
from edgesense.metrics import build_datums, pack, pipeline_datums, sort_datums, split_by_window
from edgesense.metrics_path import MetricsAggregator

log = logging.getLogger(__name__)


class BatchFailed(Exception):
    """A batch that no retry can fix: the DAG fails the task at once."""


class RejectThresholdExceeded(BatchFailed):
    """Too much of a batch was unreadable; nothing was published, the data is still in S3."""


class SourcesGone(BatchFailed):
    """Rebuilding a batch's Parquet needs its objects, and some have expired from the ingest bucket."""


def aggregate_batches(
    settings: Settings, batch_ids: list[str], rules_key: str, *, reprocess: bool = False,
    hooks: Any = None, rules_fallback: bool = False,
) -> dict[str, Any]:  # fmt: skip
    from edgesense.aws import exists
    from edgesense.aws.plans import PlanStore
    from edgesense.aws.rules_store import Snapshots
    from edgesense.pipeline import Hooks, _source

    hooks = hooks or Hooks.create(settings)
    client = hooks.s3.get_conn()
    snapshots = Snapshots(client, settings.store_bucket)
    source = _source(settings, hooks)
    plans = PlanStore(client, settings.store_bucket)
    out: dict[str, Any] = {}
    for bid in batch_ids:
        stored = plans.get(bid)
        key, missing = rules_key, None
        if stored is not None and not reprocess:
            # (requests/ files named by plans from before the archive DAG are the archive's now)
            missing = [
                k for k in stored.doc.get("outputs", ())
                if not k.startswith("requests/") and not exists(client, settings.store_bucket, k)
            ]  # fmt: skip
            if not missing:
                log.info("batch %s already aggregated (plan %s exists); nothing to do", bid,
                         stored.doc.get("plan_hash", "from before hashes"))  # fmt: skip
                out[bid] = stored.doc["summary"]
                continue
            # The run that created the plan died before its Parquet was complete: rebuild the
            # missing files with the rules of the plan, so that archive and CloudWatch agree
            # (plans from before rules_key: the current rules).
            key = stored.doc.get("rules_key", rules_key)
            log.warning("batch %s: plan exists but %d output(s) are missing (e.g. %s); rebuilding them with "
                        "rules %s", bid, len(missing), missing[0], key)  # fmt: skip
        out[bid] = _aggregate_one(settings, bid, source, snapshots.load(key), key, plans, client, stored,
                                  rules_fallback, missing)  # fmt: skip
    return out


def _aggregate_one(
    settings, bid, source, rules, rules_key, plans, client, stored, rules_fallback, heal: list[str] | None
) -> dict[str, Any]:
    """Aggregate a new batch (``stored`` None), reprocess one, or ``heal`` its missing outputs."""
    manifest = source.load_manifest(bid)
    objects = source.objects_of(manifest)
    arrived = {o["key"]: datetime.fromisoformat(o["last_modified"]) for o in objects}
    work = Path(tempfile.mkdtemp(prefix="edgesense-", dir=settings.work_dir or None))
    try:
        files, missing = source.fetcher.download(objects, work / "in")
        gone = [m["key"] for m in missing if m["reason"] == "object no longer exists"]
        if stored is not None and gone:
            raise SourcesGone(
                f"batch {bid}: {len(gone)} of its objects no longer exist in s3://{settings.ingest_bucket} (e.g. "
                f"{gone[0]}), so its Parquet cannot be rebuilt; nothing was changed"
            )
        with MetricsAggregator(
            threads=settings.duckdb_threads,
            memory_limit=settings.duckdb_memory_limit,
            temp_dir=work,
            structured_fields=settings.structured_field_list,
            unmatched=settings.effective_unmatched,
            unmatched_top=settings.unmatched_top,
            max_event_age=timedelta(days=settings.max_event_age_days),
            max_event_ahead=timedelta(hours=settings.max_event_ahead_hours),
        ) as agg:
            result = agg.process([SourceFile(p, k, arrived[k]) for p, k in files], rules, batch_id=bid)
            result.files_rejected = missing + result.files_rejected
            _write_rejects(settings, client, bid, agg)
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
            minute_rows = agg.minute_metrics()
            latency_rows = agg.latency_distribution()
        if heal is not None:
            # Only the files the plan names and S3 lacks; nothing is deleted, the plan stays.
            _upload(settings, client, {k: f for k, f in local.items() if k in heal}, ())
            log.info("batch %s: rebuilt %d missing output(s)", bid, len(heal))
            return stored.doc["summary"]
        now = datetime.now(UTC)
        volumes, cw_rows, rolled = _budget(settings, client, bid, minute_rows, now)
        plan = make_plan(settings, bid, objects, result, minute_rows, cw_rows, rolled, latency_rows,
                         sorted(local), rules_fallback, now)  # fmt: skip
        plan["rules_key"] = rules_key
        if stored is not None:
            # CloudWatch may already have (part of) this batch: its calls are frozen, only outputs change.
            plan["calls"] = stored.doc["calls"]
            # Archived by the ingest of earlier versions: the archive DAG must keep leaving it alone.
            if stored.doc.get("legacy_requests") or any(
                k.startswith("requests/") for k in stored.doc.get("outputs", ())
            ):
                plan["legacy_requests"] = True
            for k in ("datums", "calls", "datums_out_of_window"):
                plan["summary"][k] = stored.doc["summary"][k]
            plan = plans.rewrite(bid, plan, stored)
        else:
            plan, ours = plans.create(bid, plan)
            if not ours:
                log.warning("batch %s was aggregated at the same time by another run, which finished first: "
                            "adopting its plan %s and writing nothing of this run's", bid, plan["plan_hash"])  # fmt: skip
                return plan["summary"]
            if volumes is not None:
                volumes()
        etags = {o["key"]: o["etag"] for o in objects}
        for bad in plan["summary"]["files_rejected"]:
            if bad["reason"] not in ("object no longer exists", "object changed since its batch was frozen"):
                bad["quarantined_to"] = source.fetcher.quarantine(
                    bad["key"], bad["reason"], etags.get(bad["key"])
                )
            log.warning("object %s rejected: %s", bad["key"], bad["reason"])
        old = [k for k in (stored.doc if stored else {}).get("outputs", ()) if not k.startswith("requests/")]
        _upload(settings, client, local, old)  # (requests/ of plans from before the archive DAG stay)
        log.info("batch %s: %s", bid, json.dumps(plan["summary"], sort_keys=True))
        return plan["summary"]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def rejects_key(bid: str) -> str:
    return f"rejects/dt={bid[:4]}-{bid[4:6]}-{bid[6:8]}/{bid}.jsonl.gz"


def _write_rejects(settings: Settings, client, bid: str, agg: MetricsAggregator) -> None:
    sample = agg.reject_sample(settings.reject_sample_size)
    if not sample:
        return
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample).encode()
    client.put_object(Bucket=settings.store_bucket, Key=rejects_key(bid), Body=gzip.compress(body, mtime=0))


def _upload(settings: Settings, client, local: dict[str, Path], old_outputs) -> None:
    for key, f in local.items():
        client.upload_file(str(f), settings.store_bucket, key)
    # A reprocessed batch may touch fewer files than before: remove its stale ones.
    for stale in sorted(set(old_outputs) - set(local)):
        client.delete_object(Bucket=settings.store_bucket, Key=stale)


def _budget(settings: Settings, client, bid: str, minute_rows, now: datetime):
    """Roll patterns past the per-host budget into ``Other`` (CloudWatch only).

    Reads the volumes and ranks with this batch folded in; returns the write that folds
    it in for good, to be done only by the run whose plan wins.
    """
    from edgesense import budget
    from edgesense.aws.budget_store import VolumeStore

    if settings.max_patterns_per_host <= 0:
        return None, minute_rows, []
    window = timedelta(hours=settings.budget_window_hours)
    store = VolumeStore(client, settings.store_bucket)
    volumes = budget.add_batch(store.read(), minute_rows, now, window)
    rows, rolled = budget.apply(minute_rows, budget.allowed_patterns(volumes, settings.max_patterns_per_host),
                                settings.max_patterns_per_host)  # fmt: skip
    if rolled:
        log.warning("batch %s: %d pattern(s) past the budget of %d per host are published as %r: %s", bid,
                    len(rolled), settings.max_patterns_per_host, budget.OTHER,
                    ", ".join(f"{h}/{p}" for h, p in rolled))  # fmt: skip
    return (lambda: store.update(lambda v: budget.add_batch(v, minute_rows, now, window))), rows, rolled


def make_plan(settings: Settings, bid: str, objects: list[dict], result: BatchResult, minute_rows, cw_rows,
              rolled, latency_rows, outputs: list[str], rules_fallback: bool, now: datetime) -> dict[str, Any]:  # fmt: skip
    """The batch's calls and summary, from what was computed; no I/O."""
    from edgesense.aws.catalog import partitions_of

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
    arrivals = [datetime.fromisoformat(o["last_modified"]) for o in objects]
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
    return {
        "batch_id": bid,
        "created_at": now.isoformat(),
        "calls": [c.to_json() for c in calls],
        "outputs": outputs,
        "summary": {
            "batch_id": bid,
            "objects": len(objects),
            "requests": sum(r["requests"] for r in minute_rows),
            "datums": sum(len(c.datums) for c in calls),
            "datums_out_of_window": len(skipped),
            "calls": len(calls),
            "partitions": sorted(list(p) for p in partitions_of(outputs)["requests"]),
            **result.as_report(),
        },
    }
