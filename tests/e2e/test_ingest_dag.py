"""The ingest DAG end to end: real Airflow (dag.test), real moto_server, real DuckDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edgesense.generate import generate

NS = "edgesense/test"


def _ingest_dag():
    from edgesense_ingest import dag_object

    return dag_object


def _run(window_start: datetime, window_end: datetime, **conf):
    from edgesense_setup import dag_object as setup

    dag = _ingest_dag()
    run_conf = {"window_start": window_start.isoformat(), "window_end": window_end.isoformat(), **conf}
    dr = dag.test(run_conf=run_conf)
    return dr, setup


def test_smoke(aws, airflow_db):
    from edgesense_setup import dag_object as setup

    setup.test()
    event_start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    total = 0
    for f in generate(start=event_start, minutes=2, lines_per_minute=200, files_per_minute=2):
        aws.put_log(f.key, f.body)
        total += f.lines
    t1 = datetime.now(UTC) + timedelta(seconds=1)
    dr, _ = _run(t0, t1)
    print(dr.state)
    got = sum(
        aws.metric_sum(
            NS, "ResponseCountTotal", {"Host": "www.example.abc", "ResponseCode": str(s)}, event_start, t1
        )
        for s in (200, 301, 401, 404, 500, 503)
    )
    assert got == total
