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

from edgesense.anomaly import THRESHOLD
from edgesense.metrics import DETECTOR_METRICS, FAMILIES, GAUGES, METRICS, PIPELINE_METRICS

WIDTH, HEIGHT = 12, 6
PERIOD = 60
#: Hosts drawn one by one in a rate widget (3 series each; a widget holds 500). The ops DAG
#: passes the busiest first; every host is still in the all-hosts line.
MAX_HOSTS_PER_WIDGET = 50


@dataclass(frozen=True)
class Target:
    """Where the metrics are: namespace, pipeline namespace, shape and region."""

    namespace: str
    pipeline_namespace: str
    shape: str = "default"
    region: str = "us-east-1"

    def dims(self, metric: str) -> tuple[str, ...]:
        """The dimension set a metric is published with, in this shape."""
        if metric in DETECTOR_METRICS:
            return DETECTOR_METRICS[metric][1]
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


def schema(t: Target, dims: tuple[str, ...]) -> str:
    """A SEARCH schema, ``{"namespace",Dim,…}``: the namespace quoted (it has / and -) and checked."""
    if not NAMESPACE.fullmatch(t.namespace) or '"' in t.namespace:
        raise ValueError(f"namespace {t.namespace!r} is outside CloudWatch's alphabet")
    return "{" + ",".join([_q(t.namespace), *dims]) + "}"


def search(t: Target, metric: str, stat: str, dims: tuple[str, ...] | None = None) -> str:
    """``SEARCH`` of one metric over its dimension set; the metric name comes from METRICS."""
    return f"SEARCH('{schema(t, dims or t.dims(metric))} MetricName=\"{metric}\"', '{stat}', {PERIOD})"


def _widget(
    t: Target, title: str, queries: list[tuple[str, str]], *, stacked: bool = False, **extra: Any
) -> dict[str, Any]:
    return _metric_widget(
        t, title, [[{"expression": q, "id": f"q{i}", "label": label}] for i, (label, q) in enumerate(queries)],
        stacked=stacked, **extra,
    )  # fmt: skip


def _metric_widget(t: Target, title: str, metrics: list[list[Any]], **properties: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": title, "region": t.region, "view": "timeSeries", "stacked": False, "period": PERIOD,
            "metrics": metrics, **properties,
        },
    }  # fmt: skip


def ratio_widget(t: Target, title: str, part: str, whole: str, hosts: list[str]) -> dict[str, Any]:
    """100 x part / whole: over all hosts (SUM of two SEARCHes, no host list needed), then per host.

    Metric math cannot pair two SEARCH arrays host by host, so the per-host lines name their
    hosts; ``edgesense_ops`` re-puts the dashboard hourly with the hosts of ``minute_metrics``.
    """
    for name in (part, whole):
        if t.dims(name) != ("Host",):
            raise ValueError(f"{name} is not a per-host metric in the {t.shape} shape")
    metrics: list[list[Any]] = [
        [{"expression": search(t, part, "Sum"), "id": "pall", "visible": False}],
        [{"expression": search(t, whole, "Sum"), "id": "wall", "visible": False}],
        [{"expression": "100 * SUM(pall) / SUM(wall)", "id": "all", "label": "all hosts"}],
    ]  # fmt: skip
    for i, host in enumerate(hosts[:MAX_HOSTS_PER_WIDGET]):
        metrics += [
            [t.namespace, part, "Host", host, {"id": f"p{i}", "visible": False, "stat": "Sum"}],
            [t.namespace, whole, "Host", host, {"id": f"w{i}", "visible": False, "stat": "Sum"}],
            [{"expression": f"100 * p{i} / w{i}", "id": f"r{i}", "label": host}],
        ]
    return _metric_widget(t, title, metrics, yAxis={"left": {"min": 0, "label": "%"}})


def traffic(t: Target, hosts: list[str] = ()) -> dict[str, Any]:
    """Per host: requests by status family, 5XX/4XX counts and rates, latency percentiles, bytes,
    the cache-hit ratio, the top patterns by 5XX. ``hosts``: drawn one by one in the rate widgets."""
    hosts = list(hosts)
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
            ratio_widget(t, "5XX rate (% of requests)", "Errors_5XX", "Requests", hosts),
            ratio_widget(t, "4XX rate (% of requests)", "Errors_4XX", "Requests", hosts),
            ratio_widget(t, "Cache-hit ratio (% of requests)", "CacheHits", "Requests", hosts),
        ]  # fmt: skip
    return {"start": "-PT3H", "periodOverride": "inherit", "widgets": widgets}


def pipeline(t: Target, threshold: float) -> dict[str, Any]:
    """The pipeline's own health: one widget per pipeline metric (published without dimensions),
    and the anomaly scores with the alarm's ``threshold`` drawn on them."""
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
                "stat": "Maximum" if name in GAUGES else "Sum",
                "metrics": [[t.pipeline_namespace, name]],
            },
        }
        for name in PIPELINE_METRICS
    ]
    widgets.append(_widget(
        t, "Anomaly scores, per host and signal (robust deviations from the baseline)",
        [("", search(t, "AnomalyScore", "Maximum"))],
        annotations={"horizontal": [{"label": "alarm threshold", "value": threshold}]},
    ))  # fmt: skip
    return {"start": "-PT6H", "widgets": widgets}


def bodies(
    t: Target, stage: str, *, hosts: list[str] = (), anomaly_threshold: float = THRESHOLD
) -> dict[str, str]:
    """Dashboard name -> PutDashboard body (JSON text, keys sorted: the same input, the same bytes)."""
    return {
        f"edgesense-{stage}-traffic": json.dumps(traffic(t, list(hosts)), sort_keys=True),
        f"edgesense-{stage}-pipeline": json.dumps(pipeline(t, anomaly_threshold), sort_keys=True),
    }
