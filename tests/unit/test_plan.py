"""The plan, the contract between aggregate and publish: built purely, and stable as JSON.

Plans stored by earlier versions must keep reading (and hashing) the same, or a replay
would look like another plan and be refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from edgesense.aggregate import BatchResult
from edgesense.config import Settings
from edgesense.metrics import Call
from edgesense.plan import Aggregated, BatchPlan, BatchSummary, PlanConflict, build_plan, calls_hash

NOW = datetime(2026, 11, 30, 10, 5, tzinfo=UTC)


def minute_row(minute: datetime, status: int = 200, n: int = 3, host: str = "www.example.abc") -> dict:
    return {"minute": minute, "host": host, "url_pattern": "Api", "status": status, "requests": n, "bytes": 10 * n,
            "turnaround_ms_sum": 5 * n, "turnaround_count": n, "transfer_ms_sum": n, "cache_hits": 1}  # fmt: skip


def aggregated(rows: list[dict], **result) -> Aggregated:
    objects = [
        {
            "key": "logs/a.gz",
            "etag": "e",
            "size": 1,
            "last_modified": (NOW - timedelta(seconds=40)).isoformat(),
        }
    ]
    return Aggregated(batch_id="20261130T100400-20261130T100500-0", objects=objects,
                      result=BatchResult(lines_valid=sum(r["requests"] for r in rows), **result),
                      minute_rows=rows, latency_rows=[], outputs=["minute_metrics/dt=2026-11-30/hour=10/part-x-0.parquet"])  # fmt: skip


def test_build_plan_counts_the_batch_and_packs_traffic_then_pipeline_calls():
    plan = build_plan(
        Settings(), aggregated([minute_row(NOW - timedelta(minutes=1))]), now=NOW, rules_key="k"
    )

    assert [c.namespace for c in plan.calls] == ["edgesense/dev", "edgesense/dev/pipeline"]
    assert plan.summary.requests == 3
    assert plan.summary.calls == 2
    assert plan.summary.datums == sum(len(c.datums) for c in plan.calls)
    health = {d["MetricName"]: d["Value"] for d in plan.calls[1].datums}
    assert health["LinesProcessed"] == 3
    assert health["IngestLagSeconds"] == 40
    assert plan.rules_key == "k"
    assert plan.plan_hash is None  # hashed only when stored


def test_minutes_outside_cloudwatchs_window_stay_out_of_the_calls_and_are_counted():
    rows = [minute_row(NOW - timedelta(days=15)), minute_row(NOW - timedelta(minutes=2), n=4)]
    settings = Settings(max_age_days=14)

    plan = build_plan(settings, aggregated(rows), now=NOW, rules_key=None)

    traffic = [d for d in plan.calls[0].datums if d["MetricName"] == "ResponseCountTotal"]
    assert [d["Value"] for d in traffic] == [4]
    assert plan.summary.datums_out_of_window > 0
    assert plan.summary.requests == 7  # Parquet and Athena keep every request


def test_the_budget_rows_and_the_rules_fallback_reach_the_pipeline_metrics():
    rows = [minute_row(NOW - timedelta(minutes=1))]
    rolled_rows = [{**rows[0], "url_pattern": "Other"}]

    plan = build_plan(Settings(max_patterns_per_host=1), aggregated(rows), now=NOW, rules_key="k",
                      rules_fallback=True, cloudwatch_rows=rolled_rows, rolled=[("www.example.abc", "Api")])  # fmt: skip

    patterns = {
        dim["Value"] for d in plan.calls[0].datums for dim in d["Dimensions"] if dim["Name"] == "UrlPatternId"
    }
    assert patterns == {"Other"}
    health = {d["MetricName"]: d["Value"] for d in plan.calls[1].datums}
    assert (health["PatternsOverBudget"], health["RulesSnapshotFallback"]) == (1, 1)


def test_a_plan_round_trips_through_json_and_keeps_its_hash():
    plan = build_plan(
        Settings(), aggregated([minute_row(NOW - timedelta(minutes=1))]), now=NOW, rules_key="k"
    )
    stored = plan.hashed(writer="w1")

    again = BatchPlan.from_json(json.loads(json.dumps(stored.to_json())))

    assert again == stored
    assert again.verified().plan_hash == calls_hash(plan.calls)


def test_a_plan_stored_by_an_earlier_version_still_reads_and_publishes_unhashed():
    """Before hashes and rules keys: no plan_hash, writer, rules_key; a summary with fewer fields."""
    doc = {"batch_id": "b", "created_at": "2026-01-01T00:00:00+00:00", "outputs": ["requests/dt=2026-01-01/hour=00/part-b-0.parquet"],
           "calls": [{"namespace": "ns", "datums": [{"MetricName": "M", "Value": 1.0}]}],
           "summary": {"batch_id": "b", "requests": 5, "partitions": [["2026-01-01", "00"]]}}  # fmt: skip

    plan = BatchPlan.from_json(doc)

    assert plan.plan_hash is None
    assert plan.rules_key is None
    assert plan.summary == BatchSummary(batch_id="b", requests=5)
    assert plan.archived_by_ingest  # its requests/ were written by the ingest of that version
    assert plan.metrics_outputs == ()
    assert plan.verified() is plan
    assert plan.to_json()["calls"] == doc["calls"]


def test_a_plan_whose_calls_were_changed_after_hashing_is_refused():
    plan = BatchPlan(
        "b", "", (Call("ns", ({"MetricName": "M", "Value": 1.0},)),), (), BatchSummary("b")
    ).hashed("w")
    tampered = BatchPlan.from_json(
        {**plan.to_json(), "calls": [{"namespace": "ns", "datums": [{"MetricName": "M", "Value": 2.0}]}]}
    )

    with pytest.raises(PlanConflict, match="do not match its hash"):
        tampered.verified()


def test_a_reprocessed_plan_keeps_the_stored_calls_hash_and_call_counts():
    stored = BatchPlan("b", "", (Call("ns", ({"MetricName": "M", "Value": 1.0},)),), ("requests/x",),
                       BatchSummary("b", datums=1, calls=1), rules_key="old").hashed("w")  # fmt: skip
    fresh = BatchPlan("b", "", (Call("ns", ({"MetricName": "M", "Value": 9.0},)),), ("minute_metrics/y",),
                      BatchSummary("b", requests=9, datums=5, calls=3), rules_key="old")  # fmt: skip

    plan = fresh.keeping_calls_of(stored)

    assert (plan.calls, plan.plan_hash) == (stored.calls, stored.plan_hash)
    assert (plan.summary.datums, plan.summary.calls, plan.summary.requests) == (1, 1, 9)
    assert plan.outputs == ("minute_metrics/y",)
    assert plan.legacy_requests  # the stored plan's requests/ were the ingest's: the archive leaves it alone


def test_a_batch_summary_reads_as_one_sentence_in_the_task_log():
    from edgesense.plan import BatchSummary

    busy = BatchSummary("b1", objects=3, requests=5990, datums=420, calls=1, lines_valid=5990, lines_rejected=10,
                        reject_reasons={"not valid JSON": 10}, files_rejected=[{"key": "x", "reason": "gzip"}],
                        datums_out_of_window=2, rules_version="4f53")  # fmt: skip
    assert busy.sentence() == (
        "batch b1: 3 object(s), 5,990 valid line(s), 10 rejected (0.2%) [10 not valid JSON], 1 file(s) rejected "
        "-> 5,990 request(s), 420 datum(s) (2 outside CloudWatch's window) in 1 call(s); rules 4f53"
    )
    assert BatchSummary("b2").sentence() == (
        "batch b2: 0 object(s), 0 valid line(s), 0 rejected -> 0 request(s), 0 datum(s) in 0 call(s); rules ?"
    )
