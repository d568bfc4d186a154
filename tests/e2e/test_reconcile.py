"""edgesense_reconcile on a real moto_server: 0 mismatches after a normal day, exactly the
minutes of a lost call after one, and a repair that makes the sums exact once.

A lost call is a network failure after the intent marker: the one thing that cannot be
made to happen for real here. ``Publisher._put`` raises botocore's ReadTimeoutError for
one call without sending it, which is what the publisher sees when a connection drops
mid-call (it cannot tell whether CloudWatch applied it). Everything else is real.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ReadTimeoutError

from edgesense.aws.publish import Publisher
from edgesense.aws.sources import Interval
from edgesense.config import Settings
from edgesense.reconcile import AMBIGUOUS, requests_of
from edgesense.tasks.aggregate import aggregate_batches
from edgesense.tasks.ingest import claim_batches, publish_batches, sync_rules
from edgesense.tasks.reconcile import REPAIR_PREFIX, reconcile_day, repair_day, report_key
from helpers import STORE
from tests.e2e.test_crashes import lines_per_status
from tests.e2e.test_ingest_dag import STATUSES, assert_all_succeeded, total_requests

pytestmark = pytest.mark.e2e

YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
MINUTES = [YESTERDAY + timedelta(minutes=i) for i in range(240)]


@pytest.fixture(autouse=True)
def no_retry_wait(monkeypatch):
    monkeypatch.setenv("EDGESENSE_RETRY_DELAY_SECONDS", "0")


def ingest(aws, key: str, *, lose_call: int | None = None, monkeypatch=None) -> str:
    """One batch of yesterday's 240 minutes (several PutMetricData calls), published; with
    ``lose_call``, that call drops mid-flight and the publish is retried, as Airflow would."""
    lm = aws.put_log(key, lines_per_status(MINUTES))
    s = Settings.from_env()
    interval = Interval(lm, lm + timedelta(seconds=1))
    [bid] = claim_batches(s, interval, prefix=key.rsplit("/", 1)[0] + "/", now=interval.end)["batches"]
    aggregate_batches(s, [bid], sync_rules(s)["key"])
    if lose_call is not None:
        real, seen = Publisher._put, {"n": 0}

        def dropped(self, call):
            seen["n"] += 1
            if seen["n"] == lose_call + 1:
                raise ReadTimeoutError(endpoint_url="https://monitoring.us-east-1.amazonaws.com")
            return real(self, call)

        monkeypatch.setattr(Publisher, "_put", dropped)
        with pytest.raises(ReadTimeoutError):
            publish_batches(s, [bid])
        monkeypatch.setattr(Publisher, "_put", real)
    result = publish_batches(s, [bid])[bid]
    assert result["calls_ambiguous"] == (0 if lose_call is None else 1)
    return bid


def held(aws) -> float:
    return total_requests(aws, MINUTES[0], MINUTES[-1] + timedelta(seconds=59))


def test_a_normal_day_reconciles_to_zero_mismatches_through_the_dag(catalog, aws):
    from edgesense_reconcile import dag_object

    ingest(aws, "logs/rec/ok/ak-1-1-1-ds.gz")
    day = YESTERDAY.date().isoformat()
    assert_all_succeeded(dag_object.test(run_conf={"day": day, "repair": True}))

    report = json.loads(aws.s3.get_object(Bucket=STORE, Key=report_key(YESTERDAY.date()))["Body"].read())
    assert (report["minutes_compared"], report["minutes_mismatched"], report["repairable"]) == (240, 0, [])
    mismatched = aws.cw.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {"Namespace": "edgesense/test/pipeline",
                            "MetricName": "MinutesMismatched"}, "Period": 60, "Stat": "Maximum"}}],
        StartTime=datetime.now(UTC) - timedelta(minutes=10), EndTime=datetime.now(UTC) + timedelta(minutes=2),
    )["MetricDataResults"][0]["Values"]  # fmt: skip
    assert mismatched == [0.0]


def test_a_lost_call_shows_as_exactly_its_minutes_and_one_repair_makes_the_day_exact(
    catalog, aws, monkeypatch
):
    bid = ingest(aws, "logs/rec/lost/ak-2-2-2-ds.gz", lose_call=1, monkeypatch=monkeypatch)
    total = len(MINUTES) * len(STATUSES)
    plan = Settings.from_env()
    from edgesense.aws.plans import PlanStore

    lost = requests_of(PlanStore(aws.s3, STORE).load(bid).calls[1])
    assert 0 < held(aws) < total

    report = reconcile_day(plan, YESTERDAY.date())
    assert {(m["minute"], m["host"]) for m in report["mismatches"]} == {(k.isoformat(), h) for k, h in lost}
    assert {m["reason"] for m in report["mismatches"]} == {AMBIGUOUS}
    assert {m["missing"] for m in report["mismatches"]} == set(lost.values())
    assert report["repairable"] == [f"{bid}#1"]

    # Not settled yet (the default waits 150 minutes after the lost call): nothing is sent.
    assert repair_day(plan, YESTERDAY.date())["waiting"] == [f"{bid}#1"]
    monkeypatch.setenv("EDGESENSE_REPAIR_SETTLE_OLD_HOURS", "0")  # points over a day old when sent
    assert held(aws) == total - sum(lost.values())

    monkeypatch.setenv("EDGESENSE_REPAIR_SETTLE_MINUTES", "0")
    settled = Settings.from_env()
    # The report must be read after the settle time: a fresh one, as a later run takes.
    report = reconcile_day(settled, YESTERDAY.date())
    assert report["repairable"] == [f"{bid}#1"]
    assert repair_day(settled, YESTERDAY.date())["repaired"] == [f"{bid}#1"]
    assert held(aws) == total
    # A second repair of the same report sends nothing: the repair ledger has the call.
    again = repair_day(settled, YESTERDAY.date())
    assert (again["repaired"], again["already"]) == ([], [f"{bid}#1"])
    assert held(aws) == total
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=STORE, Prefix=REPAIR_PREFIX)["Contents"]]
    assert sorted(k.rsplit(".", 1)[1] for k in keys) == ["done", "intent"]

    after = reconcile_day(settled, YESTERDAY.date())
    assert (after["minutes_mismatched"], after["repairable"]) == (0, [])


def test_a_day_that_has_not_ended_or_is_past_cloudwatchs_retention_is_refused_in_words(catalog):
    from edgesense.tasks.reconcile import DayOutOfReach

    s = Settings.from_env()
    with pytest.raises(DayOutOfReach, match="has not ended yet"):
        reconcile_day(s, datetime.now(UTC).date())
    with pytest.raises(DayOutOfReach, match="more than 14 days ago"):
        reconcile_day(s, (datetime.now(UTC) - timedelta(days=20)).date())
