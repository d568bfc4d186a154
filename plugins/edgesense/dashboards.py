"""CloudWatch dashboard bodies, generated from the metric definitions the publisher uses.

Core: no AWS. Every widget names its metrics through :data:`edgesense.metrics.METRICS`
(and :data:`PIPELINE_METRICS`), so a metric renamed there is renamed here. Per-host views
use Metrics Insights ``GROUP BY Host`` (sums) or ``SEARCH`` on ``{namespace,Host}``
(percentiles, which Insights lacks): a new host or pattern appears without a redeploy.
Both metric shapes work: the default dimensions, and the original's
(``EDGESENSE_METRICS_SHAPE=original``: ResponseCode on every family, no bytes or cache hits).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from edgesense.metrics import FAMILIES, METRICS, PIPELINE_METRICS

WIDTH, HEIGHT = 12, 6
PERIOD = 60


@dataclass(frozen=True)
class Target:
    """Where the metrics are: namespace, pipeline namespace, shape and region."""

    namespace: str
    pipeline_namespace: str
    shape: str = "default"
    region: str = "us-east-1"

    def dims(self, metric: str) -> tuple[str, ...]:
        """The dimension set a metric is published with, in this shape."""
        if self.shape == "original":
            return ("ResponseCode", "Host", "UrlPatternId")
        return METRICS[metric][1]


#: CloudWatch's namespace alphabet; anything else is refused before it reaches a query.
NAMESPACE = re.compile(r"[A-Za-z0-9.\-_/#: ]{1,255}")


def _q(text: str) -> str:
    """A double-quoted Metrics Insights identifier."""
    return '"' + text + '"'


def insights(t: Target, metric: str, group_by: str = "Host", *, top: int | None = None) -> str:
    """``SELECT SUM(metric) … GROUP BY``: identifiers only from METRICS, its dimensions and a checked namespace."""
    dims = t.dims(metric)
    if group_by not in dims or not NAMESPACE.fullmatch(t.namespace):
        raise ValueError(f"cannot group {metric} by {group_by!r} in namespace {t.namespace!r}")
    schema = ", ".join([_q(t.namespace), *(_q(d) for d in dims)])
    query = f"SELECT SUM({_q(metric)}) FROM SCHEMA({schema}) GROUP BY {_q(group_by)}"  # noqa: S608 (allow-listed)
    return query + (f" ORDER BY SUM() DESC LIMIT {int(top)}" if top else "")


def search(t: Target, metric: str, stat: str) -> str:
    dims = ",".join(t.dims(metric))
    return f"SEARCH('{{{t.namespace},{dims}}} MetricName=\"{metric}\"', '{stat}', {PERIOD})"


def _widget(
    t: Target, title: str, queries: list[tuple[str, str]], *, stacked: bool = False
) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": title,
            "region": t.region,
            "view": "timeSeries",
            "stacked": stacked,
            "period": PERIOD,
            "metrics": [
                [{"expression": q, "id": f"q{i}", "label": label}] for i, (label, q) in enumerate(queries)
            ],
        },
    }


def traffic(t: Target) -> dict[str, Any]:
    """Per host: requests by status family, 5XX/4XX, latency percentiles, bytes, cache hits, top patterns."""
    families = [name for name, *_ in FAMILIES if name != "Response_404"]
    widgets = [
        _widget(t, "Requests by status family, per host",
                [(f"{name} ", insights(t, name)) for name in families], stacked=True),
        _widget(t, "5XX and 4XX, per host", [("5XX ", insights(t, "Response_5XX")),
                                              ("4XX ", insights(t, "Response_4XX"))]),
        _widget(t, "Top URL patterns by 5XX", [("", insights(t, "Response_5XX", "UrlPatternId", top=10))]),
    ]  # fmt: skip
    if t.shape != "original":
        widgets += [
            _widget(t, "TurnAroundTime p50 / p95 / p99 (ms), per host",
                    [(p, search(t, "TurnAroundTime", p)) for p in ("p50", "p95", "p99")]),
            _widget(t, "Bytes sent, per host", [("", insights(t, "BytesSent"))]),
            _widget(t, "Cache hits, per host", [("", insights(t, "CacheHits"))]),
        ]  # fmt: skip
    return {"start": "-PT3H", "periodOverride": "inherit", "widgets": widgets}


def pipeline(t: Target) -> dict[str, Any]:
    """The pipeline's own health: one widget per pipeline metric (published without dimensions)."""
    widgets = [
        {
            "type": "metric",
            "width": WIDTH // 2,
            "height": HEIGHT,
            "properties": {
                "title": name,
                "region": t.region,
                "view": "timeSeries",
                "period": PERIOD,
                "stat": "Maximum" if unit == "Seconds" else "Sum",
                "metrics": [[t.pipeline_namespace, name]],
            },
        }
        for name, unit in PIPELINE_METRICS.items()
    ]
    return {"start": "-PT6H", "widgets": widgets}


def bodies(t: Target, stage: str) -> dict[str, str]:
    """Dashboard name -> PutDashboard body (JSON text, keys sorted: the same input, the same bytes)."""
    return {
        f"edgesense-{stage}-traffic": json.dumps(traffic(t), sort_keys=True),
        f"edgesense-{stage}-pipeline": json.dumps(pipeline(t), sort_keys=True),
    }
