"""Publisher back-off and ledger logic with in-memory stand-ins for S3 and CloudWatch.

The stand-ins exist so that throttling and failures can be produced on demand; the same
paths run against a real moto_server in tests/e2e/test_ingest_dag.py.
"""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError

from edgesense.aws.publish import Publisher, marker_key
from edgesense.metrics import Window, pack
from edgesense.plan import BatchPlan, BatchSummary


class MemoryS3:
    """Just enough of S3 for the ledger and the lease, conditional writes included."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}
        self.n = 0

    def _fail(self, op: str):
        return ClientError({"Error": {"Code": "PreconditionFailed"}}, op)

    def put_object(self, Bucket, Key, Body, IfNoneMatch=None, IfMatch=None, **_):
        if IfNoneMatch == "*" and Key in self.objects:
            raise self._fail("PutObject")
        if IfMatch is not None and self.etags.get(Key) != IfMatch:
            raise self._fail("PutObject")
        self.n += 1
        self.objects[Key], self.etags[Key] = Body, f'"{self.n}"'
        return {"ETag": self.etags[Key]}

    def get_object(self, Bucket, Key):
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key]), "ETag": self.etags[Key]}

    def delete_object(self, Bucket, Key):
        self.objects.pop(Key, None)

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


def plan_of(calls) -> BatchPlan:
    """A plan of batch ``batch`` from before hashes (its markers carry none)."""
    return BatchPlan("batch", "2026-11-24T12:01:00+00:00", tuple(calls), (), BatchSummary("batch"))


def plan(n_calls: int) -> BatchPlan:
    datums = [{"MetricName": "M", "Dimensions": [{"Name": "Host", "Value": f"h{i}"}],
               "Timestamp": "2026-11-24T12:00:00Z", "Unit": "Count", "Value": 1.0} for i in range(n_calls * 1000)]  # fmt: skip
    return plan_of(pack("ns", datums))


def test_throttled_calls_are_retried_with_growing_delays_then_succeed():
    cw, sleeps = ScriptedCloudWatch("Throttling", "Throttling", "ThrottlingException"), []
    pub = Publisher(cw, MemoryS3(), "b", base_delay=0.5, max_attempts=8, sleep=sleeps.append)

    result = pub.publish(plan(1))

    assert result["calls_sent"] == 1
    assert result["datums_sent"] == 1000
    assert len(cw.accepted) == 1
    assert len(sleeps) == 3
    assert all(0 <= s <= 0.5 * 2**i for i, s in enumerate(sleeps))


def test_a_non_retryable_error_fails_at_once_and_leaves_no_marker():
    s3 = MemoryS3()
    pub = Publisher(ScriptedCloudWatch("InvalidParameterValue"), s3, "b", sleep=lambda _: None)

    with pytest.raises(ClientError, match="InvalidParameterValue"):
        pub.publish(plan(1))
    assert marker_key("batch", 0) not in s3.objects
    assert marker_key("batch", 0, "intent") not in s3.objects  # an error reply: certainly not applied


def test_throttling_beyond_the_attempt_budget_fails_the_task():
    pub = Publisher(
        ScriptedCloudWatch(*["Throttling"] * 3), MemoryS3(), "b", max_attempts=3, sleep=lambda _: None
    )
    with pytest.raises(ClientError, match="Throttling"):
        pub.publish(plan(1))


def test_a_replayed_plan_sends_only_the_calls_with_no_marker_at_all():
    s3, cw = MemoryS3(), ScriptedCloudWatch()
    p = plan(3)
    Publisher(cw, s3, "b").publish(p)
    for kind in ("intent", "done"):  # as if call 1 had never been attempted
        del s3.objects[marker_key("batch", 1, kind)]

    again = Publisher(cw, s3, "b").publish(p)

    assert (again["calls_sent"], again["calls_skipped"], again["calls_ambiguous"]) == (1, 2, 0)
    assert len(cw.accepted) == 4


def test_a_call_with_an_intent_but_no_done_marker_is_reported_and_never_resent():
    """An intent without done means the call may have reached CloudWatch: at most once."""
    s3, cw = MemoryS3(), ScriptedCloudWatch()
    p = plan(2)
    Publisher(cw, s3, "b").publish(p)
    del s3.objects[marker_key("batch", 0, "done")]

    again = Publisher(cw, s3, "b").publish(p)

    assert (again["calls_sent"], again["calls_ambiguous"]) == (0, 1)
    assert len(cw.accepted) == 2


@pytest.mark.parametrize("max_age_days", [14, 20], ids=["default", "longer-setting"])
def test_datums_that_aged_past_the_14_day_window_are_dropped_at_send_time(max_age_days):
    """Even a configured age above CloudWatch's 14 days: such a datum would fail the whole call."""
    from datetime import UTC, datetime, timedelta

    cw = ScriptedCloudWatch()
    old = (datetime.now(UTC) - timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fresh = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    datums = [
        {"MetricName": "M", "Dimensions": [], "Timestamp": t, "Unit": "Count", "Value": 1.0}
        for t in (old, fresh)
    ]
    window = Window(max_age=timedelta(days=max_age_days))
    result = Publisher(cw, MemoryS3(), "b", window=window).publish(plan_of(pack("ns", datums)))

    assert (result["datums_sent"], result["datums_dropped"]) == (1, 1)
    assert [d["Timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ") for d in cw.accepted[0]["MetricData"]] == [fresh]


def hashed(n_calls: int) -> BatchPlan:
    return plan(n_calls).hashed(writer="test")


def test_markers_name_their_plan_and_a_ledger_of_another_plan_is_refused():
    from edgesense.plan import PlanConflict

    s3, cw = MemoryS3(), ScriptedCloudWatch()
    first = hashed(2)
    Publisher(cw, s3, "b").publish(first)
    assert marker_key("batch", 1, "done", first.plan_hash) in s3.objects
    other = hashed(3)  # a different plan for the same batch, as an unconditional overwrite once made

    with pytest.raises(PlanConflict, match="markers of plan"):
        Publisher(cw, s3, "b").publish(other)
    assert len(cw.accepted) == 2


def test_a_plan_whose_calls_do_not_match_its_hash_is_refused():
    from edgesense.plan import PlanConflict

    p = hashed(1)
    p.calls[0].datums[0]["Value"] = 2.0
    with pytest.raises(PlanConflict, match="do not match its hash"):
        Publisher(ScriptedCloudWatch(), MemoryS3(), "b").publish(p)


def test_a_call_whose_intent_another_publisher_created_first_is_left_to_it():
    """Two publishers of one batch: the intent is created with If-None-Match, so only one sends."""
    s3, cw = MemoryS3(), ScriptedCloudWatch()
    p = hashed(2)
    s3.put_object(Bucket="b", Key=marker_key("batch", 1, "intent", p.plan_hash), Body=b"{}")
    real_list = s3.get_paginator

    class LateLedger:  # the other publisher's intent appears after this one listed the ledger
        def paginate(self, Bucket, Prefix):
            yield {"Contents": []}

    s3.get_paginator = lambda name: LateLedger()
    result = Publisher(cw, s3, "b").publish(p)
    s3.get_paginator = real_list

    assert (result["calls_sent"], result["calls_skipped"]) == (1, 1)
    assert len(cw.accepted) == 1


def test_an_ambiguous_call_is_reported_with_the_minutes_and_metrics_it_carried():
    s3, cw = MemoryS3(), ScriptedCloudWatch()
    p = hashed(2)
    Publisher(cw, s3, "b").publish(p)
    del s3.objects[marker_key("batch", 0, "done", p.plan_hash)]

    again = Publisher(cw, s3, "b").publish(p)

    assert again["ambiguous"] == ["1000 datums in ns, minutes 2026-11-24T12:00:00Z, metrics M"]
