"""The failure notification's text, and how it is read from an Airflow callback context."""

from __future__ import annotations

from types import SimpleNamespace

from edgesense.notify import SUBJECT_MAX, Failure
from edgesense.tasks.notify import failure_from


def test_a_failure_reads_as_a_short_subject_and_a_labelled_message():
    f = Failure("edgesense_ingest", "aggregate_batch", "scheduled__2026-12-01T08:00:00+00:00", 2,
                "BatchFailed: 12% of lines rejected\nWorst: a.gz", map_index=3, log_url="http://ui/log")  # fmt: skip
    assert f.subject() == "edgesense: edgesense_ingest.aggregate_batch[3] failed (try 2)"
    assert f.message() == (
        "DAG:   edgesense_ingest\nTask:  aggregate_batch (map index 3)\nRun:   scheduled__2026-12-01T08:00:00+00:00\n"
        "Try:   2\nError: BatchFailed: 12% of lines rejected\nLog:   http://ui/log\n"
    )


def test_a_subject_is_ascii_and_fits_snss_limit():
    f = Failure("d" * 120 + "é", "t", "r", 1, "")
    assert len(f.subject()) == SUBJECT_MAX
    assert f.subject().isascii()
    assert "Error: (no message)" in f.message()
    assert "Log:" not in f.message()


def test_a_callback_context_without_a_log_url_still_gives_the_failure():
    class TI:
        dag_id, task_id, run_id, try_number, map_index = "dag", "task", "run-1", 1, None

        @property
        def log_url(self):
            raise RuntimeError("no base_url")

    got = failure_from(
        {"ti": TI(), "dag_run": SimpleNamespace(run_id="run-1"), "exception": ValueError("bad")}
    )
    assert got == Failure("dag", "task", "run-1", 1, "ValueError: bad", map_index=-1, log_url=None)
