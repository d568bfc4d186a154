"""Publisher back-off and ledger logic with in-memory stand-ins for S3 and CloudWatch.

The stand-ins exist so that throttling and failures can be produced on demand; the same
paths run against a real moto_server in tests/e2e/test_ingest_dag.py.
"""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError

from edgesense.aws.publish import Publisher, marker_key
from edgesense.metrics import pack


class MemoryS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, Bucket, Key, Body, **_):
        self.objects[Key] = Body

    def get_object(self, Bucket, Key):
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}

    def get_paginator(self, _name):
        store = self

        class Pages:
            def paginate(self, Bucket, Prefix):
                yield {"Contents": [{"Key": k} for k in sorted(store.objects) if k.startswith(Prefix)]}

        return Pages()


class ScriptedCloudWatch:
    """Raises the scripted error codes in order, then accepts every call."""

    def __init__(self, *codes: str) -> None:
        self.codes = list(codes)
        self.accepted: list[dict] = []

    def put_metric_data(self, **kw):
        if self.codes:
            raise ClientError({"Error": {"Code": self.codes.pop(0), "Message": "x"}}, "PutMetricData")
        self.accepted.append(kw)


def plan(n_calls: int) -> dict:
    datums = [{"MetricName": "M", "Dimensions": [{"Name": "Host", "Value": f"h{i}"}],
               "Timestamp": "2026-11-24T12:00:00Z", "Unit": "Count", "Value": 1.0} for i in range(n_calls * 1000)]  # fmt: skip
    return {"calls": [c.to_json() for c in pack("ns", datums)]}


def test_throttled_calls_are_retried_with_growing_delays_then_succeed():
    cw, sleeps = ScriptedCloudWatch("Throttling", "Throttling", "ThrottlingException"), []
    pub = Publisher(cw, MemoryS3(), "b", base_delay=0.5, max_attempts=8, sleep=sleeps.append)

    result = pub.publish("batch", plan(1))

    assert result == {"calls_sent": 1, "calls_skipped": 0, "datums_sent": 1000, "calls_total": 1}
    assert len(cw.accepted) == 1
    assert len(sleeps) == 3
    assert all(0 <= s <= 0.5 * 2**i for i, s in enumerate(sleeps))


def test_a_non_retryable_error_fails_at_once_and_leaves_no_marker():
    s3 = MemoryS3()
    pub = Publisher(ScriptedCloudWatch("InvalidParameterValue"), s3, "b", sleep=lambda _: None)

    with pytest.raises(ClientError, match="InvalidParameterValue"):
        pub.publish("batch", plan(1))
    assert marker_key("batch", 0) not in s3.objects


def test_throttling_beyond_the_attempt_budget_fails_the_task():
    pub = Publisher(
        ScriptedCloudWatch(*["Throttling"] * 3), MemoryS3(), "b", max_attempts=3, sleep=lambda _: None
    )
    with pytest.raises(ClientError, match="Throttling"):
        pub.publish("batch", plan(1))


def test_a_replayed_plan_sends_only_the_calls_without_a_marker():
    s3, cw = MemoryS3(), ScriptedCloudWatch()
    p = plan(3)
    Publisher(cw, s3, "b").publish("batch", p)
    del s3.objects[marker_key("batch", 1)]  # as if the worker died before writing this marker

    again = Publisher(cw, s3, "b").publish("batch", p)

    assert again == {"calls_sent": 1, "calls_skipped": 2, "datums_sent": 1000, "calls_total": 3}
    assert len(cw.accepted) == 4
