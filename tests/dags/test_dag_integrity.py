"""Every DAG parses cleanly, follows the house rules, and does no I/O at parse time."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest

from helpers import ROOT, airflow_major

DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
DAG_IDS = ("edgesense_ingest", "edgesense_archive", "edgesense_setup", "edgesense_relabel", "edgesense_ops",
           "edgesense_reconcile")  # fmt: skip
APPROVED_TAGS = {"edgesense", "cdn-logs", "cloudwatch", "setup", "rules", "operations"}
#: Ingest and archive must catch up: each interval's objects are only claimed (and its batches
#: only archived) by that interval's run.
CATCHUP_ALLOWED = {"edgesense_ingest", "edgesense_archive"}


@pytest.fixture(scope="module")
def dagbag():
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.x
        from airflow.models import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_the_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == set(DAG_IDS)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_every_dag_has_an_owner_retries_tags_and_docs(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert len(dag.doc_md or "") > 200
    assert dag.tags
    assert set(dag.tags) <= APPROVED_TAGS
    assert dag.catchup is (dag_id in CATCHUP_ALLOWED)
    for t in dag.tasks:
        assert t.owner == "edgesense", t.task_id
        assert t.retries >= 2, t.task_id


def test_the_dag_id_matches_the_file_name():
    for f in DAG_FILES:
        assert f'DAG_ID = "{f.stem}"' in f.read_text()


def test_the_ingest_dag_runs_each_minute_over_a_one_minute_data_interval(dagbag):
    """A data-interval timetable: a bare timedelta would give zero-length intervals on Airflow 3."""
    timetable = dagbag.dags["edgesense_ingest"].timetable
    assert type(timetable).__name__ == "DeltaDataIntervalTimetable"
    delta = getattr(timetable, "delta", None) or timetable._delta  # Airflow 2.x keeps it private
    assert delta.total_seconds() == 60


def test_the_relabel_dag_never_publishes_to_cloudwatch_and_says_so(dagbag):
    dag = dagbag.dags["edgesense_relabel"]
    assert "CloudWatch is never touched" in dag.doc_md
    code = (ROOT / "dags" / "edgesense_relabel.py").read_text().split('"""', 2)[2]  # past the docstring
    assert "publish" not in code
    assert "cloudwatch" not in code.lower()
    assert set(dag.params.keys()) == {"first_day", "last_day"}


def test_publishing_runs_in_the_cloudwatch_pool_and_the_sensor_reschedules(dagbag):
    dag = dagbag.dags["edgesense_ingest"]
    assert dag.get_task("publish_metrics").pool == "edgesense_cloudwatch"
    sensor = dag.get_task("wait_for_batch")
    assert sensor.mode == "reschedule"
    assert set(dag.params.keys()) == {"window_start", "window_end", "prefix", "reprocess"}


def test_shards_are_mapped_tasks_on_airflow3_and_one_task_on_airflow2(dagbag):
    """2.11's BackfillJob deadlocks on dynamically mapped tasks, so 2.x takes shards in turn."""
    dag = dagbag.dags["edgesense_ingest"]
    mapped = airflow_major() >= 3
    for task_id in ("aggregate_batch", "publish_metrics"):
        task = dag.get_task(task_id)
        assert hasattr(task, "expand_input") is mapped, task_id
    assert dag.get_task("publish_metrics").pool == "edgesense_cloudwatch"
    assert dag.get_task("add_partitions").upstream_task_ids == {"aggregate_batch"}


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parsing_a_dag_file_does_no_network_or_aws_io(path: Path, monkeypatch):
    """Sockets and boto3 clients are booby-trapped while the file is executed."""
    import boto3

    def refuse(*args, **kwargs):
        raise AssertionError(f"{path.name} did I/O at parse time")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(boto3.session.Session, "client", refuse)
    monkeypatch.setattr(boto3.session.Session, "resource", refuse)
    spec = importlib.util.spec_from_file_location(f"parse_check_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dag_object.dag_id == path.stem


def test_every_task_of_every_dag_publishes_its_failure_to_the_alarm_topic(dagbag):
    from edgesense.tasks.notify import on_task_failure

    def callbacks(task):
        cb = task.on_failure_callback
        return cb if isinstance(cb, list) else [cb]

    missing = [f"{d.dag_id}.{t.task_id}" for d in dagbag.dags.values() for t in d.tasks
               if on_task_failure not in callbacks(t)]  # fmt: skip
    assert not missing, missing
