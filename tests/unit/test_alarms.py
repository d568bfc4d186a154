"""The alarms edgesense wants: names, metric math, thresholds from the settings, one owner."""

from __future__ import annotations

import pytest

from edgesense.alarms import MAX_NAME, Thresholds, alarm_name, desired, managed_digest
from edgesense.config import Settings
from helpers import ROOT

SIGNALS = ("Requests", "ErrorRate5XX", "TurnAroundP95")


def wanted(hosts, shape="default", **thresholds):
    return desired("prod", "edgesense/prod", "edgesense/prod/pipeline", hosts, Thresholds(**thresholds),
                   shape=shape, signals=SIGNALS)  # fmt: skip


def test_every_host_gets_a_5xx_rate_and_an_anomaly_alarm_besides_the_three_pipeline_alarms():
    names = [a.name for a in wanted(["b.example.com", "a.example.com"])]
    assert names == [
        "edgesense-prod-pipeline-stopped", "edgesense-prod-reject-ratio", "edgesense-prod-ingest-lag",
        "edgesense-prod-5xx-rate-a.example.com", "edgesense-prod-anomaly-a.example.com",
        "edgesense-prod-5xx-rate-b.example.com", "edgesense-prod-anomaly-b.example.com",
    ]  # fmt: skip


def test_the_5xx_rate_is_metric_math_over_the_hosts_rollups_with_a_minimum_of_requests():
    rate = next(a for a in wanted(["a.example.com"], error_rate_percent=2.5, error_rate_min_requests=50)
                if a.kind == "5xx-rate")  # fmt: skip
    metrics = {m["Id"]: m for m in rate.request["Metrics"]}
    assert metrics["result"]["Expression"] == "IF(requests >= 50, 100 * errors / requests, 0)"
    assert metrics["errors"]["MetricStat"]["Metric"] == {
        "Namespace": "edgesense/prod", "MetricName": "Errors_5XX", "Dimensions": [{"Name": "Host", "Value": "a.example.com"}]
    }  # fmt: skip
    assert metrics["requests"]["MetricStat"]["Metric"]["MetricName"] == "Requests"
    assert rate.request["Threshold"] == 2.5
    assert [m["Id"] for m in rate.request["Metrics"] if m["ReturnData"]] == ["result"]


def test_a_stopped_pipeline_is_missing_data_treated_as_breaching():
    stopped = next(a for a in wanted([], stopped_minutes=7) if a.kind == "pipeline-stopped")
    assert stopped.request["MetricName"] == "LinesProcessed"
    assert stopped.request["TreatMissingData"] == "breaching"
    assert stopped.request["EvaluationPeriods"] == stopped.request["DatapointsToAlarm"] == 7


def test_the_anomaly_alarm_takes_the_highest_score_of_the_hosts_signals():
    anomaly = next(a for a in wanted(["a.example.com"], anomaly_score=4.0) if a.kind == "anomaly")
    result = anomaly.request["Metrics"][-1]
    assert result["Expression"] == "MAX([s0, s1, s2])"
    dims = [m["MetricStat"]["Metric"]["Dimensions"] for m in anomaly.request["Metrics"][:-1]]
    assert [d[1]["Value"] for d in dims] == list(SIGNALS)
    assert anomaly.request["Threshold"] == 4.0


def test_every_alarm_notifies_the_topic_and_carries_the_marker_and_digest_the_reconciler_reads():
    for alarm in wanted(["a.example.com"]):
        request = alarm.put_request("arn:aws:sns:us-east-1:123456789012:edgesense-prod-alarms")
        assert (
            request["AlarmActions"]
            == request["OKActions"]
            == ["arn:aws:sns:us-east-1:123456789012:edgesense-prod-alarms"]
        )
        assert managed_digest(request["AlarmDescription"], "prod") == alarm.digest
        assert managed_digest(request["AlarmDescription"], "prod-eu") is None
        assert len(request["AlarmDescription"]) <= 1024


def test_a_changed_threshold_changes_the_digest_so_the_alarm_is_put_again():
    before = {a.name: a.digest for a in wanted(["a.example.com"])}
    after = {a.name: a.digest for a in wanted(["a.example.com"], error_rate_percent=9.0)}
    assert [n for n in before if before[n] != after[n]] == ["edgesense-prod-5xx-rate-a.example.com"]


def test_the_original_shape_has_no_rate_alarms_but_keeps_the_anomaly_alarms():
    kinds = {a.kind for a in wanted(["a.example.com"], shape="original")}
    assert "5xx-rate" not in kinds
    assert "anomaly" in kinds


def test_a_long_host_name_still_gives_a_valid_unique_alarm_name():
    a, b = alarm_name("prod", "anomaly", "a" * 300), alarm_name("prod", "anomaly", "a" * 299 + "b")
    assert len(a) <= MAX_NAME
    assert len(b) <= MAX_NAME
    assert a != b


def test_every_request_keeps_cloudwatchs_limits_even_for_the_longest_host_name():
    for alarm in wanted(["h" * 253], stopped_minutes=1440):
        request = alarm.put_request("arn:aws:sns:us-east-1:123456789012:t")
        assert len(request["AlarmName"]) <= 255
        assert len(request["AlarmDescription"]) <= 1024
        metrics = request.get("Metrics", [])
        assert len([m for m in metrics if "MetricStat" in m]) <= 10
        assert len([m for m in metrics if m["ReturnData"]]) == (1 if metrics else 0)
        assert request["DatapointsToAlarm"] <= request["EvaluationPeriods"]
        period = request.get("Period") or max(m["MetricStat"]["Period"] for m in metrics if "MetricStat" in m)
        assert period * request["EvaluationPeriods"] <= 86400


def test_a_stopped_alarm_longer_than_a_day_is_refused_by_the_settings():
    with pytest.raises(ValueError, match="1440"):
        Settings.from_env({"EDGESENSE_ALARM_STOPPED_MINUTES": "1441"})


def test_thresholds_come_from_the_settings():
    s = Settings.from_env({"EDGESENSE_ALARM_ERROR_RATE_PERCENT": "3", "EDGESENSE_ANOMALY_THRESHOLD": "8"})
    assert s.thresholds.error_rate_percent == 3.0
    assert s.thresholds.anomaly_score == 8.0
    with pytest.raises(ValueError, match="EDGESENSE_ALARM_REJECT_RATIO"):
        Settings.from_env({"EDGESENSE_ALARM_REJECT_RATIO": "5"})


def test_the_cloudformation_stack_defines_no_metric_alarm_the_ops_dag_owns_them_all():
    template = (ROOT / "deploy" / "cloudformation" / "edgesense.yaml").read_text()
    assert "AWS::CloudWatch::Alarm" not in template
    assert "AWS::SNS::Topic" in template
