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


def test_every_pipeline_metric_has_a_widget():
    body = json.loads(bodies(DEFAULT, "prod")["edgesense-prod-pipeline"])
    assert [w["properties"]["metrics"][0] for w in body["widgets"]] == [
        ["edgesense/prod/pipeline", name] for name in PIPELINE_METRICS
    ]


def test_per_host_views_group_by_host_so_new_hosts_need_no_redeploy():
    assert insights(DEFAULT, "Response_5XX") == (
        'SELECT SUM("Response_5XX") FROM SCHEMA("edgesense/prod", "Host", "UrlPatternId") GROUP BY "Host"'
    )
    assert search(DEFAULT, "TurnAroundTime", "p95") == (
        """SEARCH('{edgesense/prod,Host} MetricName="TurnAroundTime"', 'p95', 60)"""
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


def test_the_same_input_gives_the_same_bytes_so_a_put_can_be_skipped_when_nothing_changed():
    assert bodies(DEFAULT, "prod") == bodies(DEFAULT, "prod")
