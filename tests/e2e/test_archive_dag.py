"""edgesense_archive run for real (``dag.test()``) on moto_server, after real ingest runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from helpers import STORE, airflow_major
from tests.e2e.test_ingest_dag import assert_all_succeeded, read_parquet, run_window, upload_generated


def archive_run(hour: datetime, **conf):
    """The archive's run for the interval [hour, hour + 1 h)."""
    from edgesense_archive import dag_object

    if airflow_major() < 3:
        # 2.11's dag.test(execution_date=...) maps DagRunNote, whose user_id points at FAB's
        # ab_user table: register FAB's models first (the webserver always has them).
        import airflow.providers.fab.auth_manager.models  # noqa: F401
    when = {"logical_date" if airflow_major() >= 3 else "execution_date": hour + timedelta(hours=1)}
    return dag_object.test(run_conf={"reprocess": False, **conf}, **when)


def keys(aws, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix=prefix).get("Contents", []))


def test_an_hour_of_batches_becomes_one_file_set_per_event_hour_and_a_rerun_replaces_only_its_own(
    catalog, tmp_path
):
    aws = catalog
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    event_start = now.replace(second=0, microsecond=0) - timedelta(minutes=3)
    _, _, total = upload_generated(aws, event_start, minutes=2, lines_per_minute=150, ds1_files=1)
    # A manual window from the previous hour: its batch belongs to that hour's archive interval.
    assert_all_succeeded(run_window(hour, datetime.now(UTC) + timedelta(seconds=1)))
    assert keys(aws, "requests/") == []  # the metrics path writes no requests
    foreign = f"requests/dt={event_start:%Y-%m-%d}/hour={event_start:%H}/part-someone-else-0.parquet"
    aws.s3.put_object(Bucket=STORE, Key=foreign, Body=b"not ours")

    assert_all_succeeded(archive_run(hour))

    ours = [k for k in keys(aws, "requests/") if k != foreign]
    rid = f"{hour:%Y%m%dT%H%M%S}-{hour + timedelta(hours=1):%Y%m%dT%H%M%S}"
    event_hours = {(f"{t:%Y-%m-%d}", f"{t:%H}") for t in (event_start, event_start + timedelta(minutes=1))}
    assert {k.rsplit("/", 1)[0] for k in ours} == {f"requests/dt={d}/hour={h}" for d, h in event_hours}
    assert all(k.rsplit("/", 1)[1].startswith(f"part-{rid}-") for k in ours)
    aws.s3.delete_object(Bucket=STORE, Key=foreign)  # (not Parquet: out of the way while reading)
    rows = read_parquet(aws, "requests", tmp_path / "1")
    assert len(rows) == total
    assert {r["source_format"] for r in rows} == {"ds2_json", "ds1_raw"}
    assert len({r["batch_id"] for r in rows}) == 1
    parts = aws.glue.get_partitions(DatabaseName="edgesense_test", TableName="requests")["Partitions"]
    assert {tuple(p["Values"]) for p in parts} == event_hours

    aws.s3.put_object(Bucket=STORE, Key=foreign, Body=b"not ours")
    assert_all_succeeded(archive_run(hour))  # finished: nothing to do
    assert_all_succeeded(archive_run(hour, reprocess=True))  # rewrites its own files only

    assert [k for k in keys(aws, "requests/") if k != foreign] == ours
    assert foreign in keys(aws, "requests/")
    aws.s3.delete_object(Bucket=STORE, Key=foreign)
    assert len(read_parquet(aws, "requests", tmp_path / "2")) == total

    # A run that died after naming and uploading a file it would not write again: the next
    # run removes it. And a batch claimed in the interval after it was archived (a manual
    # window, an ingest backfill) makes the next run write the interval again.
    record = f"_edgesense/archive/dt={hour:%Y-%m-%d}/{rid}.json"
    doc = json.loads(aws.s3.get_object(Bucket=STORE, Key=record)["Body"].read())
    leftover = ours[0].replace(f"part-{rid}-0", f"part-{rid}-7")
    aws.s3.put_object(Bucket=STORE, Key=leftover, Body=b"from a run that died")
    aws.s3.put_object(
        Bucket=STORE, Key=record, Body=json.dumps({**doc, "pending": doc["outputs"] + [leftover]})
    )
    _, _, more = upload_generated(aws, event_start, minutes=1, lines_per_minute=40, seed=5)
    assert_all_succeeded(run_window(hour + timedelta(minutes=1), datetime.now(UTC) + timedelta(seconds=1)))
    assert_all_succeeded(archive_run(hour))
    assert leftover not in keys(aws, "requests/")
    rows = read_parquet(aws, "requests", tmp_path / "3")
    assert len(rows) == total + more
    assert len({r["batch_id"] for r in rows}) == 2


def test_an_interval_waits_for_its_batches_and_leaves_out_one_without_a_plan_after_the_grace(
    catalog, monkeypatch
):
    """A batch frozen but never aggregated (its run failed) holds the interval back until the
    grace period ends; then the interval is archived without it, and the record says why."""
    from edgesense.aws.s3 import get_json
    from edgesense.config import Settings
    from edgesense.interval import Interval
    from edgesense.tasks.archive import archive_interval, pending_batches, record_key

    aws = catalog
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    manifest = f"_edgesense/manifests/dt={hour:%Y-%m-%d}/{hour:%Y%m%dT%H%M%S}-{hour:%Y%m%dT%H%M}59-0.json"
    aws.s3.put_object(Bucket=STORE, Key=manifest, Body=b'{"version": 2, "objects": []}')
    interval = Interval(hour, hour + timedelta(hours=1))

    monkeypatch.setenv("EDGESENSE_ARCHIVE_GRACE_MINUTES", "600")
    assert "1 batch(es) not aggregated yet" in pending_batches(Settings.from_env(), interval)
    monkeypatch.setenv("EDGESENSE_ARCHIVE_GRACE_MINUTES", "0")
    assert pending_batches(Settings.from_env(), interval) is None
    summary = archive_interval(Settings.from_env(), interval)
    assert summary["rows"] == 0
    assert list(summary["skipped"].values()) == ["no plan: never aggregated (or its aggregation failed)"]
    assert get_json(aws.s3, STORE, record_key(interval))["skipped"] == summary["skipped"]
