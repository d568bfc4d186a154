"""What a new user meets, against a real moto_server: runs that say which window they
processed and why they skipped, a summary a person can read, and the embedded AWS
reachable from a shell with ``eval "$(edgesense local env)"``."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpers import INGEST, TABLE
from tests.e2e.test_ingest_dag import HOST, assert_all_succeeded, run_scheduled_minute, run_window, states

pytestmark = pytest.mark.e2e
EXE = Path(sys.executable).with_name("edgesense")
TASKS = ("sync_rules", "wait_for_batch", "aggregate_batch", "publish_metrics", "add_partitions")


def one_object(aws, key: str, n: int = 20) -> datetime:
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    line = {
        "reqTimeSec": f"{minute.timestamp() + 5:.0f}",
        "statusCode": "200",
        "reqHost": HOST,
        "reqPath": "/a",
    }
    return aws.put_log(key, gzip.compress(("\n".join(json.dumps(line) for _ in range(n)) + "\n").encode()))


def messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def test_every_task_logs_the_window_it_processed_and_a_readable_summary(catalog, caplog):
    lm = one_object(catalog, "logs/usab/ak-1-1-1-ds.gz")
    with caplog.at_level("INFO"):
        dr = run_window(lm, lm + timedelta(seconds=1), prefix="logs/usab/")
    assert_all_succeeded(dr)
    window = f"[{lm:%Y-%m-%dT%H:%M:%SZ}, {lm + timedelta(seconds=1):%Y-%m-%dT%H:%M:%SZ})"
    said = [m for m in messages(caplog) if m.startswith("processing window")]
    assert len(said) == len(TASKS)  # one per task: each says it first thing
    assert set(said) == {f"processing window {window} from params window_start/window_end (the run's Data "
                         f"Interval {dr.data_interval_start.isoformat()}..{dr.data_interval_end.isoformat()} "
                         "is ignored)"}  # fmt: skip
    [summary] = [m for m in messages(caplog) if " valid line(s), " in m]
    assert "1 object(s), 20 valid line(s), 0 rejected -> 20 request(s)" in summary


def test_an_impossible_window_fails_the_first_task_at_once_without_retries(catalog):
    """The message, in the params' words, is checked in tests/dags/test_params.py."""
    dr = run_window(datetime(2026, 12, 1, 8, 5, tzinfo=UTC), datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    assert dr.state == "failed"
    failed = [(ti.task_id, ti.try_number) for ti in dr.get_task_instances() if ti.state == "failed"]
    assert failed == [("sync_rules", 1)]


def test_a_skipped_run_names_the_prefix_it_listed_and_how_many_keys_it_held(catalog, caplog):
    lm = one_object(catalog, "logs/held/ak-1-1-1-ds.gz")
    with caplog.at_level("INFO"):
        nothing = run_window(lm, lm + timedelta(seconds=1), prefix="nope/")
        elsewhere = run_window(lm + timedelta(seconds=1), lm + timedelta(seconds=2), prefix="logs/held/")
    for dr in (nothing, elsewhere):
        assert dr.state == "success"
        assert states(dr)["aggregate_batch"] == "skipped"
    assert f"prefix 'nope/' of s3://{INGEST} holds no keys (an S3 key prefix" in caplog.text
    assert f"prefix 'logs/held/' of s3://{INGEST} holds 1 key(s), none with LastModified in the window" in (
        caplog.text
    )


def test_a_manual_window_equal_to_a_scheduled_interval_says_why_it_maps_over_that_runs_batch(catalog, caplog):

    lm = one_object(catalog, f"logs/{datetime.now(UTC):%Y/%m/%d/%H}/ak-2-2-2-ds.gz")
    minute = lm.replace(second=0)
    time.sleep(max(0.0, (minute + timedelta(minutes=1, seconds=1) - datetime.now(UTC)).total_seconds()))
    assert_all_succeeded(run_scheduled_minute(minute))
    with caplog.at_level("INFO"):
        again = run_window(minute, minute + timedelta(minutes=1))
    assert again.state == "success"
    assert "of exactly this interval were frozen by an earlier run (the scheduled run of this interval" in (
        caplog.text
    )
    assert "already aggregated (plan" in caplog.text  # and nothing is done twice


def test_local_env_points_a_shell_at_the_embedded_aws_while_it_runs(aws, tmp_path):
    from localaws import MotoServer, create_resources

    server = MotoServer(run_dir=tmp_path / ".run").start()
    try:
        create_resources(
            server.endpoint, ingest_bucket=INGEST, store_bucket="es-usab-store", rules_table=TABLE
        )
        server.publish({"EDGESENSE_RULES_TABLE": TABLE})
        boto_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EDGESENSE_"))}
        script = f'eval "$({EXE} local env)" && {EXE} rules import rules.csv && {EXE} rules export'
        (tmp_path / "rules.csv").write_text("Id,Regex,Rank\nApi,/json/(.*),5\n")
        res = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=boto_env, capture_output=True, text=True,
                             timeout=120)  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert res.stdout.endswith("Id,Regex,Rank\nApi,/json/(.*),5\n")
        exports = subprocess.run([str(EXE), "local", "env"], cwd=tmp_path / ".run", env=boto_env,
                                 capture_output=True, text=True, timeout=60).stdout  # fmt: skip
        assert f"export AWS_ENDPOINT_URL={server.endpoint}\n" in exports
        assert "export AWS_DEFAULT_REGION=us-east-1\n" in exports
    finally:
        server.stop()
    gone = subprocess.run(
        [str(EXE), "local", "env"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert gone.returncode == 2
    assert "no embedded AWS is running" in gone.stderr
