"""Backfills with Airflow's own commands: ``airflow dags backfill`` (2.x) and ``airflow
backfill create`` (3.x, executed by a real scheduler process), against a real moto_server.

A run owns the objects whose LastModified lies in its minute, and moto stamps LastModified
at upload time, so the fixture objects are uploaded across real wall-clock minutes and the
backfill then covers exactly those minutes. Each test waits about two minutes for that.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from airflow_services import scheduler_and_api_server as services
from airflow_services import service_env
from localaws import free_port

from edgesense.generate import generate
from helpers import airflow_major, archive_recent

NS = "edgesense/test"
HOST = "www.example.abc"
STATUSES = (200, 301, 401, 404, 500, 503)
DAG_ID = "edgesense_ingest"
AIRFLOW = Path(sys.executable).with_name("airflow")
AIRFLOW_MAJOR = airflow_major()

pytestmark = pytest.mark.e2e


def venv_env() -> dict[str, str]:
    """This environment, with the venv's bin first: executors start `airflow tasks run` by name."""
    return {**os.environ, "PATH": f"{AIRFLOW.parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run the real ``airflow`` CLI; fail with its output when it fails."""
    proc = subprocess.run(
        [str(AIRFLOW), *args], env=env or venv_env(), capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"airflow {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


def sleep_until(t: datetime) -> None:
    time.sleep(max(0.0, (t - datetime.now(UTC)).total_seconds()))


def upload_in_consecutive_minutes(aws, minutes: int) -> dict[datetime, int]:
    """Upload a few generated objects in each of ``minutes`` wall-clock minutes.

    Each minute's lines carry event times in that same minute. Returns the number of
    lines per minute, and only once the last minute is over (so it has settled).
    """
    now = datetime.now(UTC)
    if now.second >= 45:  # too close to the boundary to be sure uploads land in this minute
        sleep_until(now.replace(second=0, microsecond=0) + timedelta(minutes=1, seconds=1))
    expected: dict[datetime, int] = {}
    for i in range(minutes):
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        expected[minute] = 0
        for f in generate(
            start=minute, minutes=1, lines_per_minute=300 + 100 * i, files_per_minute=3, seed=i + 11
        ):
            landed = aws.put_log(f.key, f.body)
            assert landed.replace(second=0, microsecond=0) == minute, "an upload slipped into the next minute"
            expected[minute] += f.lines
        sleep_until(minute + timedelta(minutes=1, seconds=1))
    return expected


def assert_every_minute_counted_once(aws, expected: dict[datetime, int]) -> None:
    statuses = [{"Host": HOST, "ResponseCode": str(s)} for s in STATUSES]
    got = aws.per_minute(NS, "ResponseCountTotal", statuses, min(expected), max(expected))
    assert got == expected, "CloudWatch sums per minute"
    archive_recent(hours_back=3)  # requests/ is edgesense_archive's
    for table in ("requests", "minute_metrics"):
        parts = aws.glue.get_partitions(DatabaseName="edgesense_test", TableName=table)["Partitions"]
        hours = {tuple(p["Values"]) for p in parts}
        for minute in expected:
            assert (f"{minute:%Y-%m-%d}", f"{minute:%H}") in hours, f"{table} partition for {minute:%H:%M}"


@contextmanager
def airflow_db() -> Iterator[sqlite3.Connection]:
    url = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)) as db:
        yield db


def runs(run_type: str) -> dict[str, str]:
    """run_id -> state of the ingest DAG's runs of one type, straight from Airflow's database."""
    with airflow_db() as db:
        rows = db.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? AND run_type = ?", (DAG_ID, run_type)
        ).fetchall()
    return dict(rows)


def publish_tries() -> list[int]:
    """try_number of publish_metrics in each backfill run (live runs may exist alongside)."""
    with airflow_db() as db:
        rows = db.execute(
            "SELECT ti.try_number FROM task_instance ti"
            " JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id"
            " WHERE ti.dag_id = ? AND ti.task_id = 'publish_metrics' AND dr.run_type = 'backfill'"
            " ORDER BY ti.run_id",
            (DAG_ID,),
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def pool(airflow_db) -> None:
    """The pool publish_metrics runs in; the CLI shares the session's SQLite database."""
    cli("pools", "set", "edgesense_cloudwatch", "4", "CloudWatch PutMetricData budget")


@pytest.mark.skipif(AIRFLOW_MAJOR != 2, reason="`airflow dags backfill` exists only in Airflow 2.x")
def test_airflow2_dags_backfill_counts_every_minute_once_and_a_second_backfill_changes_nothing(catalog, pool):
    expected = upload_in_consecutive_minutes(catalog, 2)
    first, last = min(expected), max(expected)
    cli("dags", "backfill", DAG_ID, "-s", first.isoformat(), "-e", last.isoformat())

    assert sorted(runs("backfill").values()) == ["success", "success"]
    assert_every_minute_counted_once(catalog, expected)
    tries = publish_tries()
    assert len(tries) == 2

    # Clear both runs and execute every task again: claims, aggregation and publishing all
    # run a second time, and the sums must not move.
    cli("dags", "backfill", DAG_ID, "-s", first.isoformat(), "-e", last.isoformat(), "--reset-dagruns", "-y")
    assert sorted(runs("backfill").values()) == ["success", "success"]
    assert all(again > before for again, before in zip(publish_tries(), tries, strict=True))
    assert_every_minute_counted_once(catalog, expected)


@contextmanager
def scheduler_and_api_server(tmp_path: Path) -> Iterator[list[subprocess.Popen]]:
    """A real scheduler (LocalExecutor) and the api-server its task runners report to."""
    env = {**venv_env(), **service_env(free_port()), "EDGESENSE_RETRY_DELAY_SECONDS": "0"}
    with services(env, tmp_path) as procs:
        yield procs


def wait_for_backfill(tmp_path: Path, procs: list[subprocess.Popen], timeout: float = 300) -> dict[str, str]:
    """Until the scheduler has finished every run and marked the backfill itself complete."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        with airflow_db() as db:
            open_backfills = db.execute(
                "SELECT count(*) FROM backfill WHERE dag_id = ? AND completed_at IS NULL", (DAG_ID,)
            ).fetchone()[0]
        if not open_backfills:
            return runs("backfill")
        time.sleep(3)
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("*.log")))
    raise AssertionError(f"backfill not complete (or a service exited): {runs('backfill')}\n{logs}")


@pytest.mark.skipif(AIRFLOW_MAJOR < 3, reason="`airflow backfill create` is Airflow 3.x")
def test_airflow3_backfill_create_run_by_the_scheduler_counts_every_minute_once_and_again_changes_nothing(
    catalog, pool, tmp_path, monkeypatch
):
    expected = upload_in_consecutive_minutes(catalog, 2)
    first, last = min(expected), max(expected)
    # The DAG runs live from the first backfilled minute: the scheduler finds runs for both
    # minutes already there (it skips them) and goes on with the minutes after, which have no
    # objects. On Airflow 3 a paused DAG's backfill runs stay queued, so it is unpaused.
    monkeypatch.setenv("EDGESENSE_START_DATE", first.isoformat())
    cli("dags", "reserialize")
    # `backfill create` only writes runs to the database; the scheduler executes them. It is
    # stopped while runs are created because SQLite allows one writer at a time.
    backfill = ["backfill", "create", "--dag-id", DAG_ID, "--from-date", first.isoformat(),
                "--to-date", last.isoformat()]  # fmt: skip
    cli(*backfill)
    cli("dags", "unpause", DAG_ID)
    with scheduler_and_api_server(tmp_path) as procs:
        assert sorted(wait_for_backfill(tmp_path, procs).values()) == ["success", "success"]
    assert_every_minute_counted_once(catalog, expected)
    tries = publish_tries()
    assert len(tries) == 2

    # --reprocess-behavior completed: the scheduler runs both minutes again from scratch.
    cli(*backfill, "--reprocess-behavior", "completed")
    assert set(runs("backfill").values()) == {"queued"}
    with scheduler_and_api_server(tmp_path) as procs:
        assert sorted(wait_for_backfill(tmp_path, procs).values()) == ["success", "success"]
    assert all(again > before for again, before in zip(publish_tries(), tries, strict=True))
    assert_every_minute_counted_once(catalog, expected)
