"""Dashboard bodies come from the publisher's own metric definitions, in both shapes."""

from __future__ import annotations

import json

import pytest

from edgesense.dashboards import Target, bodies, insights, search
from edgesense.metrics import METRICS, PIPELINE_METRICS

DEFAULT = Target("edgesense/prod", "edgesense/prod/pipeline")
ORIGINAL = Target("edgesense-prod/totals", "edgesense-prod/totals/pipeline", "original")


def expressions(body: str) -> list[str]:
    return [m[0]["expression"] for w in json.loads(body)["widgets"] for m in w["properties"]["metrics"]
            if isinstance(m[0], dict)]  # fmt: skip


def test_every_traffic_metric_the_publisher_sends_is_on_the_traffic_dashboard():
    text = " ".join(expressions(bodies(DEFAULT, "prod")["edgesense-prod-traffic"]))
    missing = [m for m in METRICS if m != "ResponseCountTotal" and m != "Response_404" and f'"{m}"' not in text
               and f'MetricName="{m}"' not in text]  # fmt: skip
    assert not missing


def test_every_pipeline_metric_has_a_widget_and_the_anomaly_scores_show_the_alarm_threshold():
    body = json.loads(bodies(DEFAULT, "prod", anomaly_threshold=7.5)["edgesense-prod-pipeline"])
    *metrics, anomaly = body["widgets"]
    assert [w["properties"]["metrics"][0] for w in metrics] == [
        ["edgesense/prod/pipeline", name] for name in PIPELINE_METRICS
    ]
    assert anomaly["properties"]["metrics"][0][0]["expression"] == (
        """SEARCH('{"edgesense/prod",Host,Signal} MetricName="AnomalyScore"', 'Maximum', 60)"""
    )
    assert anomaly["properties"]["annotations"]["horizontal"][0]["value"] == 7.5


def rate_widget(body: dict, title: str) -> dict:
    return next(w for w in body["widgets"] if w["properties"]["title"].startswith(title))


def test_rates_are_metric_math_over_all_hosts_and_per_named_host():
    body = json.loads(
        bodies(DEFAULT, "prod", hosts=["www.example.com", "api.example.com"])["edgesense-prod-traffic"]
    )
    widget = rate_widget(body, "5XX rate")["properties"]["metrics"]
    expressions = {m[0]["id"]: m[0]["expression"] for m in widget if isinstance(m[0], dict)}
    assert expressions["all"] == "100 * SUM(pall) / SUM(wall)"
    assert 'MetricName="Errors_5XX"' in expressions["pall"]
    assert 'MetricName="Requests"' in expressions["wall"]
    per_host = [m for m in widget if not isinstance(m[0], dict)]
    assert per_host == [
        [
            "edgesense/prod",
            "Errors_5XX",
            "Host",
            "www.example.com",
            {"id": "p0", "visible": False, "stat": "Sum"},
        ],
        [
            "edgesense/prod",
            "Requests",
            "Host",
            "www.example.com",
            {"id": "w0", "visible": False, "stat": "Sum"},
        ],
        [
            "edgesense/prod",
            "Errors_5XX",
            "Host",
            "api.example.com",
            {"id": "p1", "visible": False, "stat": "Sum"},
        ],
        [
            "edgesense/prod",
            "Requests",
            "Host",
            "api.example.com",
            {"id": "w1", "visible": False, "stat": "Sum"},
        ],
    ]
    assert expressions["r1"] == "100 * p1 / w1"
    hits = rate_widget(body, "Cache-hit ratio")["properties"]["metrics"]
    assert hits[-2][:4] == ["edgesense/prod", "CacheHits", "Host", "api.example.com"] or any(
        m[:4] == ["edgesense/prod", "CacheHits", "Host", "api.example.com"]
        for m in hits
        if not isinstance(m[0], dict)
    )


def test_a_widget_draws_at_most_fifty_hosts_one_by_one_and_stays_under_cloudwatchs_500_metrics():
    hosts = [f"h{i}.example.com" for i in range(80)]
    widget = rate_widget(
        json.loads(bodies(DEFAULT, "prod", hosts=hosts)["edgesense-prod-traffic"]), "4XX rate"
    )
    named = {m[3] for m in widget["properties"]["metrics"] if not isinstance(m[0], dict)}
    assert named == set(hosts[:50])
    assert len(widget["properties"]["metrics"]) <= 500


def test_the_original_shape_has_no_rate_widgets_because_it_has_no_per_host_rollups():
    body = json.loads(bodies(ORIGINAL, "prod", hosts=["a.example.com"])["edgesense-prod-traffic"])
    assert not [w for w in body["widgets"] if "rate" in w["properties"]["title"]]


def test_per_host_views_group_by_host_so_new_hosts_need_no_redeploy():
    assert insights(DEFAULT, "Response_5XX") == (
        'SELECT SUM("Response_5XX") FROM SCHEMA("edgesense/prod", "Host", "UrlPatternId") GROUP BY "Host"'
    )
    assert search(DEFAULT, "TurnAroundTime", "p95") == (
        """SEARCH('{"edgesense/prod",Host} MetricName="TurnAroundTime"', 'p95', 60)"""
    )


def test_the_original_shape_queries_the_original_dimensions_and_has_no_bytes_or_latency():
    text = " ".join(expressions(bodies(ORIGINAL, "prod")["edgesense-prod-traffic"]))
    assert 'SCHEMA("edgesense-prod/totals", "ResponseCode", "Host", "UrlPatternId")' in text
    assert "BytesSent" not in text
    assert "TurnAroundTime" not in text


def test_a_namespace_outside_cloudwatchs_alphabet_or_an_unknown_grouping_is_refused():
    with pytest.raises(ValueError):
        insights(Target('x") OR 1=1 --', "p"), "Response_5XX")
    with pytest.raises(ValueError):
        insights(DEFAULT, "BytesSent", "UrlPatternId")


def test_search_quotes_the_namespace_which_has_slashes_and_hyphens_and_refuses_a_foreign_one():
    original = search(ORIGINAL, "Response_5XX", "Sum")
    assert original.startswith("""SEARCH('{"edgesense-prod/totals",ResponseCode,Host,UrlPatternId}""")
    with pytest.raises(ValueError):
        search(Target('x"} MetricName="y', "p"), "Response_5XX", "Sum")
