"""The ingest DAG's trigger params: what the form and REST API refuse at once, and how a
run's window is worded. Airflow's own Param validation (the form's and the API's) is used,
not a copy of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edgesense.interval import ParamError, check_prefix, describe, resolve
from helpers import ROOT

NOW = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def ingest():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "edgesense_ingest_params", ROOT / "dags" / "edgesense_ingest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def accepts(ingest, name: str, value) -> bool:
    from edgesense.compat import Param

    param = ingest.params[name]
    try:
        Param(param.value, **param.schema).resolve(value)
    except Exception:
        return False
    return True


@pytest.mark.parametrize(
    "value",
    ["2026-12-01T07:00:00Z", "2026-12-01T07:00:00", "2026-12-01 07:00", "2026-12-01T08:00:00+01:00", None],
)
def test_the_form_takes_a_time_with_or_without_a_zone(ingest, value):
    assert accepts(ingest, "window_start", value)
    assert accepts(ingest, "window_end", value)


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-12-01T07:00:00.500Z", "2026-12-01", "07:00", "2026-12-01T07:00:00Z\n"]
)
def test_the_form_refuses_what_can_never_be_a_whole_second_window_bound(ingest, value):
    assert not accepts(ingest, "window_start", value)


@pytest.mark.parametrize(("value", "ok"), [("logs/2026/12/01/", True), ("/logs/2026/", False),
                                          ("s3://bucket/logs/", False), ("S3://bucket/logs/", False),
                                          (" /logs/", False), (None, True)])  # fmt: skip
def test_the_form_takes_a_key_prefix_and_refuses_a_path_or_url(ingest, value, ok):
    assert accepts(ingest, "prefix", value) is ok


def test_every_param_description_says_what_a_user_needs(ingest):
    start, prefix = ingest.params["window_start"].description, ingest.params["prefix"].description
    assert "without a zone is UTC" in start
    assert "win over the run's Data Interval" in start
    assert "never a path" in prefix


def test_a_time_without_a_zone_is_utc():
    got = resolve(
        {"window_start": "2026-12-01T07:00:00", "window_end": "2026-12-01T07:05:00"}, None, None, now=NOW
    )
    assert (got.start, got.end) == (
        datetime(2026, 12, 1, 7, tzinfo=UTC),
        datetime(2026, 12, 1, 7, 5, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-12-01T08:05:00Z", "2026-12-01T08:00:00Z",
         "window_end (2026-12-01T08:00:00Z) is before window_start (2026-12-01T08:05:00Z); swap them"),
        ("2026-12-01T08:00:00Z", "2026-12-01T08:00:00Z", "equals window_start (2026-12-01T08:00:00Z): the window is empty"),
        ("2026-11-29T08:00:00Z", "2026-12-01T08:00:00Z", "the window spans 2 days; at most 1 day, use a backfill for more"),
        ("2026-11-30T05:00:00Z", "2026-12-01T08:00:00Z", "the window spans 1 day, 3:00:00; at most 1 day"),
    ],
)  # fmt: skip
def test_an_impossible_window_is_worded_in_terms_of_the_params(start, end, message):
    with pytest.raises(ParamError) as err:
        resolve({"window_start": start, "window_end": end}, None, None, now=NOW)
    assert message in str(err.value)


def test_a_prefix_that_is_a_path_or_a_url_is_refused_with_the_fix():
    assert check_prefix("logs/") == "logs/"
    assert check_prefix("") is None
    with pytest.raises(ParamError, match="not a path; try 'logs/2026/'"):
        check_prefix("/logs/2026/")
    with pytest.raises(ParamError, match="is an S3 URL"):
        check_prefix("s3://bucket/logs/")


def test_the_window_log_line_says_which_window_ran_and_where_it_came_from():
    start = datetime(2026, 12, 1, 8, 29, tzinfo=UTC)
    params = {"window_start": "2026-12-01T07:00:00Z", "window_end": "2026-12-01T07:05:00Z"}
    got = describe(params, start, start + timedelta(minutes=1), resolve(params, None, None, now=NOW))
    assert got.startswith("processing window [2026-12-01T07:00:00Z, 2026-12-01T07:05:00Z) from params")
    assert "the run's Data Interval 2026-12-01T08:29:00+00:00..2026-12-01T08:30:00+00:00 is ignored" in got
    plain = describe(
        {}, start, start + timedelta(minutes=1), resolve({}, start, start + timedelta(minutes=1))
    )
    assert plain == "processing window [2026-12-01T08:29:00Z, 2026-12-01T08:30:00Z): the run's Data Interval"


def test_add_partitions_takes_the_mapped_results_in_one_slice_never_iterating_past_the_end(
    ingest, monkeypatch
):
    """Iterating a mapped task's results (Airflow 3's LazyXComSequence) asks for one item past
    the end, which the API server logs as "XCom not found" each run. A stand-in sequence
    that refuses iteration stands for it: it cannot run outside a task runner."""
    import edgesense.tasks.ingest as tasks

    class NoIteration(list):
        def __iter__(self):
            raise AssertionError("iterated")

    got = {}
    monkeypatch.setattr(tasks, "update_partitions", lambda settings, batches: got.setdefault("b", batches))
    task = ingest.dag_object.get_task("add_partitions")
    start = datetime(2026, 12, 1, 8, 29, tzinfo=UTC)
    task.python_callable(NoIteration([{"batch": "b1"}, {"batch": "b2"}]), params={}, data_interval_start=start,
                         data_interval_end=start + timedelta(minutes=1))  # fmt: skip
    assert got["b"] == ["b1", "b2"]


def test_an_impossible_window_fails_the_first_task_with_a_non_retryable_error_in_the_params_words(ingest):
    from edgesense.compat import AirflowFailException

    task = ingest.dag_object.get_task("sync_rules")
    start = datetime(2026, 12, 1, 8, 29, tzinfo=UTC)
    bad = {"window_start": "2026-12-01T08:05:00Z", "window_end": "2026-12-01T08:00:00Z"}
    with pytest.raises(
        AirflowFailException, match=r"window_end \(2026-12-01T08:00:00Z\) is before window_start"
    ):
        task.python_callable(
            params=bad, data_interval_start=start, data_interval_end=start + timedelta(minutes=1)
        )
    with pytest.raises(AirflowFailException, match="is an S3 URL"):
        ingest.dag_object.get_task("wait_for_batch").python_callable(
            params={"prefix": "s3://b/logs/"},
            data_interval_start=start,
            data_interval_end=start + timedelta(minutes=1),
        )


def test_once_claimed_a_window_is_not_checked_against_the_clock_again():
    """A year-old manual window whose batch is frozen can still have its publish cleared."""
    old = {"window_start": "2025-11-01T07:00:00Z", "window_end": "2025-11-01T07:05:00Z"}
    with pytest.raises(ParamError, match="more than 366 days ago"):
        resolve(old, None, None, now=NOW)
    assert resolve(old, None, None, now=NOW, check_clock=False).start == datetime(2025, 11, 1, 7, tzinfo=UTC)
