"""Task bodies of ``edgesense_archive``: the batches claimed in an interval to ``requests/``.

The archive reads each batch's frozen manifest (the objects it counted) and its plan (the
rules its metrics used), reads the objects once, and writes one file set per event hour,
named by the interval (``part-<interval>-<n>.parquet``). A record of what it wrote
(``_edgesense/archive/<interval>.json``) makes a re-run replace its own files and no one
else's, and a finished interval a no-op unless ``reprocess`` is asked for.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgesense.aggregate import ReadOptions, SourceFile
from edgesense.archive import ArchiveBatch, Archiver
from edgesense.aws.clients import AwsClients
from edgesense.aws.manifests import MANIFEST_PREFIX
from edgesense.aws.plans import PlanStore
from edgesense.aws.rules_store import Snapshots
from edgesense.aws.s3 import exists, get_json, list_keys, put_json
from edgesense.config import Settings
from edgesense.interval import Interval
from edgesense.keys import parse_batch_id
from edgesense.tables import partitions_of
from edgesense.tasks.common import batch_source, clients_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

ARCHIVE_PREFIX = "_edgesense/archive/"


def run_id(interval: Interval) -> str:
    return f"{interval.start:%Y%m%dT%H%M%S}-{interval.end:%Y%m%dT%H%M%S}"


def record_key(interval: Interval) -> str:
    return f"{ARCHIVE_PREFIX}dt={interval.start:%Y-%m-%d}/{run_id(interval)}.json"


def batches_in(client: S3Client, bucket: str, interval: Interval) -> list[str]:
    """The batches claimed in the interval: those whose own interval starts in it."""
    out, day = [], interval.start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < interval.end:
        for key in list_keys(client, bucket, f"{MANIFEST_PREFIX}dt={day:%Y-%m-%d}/"):
            bid = key.rsplit("/", 1)[-1].removesuffix(".json")
            try:
                start, _, _ = parse_batch_id(bid)
            except ValueError:
                continue
            if interval.start <= start < interval.end:
                out.append(bid)
        day += timedelta(days=1)
    return sorted(out)


def pending_batches(
    settings: Settings, interval: Interval, *, clients: AwsClients | None = None, now: datetime | None = None
) -> str | None:
    """None when the interval can be archived; else why not yet (batches still being aggregated)."""
    now = now or datetime.now(UTC)
    ready = interval.end + timedelta(seconds=settings.settle_seconds)
    if now < ready:
        return f"interval ends {interval.end:%H:%M:%S}; its last claim runs after {ready:%H:%M:%S}"
    s3 = clients_for(settings, clients).s3
    plans = PlanStore(s3, settings.store_bucket)
    waiting = [bid for bid in batches_in(s3, settings.store_bucket, interval) if not plans.exists(bid)]
    if waiting and now < interval.end + timedelta(minutes=settings.archive_grace_minutes):
        return f"{len(waiting)} batch(es) not aggregated yet, e.g. {waiting[0]}"
    return None


def archive_interval(
    settings: Settings, interval: Interval, *, reprocess: bool = False, clients: AwsClients | None = None
) -> dict[str, Any]:
    """Write the interval's ``requests`` files, replace its earlier ones, record what was written."""
    clients = clients_for(settings, clients)
    client, bucket = clients.s3, settings.store_bucket
    rid, rkey = run_id(interval), record_key(interval)
    prior = get_json(client, bucket, rkey) or {}
    plans = PlanStore(client, bucket)
    claimed = batches_in(client, bucket, interval)  # listed once: the check and the work use the same set
    if prior.get("outputs") is not None and not reprocess:
        why = _changed_since(prior, claimed, plans)
        if why is None and all(exists(client, bucket, k) for k in prior["outputs"]):
            log.info("interval %s already archived (%d file(s), %s); nothing to do (reprocess rewrites it)", rid,
                     len(prior["outputs"]), rkey)  # fmt: skip
            return prior
        log.warning("interval %s is archived again: %s", rid, why or "some of its files are missing")
    source, snapshots = batch_source(settings, clients), Snapshots(client, bucket)
    summary: dict[str, Any] = {"interval": [interval.start.isoformat(), interval.end.isoformat()], "batches": [],
                               "skipped": {}, "missing_objects": []}  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="edgesense-archive-", dir=settings.work_dir or None))
    try:
        batches, rules_cache = [], {}
        for bid in claimed:
            plan = plans.load(bid)
            if plan is None:
                summary["skipped"][bid] = "no plan: never aggregated (or its aggregation failed)"
                log.warning("batch %s has no plan after the grace period: left out of the archive", bid)
                continue
            if plan.archived_by_ingest:
                summary["skipped"][bid] = "archived by the ingest DAG (before edgesense_archive)"
                continue
            objects = source.objects_of(source.load_manifest(bid))
            arrived = {o["key"]: datetime.fromisoformat(o["last_modified"]) for o in objects}
            files, missing = source.fetcher.download(objects, work / "in" / bid)
            summary["missing_objects"] += [{"batch": bid, **m} for m in missing]
            key = plan.rules_key
            if key not in rules_cache:
                rules_cache[key] = snapshots.load(key)
            batches.append(
                ArchiveBatch(bid, rules_cache[key], [SourceFile(p, k, arrived[k]) for p, k in files])
            )
            summary["batches"].append(bid)
        for m in summary["missing_objects"]:
            # CloudWatch counted these requests; the archive cannot hold them any more.
            log.error("batch %s: object %s not archived: %s", m["batch"], m["key"], m["reason"])
        summary["incomplete"] = bool(summary["missing_objects"])
        with Archiver(ReadOptions.from_settings(settings), threads=settings.duckdb_threads,
                      memory_limit=settings.duckdb_memory_limit, temp_dir=work) as arch:  # fmt: skip
            result = arch.write(batches, work / "out" / "requests", rid) if batches else None
        local = {f.relative_to(work / "out").as_posix(): f for f in (result.files if result else [])}
        # Name the files before uploading them: a run that dies in between leaves a record
        # from which the next one removes whatever it does not write again.
        earlier = set(prior.get("outputs", ())) | set(prior.get("pending", ()))
        put_json(client, bucket, rkey, {**prior, "pending": sorted(earlier | set(local))})
        for k, f in local.items():
            client.upload_file(str(f), bucket, k)
        for stale in sorted(earlier - set(local)):
            client.delete_object(Bucket=bucket, Key=stale)
        summary.update(
            outputs=sorted(local), rows=result.rows if result else 0,
            partitions=sorted(list(p) for p in partitions_of(sorted(local)).get("requests", ())),
            written_at=datetime.now(UTC).isoformat(),
        )  # fmt: skip
        put_json(client, bucket, rkey, summary)
        log.info("interval %s: %d batch(es), %d request(s) -> %d file(s) in %d partition(s); %d batch(es) left out",
                 rid, len(summary["batches"]), summary["rows"], len(local), len(summary["partitions"]),
                 len(summary["skipped"]))  # fmt: skip
        return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _changed_since(prior: dict[str, Any], batches: list[str], plans: PlanStore) -> str | None:
    """Why an archived interval must be written again (batches claimed or aggregated since), or None."""
    known = set(prior.get("batches", ())) | set(prior.get("skipped", {}))
    if new := sorted(set(batches) - known):
        return f"{len(new)} batch(es) claimed since it was archived, e.g. {new[0]}"
    waited = [
        b for b, why in prior.get("skipped", {}).items() if why.startswith("no plan") and plans.exists(b)
    ]
    if waited:
        return f"{len(waited)} batch(es) aggregated since it was archived, e.g. {waited[0]}"
    return None
