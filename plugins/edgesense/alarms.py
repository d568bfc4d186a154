"""The CloudWatch alarms edgesense keeps, as PutMetricAlarm requests (core: no AWS).

``edgesense_ops`` owns every metric alarm (the CloudFormation stack owns the topic they
notify); each alarm's description carries :data:`MANAGED` and a hash of its request, so
the reconciler re-puts only what changed and deletes only alarms it made. Two kinds are
per host (the 5XX rate and the anomaly score) and follow the hosts of ``minute_metrics``;
the others watch the pipeline as a whole.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from edgesense.anomaly import THRESHOLD
from edgesense.metrics import DETECTOR_METRICS, METRICS, PIPELINE_METRICS

MANAGED = "Managed by edgesense_ops"
#: Per-host kinds: an alarm of one of these whose host is gone is deleted by the reconciler.
PER_HOST_KINDS = ("5xx-rate", "anomaly")
MAX_NAME = 255


@dataclass(frozen=True)
class Thresholds:
    """What trips each alarm (settings ``EDGESENSE_ALARM_*``)."""

    error_rate_percent: float = 5.0
    error_rate_min_requests: int = 20
    stopped_minutes: int = 10
    reject_ratio: float = 0.05
    ingest_lag_seconds: int = 600
    anomaly_score: float = THRESHOLD


@dataclass(frozen=True)
class Alarm:
    """One alarm: its name, what it means in words, and the PutMetricAlarm request."""

    name: str
    stage: str
    kind: str
    host: str | None
    description: str
    request: dict[str, Any]

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.request, sort_keys=True).encode()).hexdigest()[:12]

    def put_request(self, topic_arn: str) -> dict[str, Any]:
        """The full request; its description ends with the marker and digest the reconciler reads."""
        actions = [topic_arn] if topic_arn else []
        return {
            "AlarmName": self.name,
            "AlarmDescription": f"{self.description} {marker(self.stage)}{self.digest}).",
            "ActionsEnabled": bool(actions),
            "AlarmActions": actions,
            "OKActions": actions,
            **self.request,
        }


def _stat(namespace: str, metric: str, stat: str, period: int, dims: dict[str, str] | None = None,
          *, id_: str) -> dict[str, Any]:  # fmt: skip
    return {
        "Id": id_,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in (dims or {}).items()],
            },
            "Period": period,
            "Stat": stat,
        },
    }


def _math(expression: str, label: str) -> dict[str, Any]:
    return {"Id": "result", "Expression": expression, "Label": label, "ReturnData": True}


def alarm_name(stage: str, kind: str, host: str | None = None) -> str:
    """``edgesense-<stage>-<kind>[-<host>]``, shortened with a hash past CloudWatch's 255 characters."""
    name = f"edgesense-{stage}-{kind}" + (f"-{host}" if host else "")
    if len(name) <= MAX_NAME:
        return name
    tag = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: MAX_NAME - 11]}~{tag}"


def pipeline_alarms(stage: str, pipeline_ns: str, t: Thresholds) -> list[Alarm]:
    """Stopped (no LinesProcessed, missing data breaching), reject ratio, ingest lag."""
    assert set(PIPELINE_METRICS) >= {"LinesProcessed", "LinesRejected", "IngestLagSeconds"}
    stopped = Alarm(
        alarm_name(stage, "pipeline-stopped"), stage, "pipeline-stopped", None,
        f"No CDN log line was processed for {t.stopped_minutes} minutes: the pipeline or the feed stopped.",
        {"Namespace": pipeline_ns, "MetricName": "LinesProcessed", "Statistic": "Sum", "Period": 60,
         "EvaluationPeriods": t.stopped_minutes, "DatapointsToAlarm": t.stopped_minutes, "Threshold": 1.0,
         "ComparisonOperator": "LessThanThreshold", "TreatMissingData": "breaching"},
    )  # fmt: skip
    rejects = Alarm(
        alarm_name(stage, "reject-ratio"), stage, "reject-ratio", None,
        f"More than {t.reject_ratio:.1%} of the lines of 5 minutes were rejected (see rejects/).",
        {"Metrics": [_stat(pipeline_ns, "LinesRejected", "Sum", 300, id_="rejected"),
                     _stat(pipeline_ns, "LinesProcessed", "Sum", 300, id_="valid"),
                     _math("IF(rejected + valid > 0, rejected / (rejected + valid), 0)", "rejected / all lines")],
         "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "Threshold": float(t.reject_ratio),
         "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"},
    )  # fmt: skip
    lag = Alarm(
        alarm_name(stage, "ingest-lag"), stage, "ingest-lag", None,
        f"Delivered log objects waited more than {t.ingest_lag_seconds} s before being processed, 15 minutes long.",
        {"Namespace": pipeline_ns, "MetricName": "IngestLagSeconds", "Statistic": "Maximum", "Period": 300,
         "EvaluationPeriods": 3, "DatapointsToAlarm": 3, "Threshold": float(t.ingest_lag_seconds),
         "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"},
    )  # fmt: skip
    return [stopped, rejects, lag]


def host_alarms(
    stage: str, namespace: str, host: str, t: Thresholds, signals: tuple[str, ...]
) -> list[Alarm]:
    """The 5XX rate (metric math over the per-host rollups) and the highest anomaly score of a host."""
    assert METRICS["Errors_5XX"][1] == METRICS["Requests"][1] == ("Host",)
    rate = Alarm(
        alarm_name(stage, "5xx-rate", host), stage, "5xx-rate", host,
        f"5XX responses of {host} were above {t.error_rate_percent:g} % of its requests in 3 of 5 minutes "
        f"(minutes with fewer than {t.error_rate_min_requests} requests do not count).",
        {"Metrics": [_stat(namespace, "Errors_5XX", "Sum", 60, {"Host": host}, id_="errors"),
                     _stat(namespace, "Requests", "Sum", 60, {"Host": host}, id_="requests"),
                     _math(f"IF(requests >= {int(t.error_rate_min_requests)}, 100 * errors / requests, 0)",
                           f"{host} 5XX %")],
         "EvaluationPeriods": 5, "DatapointsToAlarm": 3, "Threshold": float(t.error_rate_percent),
         "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"},
    )  # fmt: skip
    metric = next(iter(DETECTOR_METRICS))
    scores = [_stat(namespace, metric, "Maximum", 300, {"Host": host, "Signal": s}, id_=f"s{i}")
              for i, s in enumerate(signals)]  # fmt: skip
    ids = ", ".join(s["Id"] for s in scores)
    anomaly = Alarm(
        alarm_name(stage, "anomaly", host), stage, "anomaly", host,
        f"An anomaly score of {host} ({', '.join(signals)}) reached {t.anomaly_score:g} robust deviations "
        f"from its baseline.",
        {"Metrics": [*scores, _math(f"MAX([{ids}])", f"{host} highest anomaly score")],
         "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "Threshold": float(t.anomaly_score),
         "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"},
    )  # fmt: skip
    return [rate, anomaly]


def desired(stage: str, namespace: str, pipeline_ns: str, hosts: list[str], t: Thresholds, *,
            shape: str, signals: tuple[str, ...]) -> list[Alarm]:  # fmt: skip
    """Every alarm edgesense wants now. The original shape has no per-host rollups, so no rate alarm."""
    out = pipeline_alarms(stage, pipeline_ns, t)
    for host in sorted(set(hosts)):
        out += [a for a in host_alarms(stage, namespace, host, t, signals)
                if shape != "original" or a.kind != "5xx-rate"]  # fmt: skip
    return out


def marker(stage: str) -> str:
    """What ends the description of an alarm we made for ``stage`` (its digest follows)."""
    return f"{MANAGED} (stage {stage}, spec "


def managed_digest(description: str | None, stage: str) -> str | None:
    """The digest an alarm we made for ``stage`` carries; None for any other alarm (a user's,
    or another stage's whose name happens to share the prefix)."""
    text = description or ""
    if marker(stage) not in text:
        return None
    return text.rsplit(marker(stage), 1)[1].removesuffix(").")
