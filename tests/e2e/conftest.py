"""End-to-end fixtures: a real moto_server process and Airflow pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from localaws import MotoServer, aws_env, create_resources, metric_queries

from helpers import INGEST, ROOT, STORE, TABLE, migrate_airflow_db


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = MotoServer(run_dir=ROOT / ".run").start()
    old = {k: os.environ.get(k) for k in aws_env(server.endpoint)}
    os.environ.update(aws_env(server.endpoint))
    try:
        yield server
    finally:
        server.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def aws(moto: MotoServer, monkeypatch: pytest.MonkeyPatch):
    """A clean account with the buckets and rules table, and EDGESENSE_* settings for it."""
    moto.reset()
    create_resources(moto.endpoint, ingest_bucket=INGEST, store_bucket=STORE, rules_table=TABLE)
    for k, v in {
        "EDGESENSE_INGEST_BUCKET": INGEST,
        "EDGESENSE_STORE_BUCKET": STORE,
        "EDGESENSE_RULES_TABLE": TABLE,
        "EDGESENSE_GLUE_DATABASE": "edgesense_test",
        "EDGESENSE_STAGE": "test",
        "EDGESENSE_SETTLE_SECONDS": "0",
        "EDGESENSE_PUBLISH_BASE_DELAY": "0.01",
    }.items():
        monkeypatch.setenv(k, v)
    return Clients(moto.endpoint)


class Clients:
    def __init__(self, endpoint: str) -> None:
        kw = {"endpoint_url": endpoint, "region_name": "us-east-1"}
        self.endpoint = endpoint
        self.s3 = boto3.client("s3", **kw)
        self.cw = boto3.client("cloudwatch", **kw)
        self.glue = boto3.client("glue", **kw)
        self.ddb = boto3.client("dynamodb", **kw)

    def put_log(self, key: str, body: bytes) -> datetime:
        self.s3.put_object(Bucket=INGEST, Key=key, Body=body)
        return self.s3.head_object(Bucket=INGEST, Key=key)["LastModified"].astimezone(UTC)

    def per_minute(
        self, namespace: str, name: str, dims: list[dict[str, str]], start: datetime, end: datetime
    ) -> dict[datetime, float]:
        """Sum of ``name`` over several dimension sets, one value per minute (Period 60)."""
        resp = self.cw.get_metric_data(
            MetricDataQueries=metric_queries(namespace, name, dims),
            StartTime=start - timedelta(minutes=2),
            EndTime=end + timedelta(minutes=3),
        )
        out: dict[datetime, float] = {}
        for result in resp["MetricDataResults"]:
            for t, v in zip(result["Timestamps"], result["Values"], strict=True):
                out[t.astimezone(UTC)] = out.get(t.astimezone(UTC), 0) + v
        return {t: v for t, v in sorted(out.items()) if v}

    def metric_sum(
        self, namespace: str, name: str, dims: dict[str, str], start: datetime, end: datetime
    ) -> float:
        resp = self.cw.get_metric_data(
            MetricDataQueries=metric_queries(namespace, name, [dims]),
            StartTime=start - timedelta(minutes=1),
            EndTime=end + timedelta(minutes=1),
        )
        return sum(resp["MetricDataResults"][0]["Values"])


@pytest.fixture(scope="session")
def airflow_db() -> None:
    migrate_airflow_db()


@pytest.fixture
def catalog(aws, airflow_db):
    """The setup DAG, run for real: Glue database/tables and the sample rules."""
    from edgesense_setup import dag_object

    assert dag_object.test().state == "success"
    return aws
