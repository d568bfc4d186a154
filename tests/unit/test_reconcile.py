"""Reasons for every differing minute x host, and which lost calls may be sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edgesense.metrics import Call
from edgesense.reconcile import (
    AMBIGUOUS,
    MORE_IN_CLOUDWATCH,
    OUT_OF_WINDOW,
    UNKNOWN,
    UNPUBLISHED,
    Ledgers,
    Report,
    compare,
    landed,
    repairable,
)

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
A, B = "a.example.com", "b.example.com"


def total(minute: datetime, host: str, n: float, status: int = 200) -> dict:
    return {"MetricName": "ResponseCountTotal", "Timestamp": minute.strftime("%Y-%m-%dT%H:%M:%SZ"), "Value": n,
            "Dimensions": [{"Name": "Host", "Value": host}, {"Name": "ResponseCode", "Value": str(status)}]}  # fmt: skip


def call(*datums: dict) -> Call:
    return Call("edgesense/prod", datums)


def m(i: int) -> datetime:
    return T0 + timedelta(minutes=i)


def test_a_complete_day_has_no_mismatch():
    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 10), total(m(1), A, 5)), done=True, intent=True)
    assert compare({(m(0), A): 10, (m(1), A): 5}, {(m(0), A): 10, (m(1), A): 5}, led) == []


def test_a_lost_call_explains_exactly_its_minutes_and_only_it_is_repairable():
    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 10)), done=True, intent=True)
    led.add_call(("b1", 1), call(total(m(1), A, 7, 200), total(m(1), A, 1, 500), total(m(2), B, 4)),
                 done=False, intent=True)  # fmt: skip
    counted = {(m(0), A): 10, (m(1), A): 8, (m(2), B): 4}
    mismatches = compare(counted, {(m(0), A): 10}, led)

    assert [(x.minute, x.host, x.missing, x.reason, x.calls) for x in mismatches] == [
        (m(1), A, 8, AMBIGUOUS, (("b1", 1),)),
        (m(2), B, 4, AMBIGUOUS, (("b1", 1),)),
    ]
    assert repairable(mismatches, led) == [("b1", 1)]
    assert landed(mismatches, led, {(m(0), A), (m(1), A), (m(2), B)}) == []


def test_a_lost_reply_whose_call_landed_is_no_mismatch_and_is_never_repaired():
    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 10)), done=False, intent=True)
    mismatches = compare({(m(0), A): 10}, {(m(0), A): 10}, led)
    assert mismatches == []
    assert repairable(mismatches, led) == []
    assert landed(mismatches, led, {(m(0), A)}) == [("b1", 0)]
    # Not compared (its minute lies in another day): not known to have landed.
    assert landed(mismatches, led, set()) == []


def test_a_call_that_is_short_at_one_minute_and_complete_at_another_cannot_be_told_so_is_left():
    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 10), total(m(1), A, 3)), done=False, intent=True)
    mismatches = compare({(m(0), A): 10, (m(1), A): 3}, {(m(1), A): 3}, led)
    assert [x.reason for x in mismatches] == [AMBIGUOUS]
    assert repairable(mismatches, led) == []


def test_two_ambiguous_calls_on_one_minute_where_only_one_landed_cannot_be_told_apart():
    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 4)), done=False, intent=True)
    led.add_call(("b2", 0), call(total(m(0), A, 6)), done=False, intent=True)
    mismatches = compare({(m(0), A): 10}, {(m(0), A): 4}, led)  # b1 landed, b2 did not: 6 short, not 10
    assert [x.reason for x in mismatches] == [UNKNOWN]
    assert repairable(mismatches, led) == []


def test_cloudwatch_holding_more_is_reported_and_never_repaired():
    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 10)), done=False, intent=True)
    mismatches = compare({(m(0), A): 10}, {(m(0), A): 20}, led)
    assert [(x.reason, x.missing) for x in mismatches] == [(MORE_IN_CLOUDWATCH, -10)]
    assert repairable(mismatches, led) == []


def test_minutes_left_out_of_every_plan_and_calls_not_sent_yet_have_their_own_reasons():
    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 10)), done=True, intent=True)
    led.add_call(("b1", 1), call(total(m(1), A, 5)), done=False, intent=False)
    mismatches = compare({(m(0), A): 10, (m(1), A): 5, (m(2), A): 9}, {(m(0), A): 10}, led)
    assert [(x.minute, x.reason) for x in mismatches] == [(m(1), UNPUBLISHED), (m(2), OUT_OF_WINDOW)]


def test_the_report_says_in_one_sentence_how_many_minutes_differ_and_why():
    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 10)), done=False, intent=True)
    report = Report(
        "2026-11-30", "edgesense/prod", 3, tuple(compare({(m(0), A): 10}, {}, led)), repaired=("b1#0",)
    )
    assert (
        report.sentence()
        == "2026-11-30: 1 of 3 minute x host mismatched (1 ambiguous call); 1 call(s) repaired"
    )
    assert report.to_json()["mismatches"][0]["calls"] == ["b1#0"]


def test_a_shortfall_that_an_unsent_call_or_an_unplanned_minute_explains_as_well_is_not_called_lost():
    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 2)), done=False, intent=True)
    led.add_call(("b2", 0), call(total(m(0), A, 2)), done=False, intent=False)  # not sent yet
    mismatches = compare({(m(0), A): 4}, {(m(0), A): 2}, led)
    assert [x.reason for x in mismatches] == [UNPUBLISHED]  # the unsent call fits as well
    assert repairable(mismatches, led) == []

    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 2)), done=False, intent=True)
    mismatches = compare({(m(0), A): 4}, {(m(0), A): 2}, led)  # 2 counted requests in no plan
    assert [x.reason for x in mismatches] == [OUT_OF_WINDOW]
    assert repairable(mismatches, led) == []


def test_a_lost_call_reaching_into_a_minute_outside_the_compared_range_cannot_be_repaired():
    led = Ledgers()
    led.add_call(("b1", 0), call(total(m(0), A, 3), total(m(-1), A, 2)), done=False, intent=True)
    mismatches = compare({(m(0), A): 3}, {}, led)  # m(-1) is yesterday's: not compared
    assert [x.reason for x in mismatches] == [AMBIGUOUS]
    assert repairable(mismatches, led) == []


def test_a_call_with_points_a_day_old_when_sent_waits_the_longer_settle_time():
    from edgesense.config import Settings
    from edgesense.tasks.reconcile import settle_time

    s = Settings(repair_settle_minutes=150, repair_settle_old_hours=50)
    fresh = call(total(m(0), A, 1))
    assert settle_time(fresh, m(0) + timedelta(hours=5), s) == timedelta(minutes=150)
    assert settle_time(fresh, m(0) + timedelta(hours=25), s) == timedelta(hours=50)


class Pages:
    """A stand-in for GetMetricData's paginator: moto always answers Complete, so an
    incomplete answer (PartialData, InternalError) cannot be made to happen there."""

    def __init__(self, pages):
        self.pages = pages

    def get_paginator(self, name):
        return self

    def paginate(self, **kw):
        return iter(self.pages)


def test_an_incomplete_cloudwatch_read_stops_the_reconciliation_instead_of_reading_zeros():
    import pytest

    from edgesense.aws.metric_reads import IncompleteRead, requests_per_minute

    dims = [[{"Name": "Host", "Value": A}, {"Name": "ResponseCode", "Value": "200"}]]
    ok = Pages(
        [
            {
                "MetricDataResults": [
                    {"Id": "m0", "StatusCode": "Complete", "Timestamps": [m(0)], "Values": [5.0]}
                ]
            }
        ]
    )
    assert requests_per_minute(ok, "edgesense/prod", dims, m(0), m(1)) == {(m(0), A): 5.0}
    bad = Pages(
        [{"MetricDataResults": [{"Id": "m0", "StatusCode": "InternalError", "Timestamps": [], "Values": []}]}]
    )
    with pytest.raises(IncompleteRead, match="InternalError"):
        requests_per_minute(bad, "edgesense/prod", dims, m(0), m(1))


def test_the_day_is_the_param_or_the_day_before_the_runs_interval_end_and_a_bad_one_is_named():
    import pytest

    from edgesense.tasks.reconcile import DayOutOfReach, day_to_reconcile

    assert day_to_reconcile("2026-11-30", None).isoformat() == "2026-11-30"
    assert day_to_reconcile(None, datetime(2026, 12, 1, 3, 0, tzinfo=UTC)).isoformat() == "2026-11-30"
    with pytest.raises(DayOutOfReach, match="'yesterday' is not a date"):
        day_to_reconcile("yesterday", None)
